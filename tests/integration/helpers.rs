//! The test harness: `TestApp::spawn()` builds the real application through
//! `startup::Application::build` on an ephemeral port, against a database of its own that is
//! cloned from a migrated template, and hands out cookie-keeping HTTP clients.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use m2m_console::clock::Clock;
use m2m_console::config::{DatabaseUrl, LogFormat, Settings};
use m2m_console::db::ids::UserId;
use m2m_console::db::models::organisation::Organisation;
use m2m_console::db::models::user::{NewUser, StaffRole, User};
use m2m_console::db::{self, quote_ident};
use m2m_console::startup::Application;
use tokio::sync::OnceCell;

#[path = "http_client.rs"]
mod http_client;
// The browser suite shares this harness but not all of its page client.
#[allow(unused_imports)]
pub use http_client::{Browser, Page, csrf_in};

pub const PASSWORD: &str = "correct horse battery staple";

/// A loopback port held bound but not listening: connecting to it is refused at once, as
/// to a server that is down, and no other test can listen on it until this is dropped (a
/// port merely closed again can be handed to the next listener in the process).
pub struct RefusedPort(tokio::net::TcpSocket);

impl RefusedPort {
    pub fn reserve() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        Self(socket)
    }

    pub fn port(&self) -> u16 {
        self.0.local_addr().unwrap().port()
    }
}

/// Everything the application logged during this test process.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOG_BUFFER.get_or_init(Default::default).lock().unwrap()).into_owned()
}

static LOG_BUFFER: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

#[derive(Clone)]
struct BufferWriter(Arc<Mutex<Vec<u8>>>);

impl Write for BufferWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn init_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let buffer = LOG_BUFFER.get_or_init(Default::default).clone();
        // JSON lines at the default level (or RUST_LOG): the no-secrets checks read them.
        m2m_console::telemetry::init(LogFormat::Json, move || BufferWriter(buffer.clone()));
    });
}

fn base_url() -> DatabaseUrl {
    let raw = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    DatabaseUrl::parse(&raw).unwrap()
}

async fn maintenance() -> AsyncPgConnection {
    AsyncPgConnection::establish(base_url().with_database("postgres").expose())
        .await
        .unwrap()
}

static TEMPLATE: OnceCell<String> = OnceCell::const_new();

/// One migrated database per test process; each test clones it (`CREATE DATABASE … TEMPLATE`).
async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            let pid = std::process::id();
            drop_stale_databases().await;
            let name = format!("m2m_test_{pid}_template");
            db::prepare(&base_url().with_database(&name)).await.unwrap();
            name
        })
        .await
}

/// Databases left behind by test processes that no longer run.
async fn drop_stale_databases() {
    let mut conn = maintenance().await;
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'm2m\\_test\\_%'")
            .load(&mut conn)
            .await
            .unwrap();
    for Name { datname } in names {
        let pid = datname
            .split('_')
            .nth(2)
            .and_then(|p| p.parse::<u32>().ok());
        if pid.is_some_and(|pid| !std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                quote_ident(&datname)
            ))
            .execute(&mut conn)
            .await;
        }
    }
}

async fn fresh_database() -> DatabaseUrl {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let template = template().await;
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("m2m_test_{}_{n}", std::process::id());
    let mut conn = maintenance().await;
    // Cloning needs the template to be idle; retry while another clone is in progress.
    for attempt in 0.. {
        let sql = format!(
            "CREATE DATABASE {} TEMPLATE {}",
            quote_ident(&name),
            quote_ident(template)
        );
        match diesel::sql_query(sql).execute(&mut conn).await {
            Ok(_) => break,
            Err(e) if attempt < 50 && e.to_string().contains("is being accessed") => {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => panic!("cannot create test database: {e}"),
        }
    }
    base_url().with_database(&name)
}

pub struct TestApp {
    pub address: String,
    pub clock: Clock,
    pub settings: Settings,
    pub setup_link: Option<String>,
    pub pool: db::DbPool,
    /// The metrics listener, when the settings ask for one.
    pub metrics_port: Option<u16>,
    /// The running application's shared state (its usage counter, its settings).
    pub state: actix_web::web::Data<m2m_console::app_state::AppState>,
    /// Starts the application's shutdown sequence, as SIGTERM does.
    stopper: m2m_console::shutdown::Stopper,
    /// The running application, until `stop` waits for it.
    running: Mutex<Option<tokio::task::JoinHandle<std::io::Result<()>>>>,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with settings adjusted by `tweak` (short timeouts, trusted proxies, https…).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Settings)) -> Self {
        init_logs();
        let mut settings = Settings::from_lookup(|_| None).unwrap();
        settings.database_url = fresh_database().await;
        settings.bind_addr = "127.0.0.1:0".parse().unwrap();
        // Tests that stop an instance set their own drain; the others need none.
        settings.drain = std::time::Duration::ZERO;
        tweak(&mut settings);
        Self::start(settings, Clock::system()).await
    }

    /// Another instance of the same application on the same database, on the same clock.
    pub async fn second_instance(&self) -> Self {
        let mut settings = self.settings.clone();
        settings.bind_addr = "127.0.0.1:0".parse().unwrap();
        Self::start(settings, self.clock.clone()).await
    }

    /// Another instance on the same database and clock, with its settings adjusted by `tweak`.
    pub async fn second_instance_with(&self, tweak: impl FnOnce(&mut Settings)) -> Self {
        let mut settings = self.settings.clone();
        settings.bind_addr = "127.0.0.1:0".parse().unwrap();
        tweak(&mut settings);
        Self::start(settings, self.clock.clone()).await
    }

    async fn start(settings: Settings, clock: Clock) -> Self {
        let app = Application::build(settings.clone(), clock.clone())
            .await
            .unwrap();
        let address = format!("http://127.0.0.1:{}", app.port());
        let setup_link = app.setup_link.clone();
        let metrics_port = app.metrics_port();
        let state = app.state();
        let stopper = app.stopper();
        let running = Mutex::new(Some(tokio::spawn(app.run())));
        let pool = db::pool(&settings.database_url, 4).unwrap();
        Self {
            address,
            clock,
            settings,
            setup_link,
            pool,
            metrics_port,
            state,
            stopper,
            running,
        }
    }

    /// Starts stopping this instance as SIGTERM does (drain, stop accepting, finish, flush)
    /// and returns at once; `stopped` waits for the end.
    pub fn begin_stop(&self) {
        self.stopper.stop();
    }

    /// Waits until the instance has stopped (after `begin_stop`).
    pub async fn stopped(&self) {
        let running = self.running.lock().unwrap().take();
        if let Some(running) = running {
            running.await.unwrap().unwrap();
        }
    }

    /// Stops this instance as SIGTERM does and waits until it has.
    pub async fn stop(&self) {
        self.begin_stop();
        self.stopped().await;
    }

    /// Writes the usage this instance counted in memory now, as its flush job would.
    /// Also adds the introspections it counted to their callers' shared limits.
    pub async fn flush_usage(&self) {
        let mut conn = self.conn().await;
        m2m_console::usage::flush::flush(&self.state.oauth.usage, &mut conn)
            .await
            .unwrap();
        let now = self.clock.now();
        let limit = &self.state.oauth.introspections;
        limit.flush(&mut conn, now).await.unwrap();
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> Browser {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser {
            http,
            jar,
            base: self.address.clone(),
            csrf: None,
        }
    }

    pub async fn conn(&self) -> db::DbConn {
        self.pool.get().await.unwrap()
    }

    /// Creates a user (and its organisation when new) directly, as `create-user` does.
    pub async fn create_user(&self, org: &str, email: &str, role: StaffRole) -> User {
        let mut conn = self.conn().await;
        let now = self.clock.now();
        let org = match Organisation::find_by_name(&mut conn, org).await.unwrap() {
            Some(o) => o,
            None => Organisation::create(&mut conn, org, now).await.unwrap(),
        };
        User::insert(
            &mut conn,
            &NewUser {
                id: UserId::new_random(),
                org_id: org.id,
                email,
                role,
                password_hash: password_hash(),
                created_at: now,
                updated_at: now,
            },
        )
        .await
        .unwrap()
    }

    /// A signed-in client for a new user of organisation "Acme" with `role`.
    pub async fn login_as(&self, role: StaffRole) -> (User, Browser) {
        let email = format!(
            "{}-{}@acme.test",
            role.as_str(),
            uuid::Uuid::new_v4().simple()
        );
        let user = self.create_user("Acme", &email, role).await;
        let mut browser = self.client();
        let res = browser.login(&email, PASSWORD).await;
        assert_eq!(res.status, 303, "sign-in of {email} failed");
        assert_ne!(
            res.location(),
            Some("/login/code"),
            "sign-in of {email} failed"
        );
        (user, browser)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Tests share the template; their own databases go when they end.
        let name = self.settings.database_url.database_name();
        let url = base_url().with_database("postgres");
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok(mut conn) = AsyncPgConnection::establish(url.expose()).await {
                    let _ = diesel::sql_query(format!(
                        "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                        quote_ident(&name)
                    ))
                    .execute(&mut conn)
                    .await;
                }
            });
        })
        .join();
    }
}

/// One argon2id hash of `PASSWORD`, computed once: hashing per test would dominate run time.
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap()
                .block_on(async {
                    let pool = m2m_console::staff::password::Argon2Pool::new(1);
                    m2m_console::staff::password::hash_password(
                        pool.slot().await?,
                        PASSWORD.to_string().into(),
                    )
                    .await
                })
                .unwrap()
        })
        .join()
        .unwrap()
    })
}
