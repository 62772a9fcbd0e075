//! The hot path at PostgreSQL's limits: a refused token costs no more to check than a live
//! one, pushed-out tokens do not pile up, each endpoint sends the statements the README
//! states, and what the usage counter holds in memory adds up once flushed.

use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel_async::RunQueryDsl;
use m2m_console::db::models::access_token;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::lookup_args::Arg;
use m2m_console::db::models::token_sweep;
use m2m_console::tokens::{Kind, parse};

use crate::fixtures::{
    Client, access_token, basic, introspect, post, setup, setup_on, whoami, with,
};
use crate::helpers::TestApp;

/// `EXPLAIN (ANALYZE, BUFFERS)` of a statement, as JSON.
struct Explain<Q>(Q);

impl<Q> QueryId for Explain<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q> Query for Explain<Q> {
    type SqlType = diesel::sql_types::Json;
}

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Explain<Q> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> diesel::QueryResult<()> {
        out.push_sql("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ");
        self.0.walk_ast(out.reborrow())
    }
}

/// Buffers (pages) the token check reads for `token`, and whether it found it live.
async fn pages_read_to_check(app: &TestApp, token: &str) -> (i64, bool) {
    let hash = parse(Kind::AccessToken, token).unwrap().hash();
    let now = app.clock.now();
    let query =
        access_token::find_active_query(Arg::bound(hash.as_bytes()), now, Arg::bound(&None));
    let plan: serde_json::Value = Explain(query)
        .get_result(&mut *app.conn().await)
        .await
        .unwrap();
    let top = &plan[0]["Plan"];
    let pages =
        top["Shared Hit Blocks"].as_i64().unwrap() + top["Shared Read Blocks"].as_i64().unwrap();
    (pages, top["Actual Rows"].as_i64().unwrap() == 1)
}

/// Stores `n` tokens of `client`'s credential directly, newer than any it has.
async fn store_tokens(app: &TestApp, client: &Client, n: i64) {
    diesel::sql_query(format!(
        "INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes, issued_at, \
         expires_at) SELECT sha256(('seed' || t)::bytea), '{}', 1, '{{orders:read}}', now(), \
         now() + interval '1 hour' FROM generate_series(1, {n}) t",
        client.id
    ))
    .execute(&mut *app.conn().await)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE access_tokens")
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_pushed_out_behind_100000_newer_ones_costs_no_more_to_check_than_a_live_one() {
    let s = setup().await;
    let turn = hold_sweep(&s.app).await;
    let pushed_out = access_token(&s.app, &s.client).await;
    store_tokens(&s.app, &s.client, 100_000).await;
    let live = access_token(&s.app, &s.client).await;
    assert!(
        token_rows(&s.app, &s.client).await > 100_000,
        "the rows are all there"
    );

    let (live_pages, live_found) = pages_read_to_check(&s.app, &live).await;
    let (pushed_pages, pushed_found) = pages_read_to_check(&s.app, &pushed_out).await;
    assert!(live_found && !pushed_found);
    // The check reads the credential's ten newest index entries, whichever token it is.
    assert!(
        pushed_pages <= live_pages + 2,
        "pushed out: {pushed_pages} pages, live: {live_pages}"
    );
    assert!(pushed_pages < 40, "{pushed_pages} pages");
    let inactive = introspect(&s.app, &s.client, &pushed_out).await;
    assert_eq!(inactive.json(), serde_json::json!({ "active": false }));
    assert_eq!(whoami(&s.app, &pushed_out).await.status, 401);
    assert_eq!(whoami(&s.app, &live).await.status, 200);
    let_sweep(turn).await;
}

/// Holds the token sweep's turn, so that the app's own sweep leaves the table alone until
/// `let_sweep` hands it back.
pub(crate) async fn hold_sweep(app: &TestApp) -> m2m_console::db::DbConn {
    let mut conn = app.conn().await;
    diesel::sql_query(format!("SELECT pg_advisory_lock({})", token_sweep::TURN))
        .execute(&mut *conn)
        .await
        .unwrap();
    conn
}

pub(crate) async fn let_sweep(mut conn: m2m_console::db::DbConn) {
    diesel::sql_query(format!("SELECT pg_advisory_unlock({})", token_sweep::TURN))
        .execute(&mut *conn)
        .await
        .unwrap();
}

/// Runs the token sweep until it has caught up (waiting its turn if the app's own runs).
async fn sweep_all(app: &TestApp, batch: i64) {
    let mut conn = app.conn().await;
    loop {
        match token_sweep::sweep_pushed_out(&mut conn, batch)
            .await
            .unwrap()
        {
            Some(run) if !run.more => return,
            Some(_) => {}
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
}

async fn token_rows(app: &TestApp, client: &Client) -> i64 {
    use diesel::{ExpressionMethods, QueryDsl};
    use m2m_console::db::schema::access_tokens;
    let count = access_tokens::table
        .filter(access_tokens::credential_id.eq(client.id))
        .count();
    diesel_async::RunQueryDsl::get_result(count, &mut *app.conn().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_out_tokens_are_deleted_by_the_next_sweep_and_the_live_ten_stay() {
    let s = setup().await;
    let turn = hold_sweep(&s.app).await;
    let mut issued = Vec::new();
    for _ in 0..25 {
        issued.push(access_token(&s.app, &s.client).await);
    }
    assert_eq!(token_rows(&s.app, &s.client).await, 25);
    let_sweep(turn).await;
    // In batches smaller than what waits, so a run that leaves work says so.
    sweep_all(&s.app, 7).await;
    assert_eq!(token_rows(&s.app, &s.client).await, 10);
    for (i, token) in issued.iter().enumerate() {
        let expected = if i >= 15 { 200 } else { 401 };
        assert_eq!(whoami(&s.app, token).await.status, expected, "token {i}");
    }
    // Nothing new: the next run deletes nothing.
    sweep_all(&s.app, 1000).await;
    assert_eq!(token_rows(&s.app, &s.client).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_of_another_credential_are_not_swept_with_a_busy_one() {
    let s = setup().await;
    let quiet = access_token(&s.app, &s.client).await;
    let mut admin = s.admin;
    let (id, client_id, secret) = crate::fixtures::create_credential(
        &s.app,
        &mut admin,
        &with(crate::fixtures::valid_form(&s.catalog), "name", "Busy"),
    )
    .await;
    let busy = Client {
        id,
        client_id,
        secret,
    };
    for _ in 0..15 {
        access_token(&s.app, &busy).await;
    }
    sweep_all(&s.app, 1000).await;
    assert_eq!(token_rows(&s.app, &busy).await, 10);
    assert_eq!(whoami(&s.app, &quiet).await.status, 200);
}

/// The statements sent so far by requests of `route` (the metrics listener's counter).
pub(crate) async fn statements(app: &TestApp, route: &str) -> f64 {
    let port = app.metrics_port.unwrap();
    let text = reqwest::get(format!("http://127.0.0.1:{port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let key = format!("m2m_db_statements_total{{route=\"{route}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&key))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hot_endpoint_sends_the_statements_the_readme_states() {
    let app = TestApp::spawn_with(|s| s.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let s = setup_on(app, |f| f).await;
    let app = &s.app;

    let before = statements(app, "/oauth/token").await;
    let token = access_token(app, &s.client).await;
    assert_eq!(
        statements(app, "/oauth/token").await - before,
        1.0,
        "token: one statement"
    );

    let before = statements(app, "/oauth/introspect").await;
    assert_eq!(
        introspect(app, &s.client, &token).await.json()["active"],
        true
    );
    // The caller's lookup and the token's, joined in one statement.
    assert_eq!(statements(app, "/oauth/introspect").await - before, 1.0);

    let before = statements(app, "/api/v1/whoami").await;
    assert_eq!(whoami(app, &token).await.status, 200);
    assert_eq!(statements(app, "/api/v1/whoami").await - before, 1.0);

    // A failure adds its one write (the throttle's count); a malformed secret is not looked up.
    let wrong = m2m_console::tokens::generate(Kind::ClientSecret).unwrap();
    for (secret, expected) in [("m2m_sk_wrong", 1.0), (wrong.expose(), 2.0)] {
        let before = statements(app, "/oauth/token").await;
        let auth = basic(&s.client.client_id, secret);
        let body = "grant_type=client_credentials";
        let refused = post(app, "/oauth/token", body, &[("Authorization", &auth)]).await;
        assert_eq!(refused.status, 401);
        assert_eq!(statements(app, "/oauth/token").await - before, expected);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_counted_on_many_threads_adds_up_and_the_flush_writes_the_last_use() {
    // The flush job would run every hour: this test flushes by hand.
    let app = TestApp::spawn_with(|s| s.usage_flush = std::time::Duration::from_secs(3600)).await;
    let s = setup_on(app, |f| f).await;
    let requests = (0..40).map(|_| access_token(&s.app, &s.client));
    futures::future::join_all(requests).await;
    let newest = access_token(&s.app, &s.client).await;
    assert_eq!(whoami(&s.app, &newest).await.status, 200);
    let c = Credential::find_in_org(&mut *s.app.conn().await, s.org, s.client.id)
        .await
        .unwrap();
    assert_eq!(c.secret_uses, 0, "nothing is written on the request path");
    assert!(c.last_used_at.is_none());

    s.app.flush_usage().await;
    let c = Credential::find_in_org(&mut *s.app.conn().await, s.org, s.client.id)
        .await
        .unwrap();
    assert_eq!(c.secret_uses, 41);
    assert!(c.secret_last_used_at.is_some());
    assert_eq!(c.secret_last_used_ip.as_deref(), Some("127.0.0.1"));
    assert_eq!(c.last_used_at, c.secret_last_used_at.max(c.last_used_at));
    assert_eq!(c.last_used_ip.as_deref(), Some("127.0.0.1"));
    let since = s.app.clock.now() - chrono::Duration::days(1);
    let rows =
        m2m_console::db::models::usage::hourly_since(&mut *s.app.conn().await, s.client.id, since)
            .await
            .unwrap();
    let issued: i64 = rows
        .iter()
        .filter(|(_, e, _)| e == "token_issued")
        .map(|(.., n)| n)
        .sum();
    let bearer: i64 = rows
        .iter()
        .filter(|(_, e, _)| e == "bearer_used")
        .map(|(.., n)| n)
        .sum();
    assert_eq!((issued, bearer), (41, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sweep_run_over_many_credentials_reads_their_index_not_the_whole_table() {
    // Tokens spread over many credentials (each got one since the last run) once made the
    // sweep's delete hash-join the whole table: a run cost what the table weighs, not what it
    // deletes.
    let s = setup().await;
    let turn = hold_sweep(&s.app).await;
    let mut conn = s.app.conn().await;
    diesel::sql_query(
        "WITH o AS (INSERT INTO organisations (id, name) SELECT gen_random_uuid(), 'Spread ' || i \
         FROM generate_series(1, 500) i RETURNING id), \
         r AS (INSERT INTO roles (id, org_id, name) SELECT gen_random_uuid(), o.id, 'Spread' \
         FROM o RETURNING id, org_id), \
         c AS (INSERT INTO credentials (id, org_id, client_id, secret_hash, name, owner_email, \
         role_id, access_level, created_by_email) SELECT gen_random_uuid(), r.org_id, \
         'm2m_ci_spread' || r.id || k, sha256((r.id || ':' || k)::bytea), 'Spread ' || k, \
         'ops@spread.test', r.id, 'full', 'ops@spread.test' FROM r, generate_series(0, 9) k \
         RETURNING id) \
         INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes, issued_at, \
         expires_at) SELECT sha256((c.id || ':' || t)::bytea), c.id, 1, '{orders:read}', now(), \
         now() + interval '1 hour' FROM c, generate_series(1, 10) t",
    )
    .execute(&mut *conn)
    .await
    .unwrap();
    diesel::sql_query("ANALYZE")
        .execute(&mut *conn)
        .await
        .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Scans {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let seq_scans = "SELECT seq_scan AS n FROM pg_stat_user_tables WHERE relname = 'access_tokens'";
    let before: Scans = diesel::sql_query(seq_scans)
        .get_result(&mut *conn)
        .await
        .unwrap();
    // 50,000 tokens of 5,000 credentials, none pushed out: nothing to delete, in ten runs.
    let_sweep(turn).await;
    loop {
        match token_sweep::sweep_pushed_out(&mut conn, 5_000)
            .await
            .unwrap()
        {
            Some(run) if !run.more => break,
            Some(_) => {}
            None => tokio::time::sleep(std::time::Duration::from_millis(20)).await,
        }
    }
    // This backend's counts reach the shared statistics at the end of its next statement.
    for query in [
        "SELECT pg_stat_force_next_flush()",
        "SELECT pg_stat_clear_snapshot()",
    ] {
        diesel::sql_query(query).execute(&mut *conn).await.unwrap();
    }
    let after: Scans = diesel::sql_query(seq_scans)
        .get_result(&mut *conn)
        .await
        .unwrap();
    assert_eq!(after.n, before.n, "the sweep scanned the whole table");
}
