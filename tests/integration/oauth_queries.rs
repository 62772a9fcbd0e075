//! How the hot path's queries behave under load: the issuing statement prepared once per
//! connection, token checks that stay on the credential's index, and the trigger-kept copy
//! of each credential's scopes.

use crate::fixtures::{
    Client, access_token, create_credential, prepared_statements, presented, setup, valid_form,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuing_statement_is_prepared_once_per_connection() {
    // Written by hand (diesel has no data-modifying CTE), it must still be cached like the
    // DSL's statements: planning it on every request would cost the round trip it saves.
    use m2m_console::db::models::issuance::TokenRequest;
    use m2m_console::db::models::token_issue::issue_for_client;
    let s = setup().await;
    let mut conn = s.app.conn().await;
    for attempt in 0..3u8 {
        let digest = [attempt; 32];
        let request = TokenRequest {
            presented: presented(
                "m2m_ci_nobody",
                &digest,
                Some("127.0.0.1"),
                s.app.clock.now(),
            ),
            token_hash: &digest,
            scopes: None,
        };
        let (lookup, granted) = issue_for_client(&mut conn, request).await.unwrap();
        assert!(lookup.client.is_none() && granted.is_none());
    }
    assert_eq!(prepared_statements(&mut conn, "WITH b AS").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_caller_lookups_are_prepared_once_per_connection() {
    // Introspection's statement (the caller's lookup joined with the token's) and the lookup
    // alone are two statements of their own: each must be prepared once, and neither may be
    // served by the other's prepared statement.
    use m2m_console::db::models::client_lookup::{find_client, find_client_and_token};
    let s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let hash = m2m_console::tokens::parse(m2m_console::tokens::Kind::AccessToken, &token)
        .unwrap()
        .hash();
    let mut conn = s.app.conn().await;
    for attempt in 0..3u8 {
        let now = s.app.clock.now();
        let digest = [attempt; 32];
        let presented = presented(&s.client.client_id, &digest, Some("127.0.0.1"), now);
        let alone = find_client(&conn, presented).await.unwrap();
        let (joined, found) = find_client_and_token(&conn, presented, hash.as_bytes())
            .await
            .unwrap();
        assert!(alone.client.is_some() && joined.client.is_some());
        assert_eq!(found.map(|t| t.client_id), Some(s.client.client_id.clone()));
    }
    assert_eq!(
        prepared_statements(&mut conn, "SELECT t.retry_after").await,
        2
    );
}

/// Rows of `access_tokens` that the current transaction read by sequential scan, and index
/// entries it read through the primary key.
async fn token_rows_read_outside_the_credential_index(
    conn: &mut diesel_async::AsyncPgConnection,
) -> (i64, i64) {
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Reads {
        #[diesel(sql_type = BigInt)]
        seq: i64,
        #[diesel(sql_type = BigInt)]
        pkey: i64,
    }
    let r: Reads = diesel::sql_query(
        "SELECT pg_stat_get_xact_tuples_returned('access_tokens'::regclass) AS seq,
                pg_stat_get_xact_tuples_returned('access_tokens_pkey'::regclass) AS pkey",
    )
    .get_result(conn)
    .await
    .unwrap();
    (r.seq, r.pkey)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_credential_does_not_slow_token_checks_of_another() {
    // The planner once chose to find "newer tokens of this credential" by walking the
    // primary key: with one busy credential, every check of another credential's token read
    // all of the busy one's tokens. This replays that skew and counts the rows read.
    use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
    use m2m_console::db::models::access_token;
    use m2m_console::db::models::client_lookup::find_client_and_token;
    use m2m_console::tokens::{Kind, parse};
    let mut s = setup().await;
    let (id, client_id, secret) =
        create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let quiet = Client {
        id,
        client_id,
        secret,
    };
    let quiet_token = access_token(&s.app, &quiet).await;
    let hash = parse(Kind::AccessToken, &quiet_token).unwrap().hash();
    let mut conn = s.app.conn().await;
    diesel::sql_query(
        "INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes,
                                    issued_at, expires_at)
         SELECT sha256(n::text::bytea), $1, 1, '{orders:read}', now(), now() + interval '1 hour'
         FROM generate_series(1, 5000) n",
    )
    .bind::<diesel::sql_types::Uuid, _>(s.client.id)
    .execute(&mut conn)
    .await
    .unwrap();
    conn.batch_execute("ANALYZE access_tokens").await.unwrap();

    for mode in ["force_custom_plan", "force_generic_plan"] {
        conn.batch_execute(&format!("SET plan_cache_mode = {mode}; BEGIN"))
            .await
            .unwrap();
        let found = access_token::find_active(&conn, hash.as_bytes(), s.app.clock.now(), None)
            .await
            .unwrap();
        assert!(found.is_some(), "the quiet credential's token is live");
        let (seq, pkey) = token_rows_read_outside_the_credential_index(&mut conn).await;
        conn.batch_execute("COMMIT").await.unwrap();
        assert!(
            seq + pkey < 100,
            "{mode}: {seq} rows by sequential scan, {pkey} by primary key"
        );

        // Introspection's statement joins the same lookup to the caller's: it must keep its
        // plan there too.
        conn.batch_execute("BEGIN").await.unwrap();
        let now = s.app.clock.now();
        let presented = presented(&s.client.client_id, &[0; 32], Some("127.0.0.1"), now);
        let (lookup, found) = find_client_and_token(&conn, presented, hash.as_bytes())
            .await
            .unwrap();
        assert!(lookup.client.is_some() && found.is_some());
        let (seq, pkey) = token_rows_read_outside_the_credential_index(&mut conn).await;
        conn.batch_execute("COMMIT").await.unwrap();
        assert!(
            seq + pkey < 100,
            "{mode}, introspection: {seq} rows by sequential scan, {pkey} by primary key"
        );
    }
}

/// The trigger-kept copy of a credential's scopes, and how many credentials' copies differ
/// from the rule (the `credential_scopes` view).
async fn stored_scopes(
    conn: &mut diesel_async::AsyncPgConnection,
    id: m2m_console::db::ids::CredentialId,
) -> (Vec<String>, i64) {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::{credential_scopes, credentials};
    let scopes = credentials::table
        .find(id)
        .select(credentials::scopes)
        .get_result(conn)
        .await
        .unwrap();
    let drift = credentials::table
        .inner_join(credential_scopes::table)
        .filter(credentials::scopes.ne(credential_scopes::scopes))
        .count()
        .get_result(conn)
        .await
        .unwrap();
    (scopes, drift)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scope_copy_follows_every_change_even_concurrent_ones() {
    use diesel::sql_types::Uuid;
    use diesel_async::{AsyncConnection, RunQueryDsl, SimpleAsyncConnection};
    let s = setup().await;
    let (c, cat) = (s.client.id, &s.catalog);
    let mut conn = s.app.conn().await;
    let run = async |conn: &mut diesel_async::AsyncPgConnection, sql: &str, id: uuid::Uuid| {
        diesel::sql_query(sql)
            .bind::<Uuid, _>(id)
            .execute(conn)
            .await
            .unwrap();
    };
    let expect = async |conn: &mut diesel_async::AsyncPgConnection, want: &[&str]| {
        assert_eq!(
            stored_scopes(conn, c).await,
            (want.iter().map(|s| s.to_string()).collect(), 0)
        );
    };
    expect(&mut conn, &["orders:read", "orders:write"]).await;
    run(
        &mut conn,
        "DELETE FROM role_apis WHERE api_id = $1",
        cat.write.0,
    )
    .await;
    expect(&mut conn, &["orders:read"]).await;
    run(
        &mut conn,
        "UPDATE apis SET scope = 'orders:get' WHERE id = $1",
        cat.read.0,
    )
    .await;
    expect(&mut conn, &["orders:get"]).await;
    run(
        &mut conn,
        "UPDATE credentials SET access_level = 'fine_grained' WHERE id = $1",
        c.0,
    )
    .await;
    expect(&mut conn, &[]).await;
    diesel::sql_query("INSERT INTO credential_apis (credential_id, api_id) VALUES ($1, $2)")
        .bind::<Uuid, _>(c)
        .bind::<Uuid, _>(cat.read)
        .execute(&mut conn)
        .await
        .unwrap();
    expect(&mut conn, &["orders:get"]).await;
    run(&mut conn, "DELETE FROM apis WHERE id = $1", cat.read.0).await;
    expect(&mut conn, &[]).await;
    run(
        &mut conn,
        "UPDATE credentials SET access_level = 'full' WHERE id = $1",
        c.0,
    )
    .await;
    expect(&mut conn, &[]).await;

    // Two transactions at once: one adds an API to the Billing role, the other moves the
    // credential to that role. Whichever order they commit in, the copy must hold the API.
    let mut adding =
        diesel_async::AsyncPgConnection::establish(s.app.settings.database_url.expose())
            .await
            .unwrap();
    adding.batch_execute("BEGIN").await.unwrap();
    diesel::sql_query("INSERT INTO role_apis (role_id, api_id) VALUES ($1, $2)")
        .bind::<Uuid, _>(cat.other_role)
        .bind::<Uuid, _>(cat.write)
        .execute(&mut adding)
        .await
        .unwrap();
    let (url, billing) = (s.app.settings.database_url.clone(), cat.other_role);
    let moving = tokio::spawn(async move {
        let mut conn = diesel_async::AsyncPgConnection::establish(url.expose())
            .await
            .unwrap();
        diesel::sql_query("UPDATE credentials SET role_id = $1 WHERE id = $2")
            .bind::<Uuid, _>(billing)
            .bind::<Uuid, _>(c)
            .execute(&mut conn)
            .await
            .unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(
        !moving.is_finished(),
        "the move waits for the organisation lock"
    );
    adding.batch_execute("COMMIT").await.unwrap();
    moving.await.unwrap();
    expect(&mut conn, &["invoices:read", "orders:write"]).await;
}
