//! The connection pool, first-start database creation and the embedded migrations.

/// An enum stored as text, declared with its stored names once: the enum with the derives
/// every such enum needs, `ALL` (declaration order), `as_str`, `parse` and the SQL mapping.
/// More derives and docs go on it as usual.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            diesel::expression::AsExpression,
            diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The value stored as `s`, if any.
            pub fn parse(s: &str) -> Option<Self> {
                match s {
                    $($text => Some($name::$variant),)+
                    _ => None,
                }
            }
        }

        // Stored through `as_str` and read back through `parse`; `$what` names the enum in
        // the error for a value the database should never hold.
        impl diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <str as diesel::serialize::ToSql<diesel::sql_types::Text, diesel::pg::Pg>>::to_sql(
                    self.as_str(),
                    out,
                )
            }
        }

        impl diesel::deserialize::FromSql<diesel::sql_types::Text, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                let s = <String as diesel::deserialize::FromSql<
                    diesel::sql_types::Text,
                    diesel::pg::Pg,
                >>::from_sql(bytes)?;
                <$name>::parse(&s).ok_or_else(|| {
                    format!(concat!("unknown ", $what, " in database: {}"), s).into()
                })
            }
        }
    };
}

pub mod ids;
pub mod models;
pub mod schema;
pub(crate) mod statements;

use std::time::Duration;

use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool::{Object, Pool};
use diesel_async::pooled_connection::{
    AsyncDieselConnectionManager, ManagerConfig, RecyclingMethod,
};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::config::DatabaseUrl;

pub type DbPool = Pool<AsyncPgConnection>;
pub type DbConn = Object<AsyncPgConnection>;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// How long a request waits for a connection before it is answered 503: a down database
/// must give a fast error page, not a hung browser tab.
const POOL_WAIT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the database could not be prepared at start; shown to the operator as one line.
#[derive(Debug, thiserror::Error)]
pub enum StartupDbError {
    #[error(
        "cannot connect to PostgreSQL at {url} ({reason}); start PostgreSQL or set DATABASE_URL"
    )]
    Unreachable { url: DatabaseUrl, reason: String },
    #[error("cannot prepare database {name} at {url}: {reason}")]
    Setup {
        url: DatabaseUrl,
        name: String,
        reason: String,
    },
}

/// The pool hands out idle connections without a test query: the default `SELECT 1` on every
/// checkout would double the round trips of the machine-facing hot path. A connection the
/// server closed is still dropped on checkout (tokio-postgres notices the closed socket), and
/// one that dies between checkout and use fails its query with `is_unavailable`.
pub fn pool(url: &DatabaseUrl, max_size: usize) -> Result<DbPool, anyhow::Error> {
    let mut config = ManagerConfig::default();
    config.recycling_method = RecyclingMethod::Fast;
    config.custom_setup = Box::new(|url| {
        Box::pin(async move {
            let mut conn = establish(url)
                .await
                .map_err(diesel::ConnectionError::BadConnection)?;
            conn.set_instrumentation(statements::CountStatements);
            Ok(conn)
        })
    });
    let manager =
        AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url.expose(), config);
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(POOL_WAIT))
        .create_timeout(Some(CONNECT_TIMEOUT))
        .recycle_timeout(Some(POOL_WAIT))
        .build()
        .map_err(|e| anyhow::anyhow!("cannot build the connection pool: {e}"))
}

async fn connect(url: &DatabaseUrl) -> Result<AsyncPgConnection, String> {
    match tokio::time::timeout(CONNECT_TIMEOUT, establish(url.expose())).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {} s", CONNECT_TIMEOUT.as_secs())),
    }
}

/// Opens a connection through the driver itself, so that a failure keeps its cause on one
/// line ("error connecting to server: Connection refused", "…: database does not allow
/// writes"): diesel-async's own `establish` keeps only the first half. With several hosts,
/// the cause is the last host's.
async fn establish(url: &str) -> Result<AsyncPgConnection, String> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .map_err(|e| one_line(&cause_chain(&e)))?;
    AsyncPgConnection::try_from_client_and_connection(client, connection)
        .await
        .map_err(|e| one_line(&e.to_string()))
}

fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Connects to the configured database, creating it first when the server has no such
/// database yet (a new machine), then applies pending migrations.
pub async fn prepare(url: &DatabaseUrl) -> Result<(), StartupDbError> {
    let name = url.database_name();
    if let Err(reason) = connect(url).await {
        create_if_missing(url, &name, reason).await?;
    }
    run_migrations(url)
        .await
        .map_err(|e| StartupDbError::Setup {
            url: url.clone(),
            name,
            reason: one_line(&e.to_string()),
        })
}

/// After a failed connection: creates the database when the server has none of that name.
/// The maintenance database is asked rather than the error read, because with several hosts
/// the driver reports only the last host's failure (a standby that is down, say) and not the
/// primary's "does not exist". `first` is what is reported when the database is not missing.
async fn create_if_missing(
    url: &DatabaseUrl,
    name: &str,
    first: String,
) -> Result<(), StartupDbError> {
    let unreachable = |reason: String| StartupDbError::Unreachable {
        url: url.clone(),
        reason,
    };
    let maintenance = url.with_database("postgres");
    let Ok(mut conn) = connect(&maintenance).await else {
        return Err(unreachable(first));
    };
    let exists = diesel::select(diesel::dsl::exists(
        pg_database::table.filter(pg_database::datname.eq(name)),
    ))
    .get_result::<bool>(&mut conn)
    .await
    .map_err(|e| unreachable(one_line(&e.to_string())))?;
    if exists {
        return Err(unreachable(first));
    }
    let sql = format!("CREATE DATABASE {}", quote_ident(name));
    match diesel::sql_query(sql).execute(&mut conn).await {
        Ok(_) => {
            tracing::info!(database = %name, "created the database");
            Ok(())
        }
        // Another instance may have created it a moment ago.
        Err(e) if e.to_string().contains("already exists") => Ok(()),
        Err(e) => Err(StartupDbError::Setup {
            url: url.clone(),
            name: name.to_string(),
            reason: one_line(&e.to_string()),
        }),
    }
}

diesel::table! {
    /// The catalog of databases, for the first-start check.
    pg_database (datname) {
        datname -> Text,
    }
}

/// Quotes a PostgreSQL identifier (database names come from configuration).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Diesel's migration runner is synchronous; it runs on a thread of its own with its own
/// small runtime, so it works whichever runtime (or none) the caller is on. That runtime has
/// timers (the wrapper's own has none): the driver times each host's connection attempt
/// (`connect_timeout`), and a worker thread, because the wrapper blocks through its handle.
pub async fn run_migrations(url: &DatabaseUrl) -> Result<(), anyhow::Error> {
    let url = url.expose().to_string();
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let result = (|| -> Result<(), anyhow::Error> {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()?;
            let _inside = runtime.enter();
            let mut conn =
                <AsyncConnectionWrapper<AsyncPgConnection> as diesel::Connection>::establish(&url)?;
            // One migrator at a time when several instances start together.
            diesel::RunQueryDsl::execute(
                diesel::sql_query("SELECT pg_advisory_lock(727274)"),
                &mut conn,
            )?;
            let applied = conn
                .run_pending_migrations(MIGRATIONS)
                .map(|v| v.len())
                .map_err(|e| anyhow::anyhow!("{e}"));
            diesel::RunQueryDsl::execute(
                diesel::sql_query("SELECT pg_advisory_unlock(727274)"),
                &mut conn,
            )?;
            let applied = applied?;
            if applied > 0 {
                tracing::info!(applied, "applied database migrations");
            }
            Ok(())
        })();
        let _ = tx.send(result);
    });
    rx.await
        .map_err(|_| anyhow::anyhow!("the migration thread stopped unexpectedly"))?
}

/// Whether a query failed because the database cannot serve it now: the connection is gone
/// (the server went down or cut it), the server is starting, stopping or recovering, or it
/// refuses writes (SQLSTATE 25006: a standby, or a primary being demoted). The caller answers
/// "temporarily unavailable" with `Retry-After`, not an internal error: after a failover the
/// pool reconnects to whichever host now accepts writes.
pub fn is_unavailable(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction,
            _,
        ) => true,
        // SQLSTATE class 57P (operator intervention: admin or crash shutdown, "the database
        // system is starting up / shutting down / in recovery mode") arrives as a message;
        // diesel does not expose the code itself.
        Error::DatabaseError(_, info) => {
            let message = info.message();
            message.starts_with("terminating connection")
                || message.starts_with("the database system is")
                || (message.starts_with("cannot execute")
                    && message.ends_with("in a read-only transaction"))
        }
        _ => false,
    }
}

/// `SELECT 1`, for the readiness probe.
pub async fn ping(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::select(diesel::dsl::sql::<diesel::sql_types::Integer>("1"))
        .get_result::<i32>(conn)
        .await
        .map(|_| ())
}

/// Runs `work` in a transaction (a savepoint inside one): committed when it succeeds,
/// rolled back when it fails. As `AsyncConnection::transaction`, without asking `work` to
/// be `Send`, which a generic async closure cannot promise.
pub async fn transaction<R, E, F>(conn: &mut AsyncPgConnection, work: F) -> Result<R, E>
where
    F: AsyncFnOnce(&mut AsyncPgConnection) -> Result<R, E>,
    E: From<diesel::result::Error>,
{
    use diesel_async::TransactionManager;
    type Manager = <AsyncPgConnection as AsyncConnection>::TransactionManager;
    Manager::begin_transaction(conn).await?;
    match work(&mut *conn).await {
        Ok(value) => {
            Manager::commit_transaction(conn).await?;
            Ok(value)
        }
        Err(error) => match Manager::rollback_transaction(conn).await {
            Ok(()) | Err(diesel::result::Error::BrokenTransactionManager) => Err(error),
            Err(rollback) => Err(rollback.into()),
        },
    }
}
