//! `DATABASE_URL` with several hosts and `target_session_attrs`, as libpq reads it, and what
//! requests get while the database cannot take them: `503` with `Retry-After`, fast, never a
//! 500 or a hang, and service again once a writable host answers.

use std::str::FromStr;
use std::time::{Duration, Instant};

use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use m2m_console::config::DatabaseUrl;
use m2m_console::db;

use crate::fixtures::{access_token, introspect, setup_on, token};
use crate::helpers::{RefusedPort, TestApp};

/// The test server's host and port, as the tests' `DATABASE_URL` names them.
fn live_host(url: &DatabaseUrl) -> (String, u16) {
    let config = tokio_postgres::Config::from_str(url.expose()).unwrap();
    let host = match config.get_hosts().first().unwrap() {
        tokio_postgres::config::Host::Tcp(name) => name.clone(),
        tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
    };
    (host, *config.get_ports().first().unwrap_or(&5432))
}

async fn admin(url: &DatabaseUrl) -> AsyncPgConnection {
    AsyncPgConnection::establish(url.with_database("postgres").expose())
        .await
        .unwrap()
}

async fn run(conn: &mut AsyncPgConnection, sql: &str) {
    diesel::sql_query(sql).execute(conn).await.unwrap();
}

async fn cut_connections(conn: &mut AsyncPgConnection, name: &str) {
    run(
        conn,
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = '{name}' AND pid <> pg_backend_pid()"
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_given_a_dead_host_first_serves_from_the_next_one() {
    let down = RefusedPort::reserve();
    let app = TestApp::spawn_with(|s| {
        let (host, port) = live_host(&s.database_url);
        let name = s.database_url.database_name();
        let dead = down.port();
        s.database_url = DatabaseUrl::parse(&format!(
            "postgres://postgres@127.0.0.1:{dead},{host}:{port}/{name}?target_session_attrs=read-write"
        ))
        .unwrap();
    })
    .await;
    assert_eq!(app.settings.database_url.hosts().len(), 2);
    let s = setup_on(app, |f| f).await;
    let token = access_token(&s.app, &s.client).await;
    let answer = introspect(&s.app, &s.client, &token).await;
    assert_eq!(answer.json()["active"], true, "{}", answer.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_keyword_form_with_several_hosts_serves_too() {
    let down = RefusedPort::reserve();
    let app = TestApp::spawn_with(|s| {
        let (host, port) = live_host(&s.database_url);
        let name = s.database_url.database_name();
        let dead = down.port();
        s.database_url = DatabaseUrl::parse(&format!(
            "host=127.0.0.1,{host} port={dead},{port} user=postgres dbname={name} \
             target_session_attrs=read-write"
        ))
        .unwrap();
    })
    .await;
    let s = setup_on(app, |f| f).await;
    assert_eq!(token(&s.app, &s.client, "").await.status, 200);
}

/// A new machine whose standby is down: the driver reports only the last host's failure
/// (connection refused), yet the database is created on the primary and migrated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_creates_the_database_while_a_listed_standby_is_down() {
    let base = TestApp::spawn().await;
    let (host, port) = live_host(&base.settings.database_url);
    let name = format!("m2m_test_{}_hosts_first_start", std::process::id());
    let down = RefusedPort::reserve();
    let dead = down.port();
    let url = DatabaseUrl::parse(&format!(
        "host={host},127.0.0.1 port={port},{dead} user=postgres dbname={name} \
         target_session_attrs=read-write"
    ))
    .unwrap();
    let mut admin = admin(&base.settings.database_url).await;
    run(&mut admin, &format!("DROP DATABASE IF EXISTS {name}")).await;

    db::prepare(&url).await.unwrap();
    let pool = db::pool(&url, 1).unwrap();
    let mut conn = pool.get().await.unwrap();
    let count: i64 = diesel::select(diesel::dsl::sql::<diesel::sql_types::BigInt>(
        "count(*) FROM __diesel_schema_migrations",
    ))
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(count > 10, "migrated: {count}");
    drop(conn);
    drop(pool);
    run(&mut admin, &format!("DROP DATABASE {name} WITH (FORCE)")).await;
}

/// `read-write` keeps only a host that accepts writes. Here the one host refuses writes (as a
/// standby does), so it is refused with the driver's reason; without the attribute, the same
/// host is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_write_refuses_a_host_that_only_reads() {
    let base = TestApp::spawn().await;
    let (host, port) = live_host(&base.settings.database_url);
    let name = base.settings.database_url.database_name();
    let read_only = "options='-c default_transaction_read_only=on'";
    let any = DatabaseUrl::parse(&format!(
        "host={host} port={port} user=postgres dbname={name} {read_only}"
    ))
    .unwrap();
    assert!(AsyncPgConnection::establish(any.expose()).await.is_ok());

    let writable = DatabaseUrl::parse(&format!(
        "host={host} port={port} user=postgres dbname={name} {read_only} \
         target_session_attrs=read-write"
    ))
    .unwrap();
    let err = db::prepare(&writable).await.unwrap_err().to_string();
    assert!(err.contains("does not allow writes"), "{err}");
    assert!(err.contains("DATABASE_URL"), "{err}");
}

/// The primary's connections die and the only host left refuses writes (a standby not yet
/// promoted): token requests get `503` with `Retry-After`, not a 500. Once the host takes
/// writes again (promoted), the pool's new connections serve without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_refused_as_read_only_are_503_until_a_writable_host_answers() {
    let app = TestApp::spawn().await;
    let s = setup_on(app, |f| f).await;
    let name = s.app.settings.database_url.database_name();
    let mut admin = admin(&s.app.settings.database_url).await;
    run(
        &mut admin,
        &format!("ALTER DATABASE {name} SET default_transaction_read_only = on"),
    )
    .await;
    cut_connections(&mut admin, &name).await;

    for _ in 0..3 {
        let started = Instant::now();
        let answer = token(&s.app, &s.client, "").await;
        assert_eq!(answer.status, 503, "{}", answer.text);
        assert_eq!(answer.header("retry-after"), Some("2"));
        assert!(
            answer.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("temporarily unavailable"),
            "{}",
            answer.text
        );
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "fast, not a hang"
        );
    }
    let logs = crate::helpers::captured_logs();
    assert!(logs.contains("database unavailable on the OAuth path"));

    run(
        &mut admin,
        &format!("ALTER DATABASE {name} RESET default_transaction_read_only"),
    )
    .await;
    cut_connections(&mut admin, &name).await;
    let mut status = 0;
    for _ in 0..50 {
        status = token(&s.app, &s.client, "").await.status;
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "only 503 while the pool reconnects");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "served again without a restart");
}

/// No host accepts connections at all: the token endpoint answers `503` with `Retry-After`
/// within the pool's wait of two seconds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_get_a_fast_503_while_no_host_accepts_connections() {
    let app = TestApp::spawn().await;
    let s = setup_on(app, |f| f).await;
    let name = s.app.settings.database_url.database_name();
    let mut admin = admin(&s.app.settings.database_url).await;
    run(
        &mut admin,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    )
    .await;
    cut_connections(&mut admin, &name).await;

    let started = Instant::now();
    let answer = token(&s.app, &s.client, "").await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.header("retry-after"), Some("2"));
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "{:?}",
        started.elapsed()
    );

    run(
        &mut admin,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    )
    .await;
    let mut status = 0;
    for _ in 0..50 {
        status = token(&s.app, &s.client, "").await.status;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}
