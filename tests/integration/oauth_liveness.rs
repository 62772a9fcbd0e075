//! A change to a credential applies on the very next request, on every instance: rotation,
//! revocation, deletion, role changes, expiry, tokens raced against them, and the ten-token
//! cap with its sweep.

use chrono::Duration;
use m2m_console::db::models::api_role::ApiRole;

use crate::fixtures::{
    Answer, Client, Setup, access_token, create_credential, introspect, rotate, setup, token,
    valid_form, whoami,
};
use crate::helpers::TestApp;

const BASE: &str = "/settings/integrations/machine-to-machine";

/// `n` token requests for `client`, all sent at once.
async fn simultaneous_token_requests(app: &TestApp, client: &Client, n: usize) -> Vec<Answer> {
    futures::future::join_all((0..n).map(|_| token(app, client, ""))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotation_invalidates_the_old_secret_and_its_tokens_at_once() {
    let mut s = setup().await;
    let old_token = access_token(&s.app, &s.client).await;
    let renewed = rotate(&mut s).await;

    assert_eq!(
        token(&s.app, &s.client, "").await.status,
        401,
        "the old secret fails on the very next request"
    );
    assert_eq!(
        whoami(&s.app, &old_token).await.status,
        401,
        "and so do tokens issued under it"
    );
    let fresh = access_token(&s.app, &renewed).await;
    assert_eq!(whoami(&s.app, &fresh).await.status, 200);
    assert_eq!(
        introspect(&s.app, &renewed, &old_token).await.json(),
        serde_json::json!({ "active": false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoking_or_deleting_a_credential_kills_its_tokens_on_the_next_request() {
    let mut s = setup().await;
    let (other_id, other_cid, other_sk) =
        create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let other = Client {
        id: other_id,
        client_id: other_cid,
        secret: other_sk,
    };
    let token_a = access_token(&s.app, &s.client).await;
    let token_b = access_token(&s.app, &other).await;

    s.admin
        .post_form(&format!("{BASE}/{}/revoke", s.client.id), &[])
        .await;
    assert_eq!(whoami(&s.app, &token_a).await.status, 401);
    assert_eq!(token(&s.app, &s.client, "").await.status, 401);

    s.admin
        .post_form(&format!("{BASE}/{}/delete", other.id), &[])
        .await;
    let res = whoami(&s.app, &token_b).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "invalid_token");
    assert_eq!(token(&s.app, &other, "").await.status, 401);
}

/// Stores a token row for `credential` as an issuing statement that raced a change would
/// have: under `secret_version`, unrevoked. Returns the token's value.
async fn store_raced_token(
    app: &TestApp,
    credential: m2m_console::db::ids::CredentialId,
    secret_version: i32,
) -> String {
    use diesel::sql_types::{Bytea, Integer, Uuid};
    use diesel_async::RunQueryDsl;
    use m2m_console::tokens::{Kind, generate};
    let token = generate(Kind::AccessToken).unwrap();
    diesel::sql_query(
        "INSERT INTO access_tokens (token_hash, credential_id, secret_version, scopes,
                                    issued_at, expires_at)
         VALUES ($1, $2, $3, '{orders:read}', now(), now() + interval '1 hour')",
    )
    .bind::<Bytea, _>(token.hash().as_bytes())
    .bind::<Uuid, _>(credential)
    .bind::<Integer, _>(secret_version)
    .execute(&mut *app.conn().await)
    .await
    .unwrap();
    token.expose().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_stored_while_its_secret_was_rotated_is_refused_from_its_first_use() {
    // Issuing takes no lock on the credential, so a request that checked the old secret just
    // before a rotation committed can store its token just after the rotation revoked the
    // credential's tokens. It carries the old secret version, and that is what refuses it.
    use m2m_console::db::models::access_token;
    let mut s = setup().await;
    let renewed = rotate(&mut s).await;
    let fresh = access_token(&s.app, &renewed).await;
    let raced = store_raced_token(&s.app, s.client.id, 1).await;

    assert_eq!(
        whoami(&s.app, &raced).await.json()["error"],
        "invalid_token"
    );
    assert_eq!(
        introspect(&s.app, &renewed, &raced).await.json(),
        serde_json::json!({ "active": false })
    );
    let now = s.app.clock.now();
    let mut conn = s.app.conn().await;
    let live = access_token::list_live(&mut conn, s.client.id, now)
        .await
        .unwrap();
    assert_eq!(live.len(), 1, "the console lists only the fresh token");
    drop(conn);
    assert_eq!(whoami(&s.app, &fresh).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_requested_during_a_rotation_outlives_it() {
    let mut s = setup().await;
    let requests = simultaneous_token_requests(&s.app, &s.client, 40);
    let rotate_path = format!("{BASE}/{}/rotate", s.client.id);
    let rotation = async {
        // Let the first requests through before rotating.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        s.admin.hx_post(&rotate_path, &[]).await
    };
    let (answers, page) = tokio::join!(requests, rotation);
    assert_eq!(page.status, 200);
    let mut issued = 0;
    for res in answers {
        if res.status == 200 {
            issued += 1;
            let t = res.json()["access_token"].as_str().unwrap().to_string();
            assert_eq!(
                whoami(&s.app, &t).await.status,
                401,
                "a token of the old secret works after the rotation"
            );
        } else {
            assert_eq!(res.status, 401, "{}", res.text);
        }
    }
    println!("{issued} of 40 requests got a token, all refused since the rotation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleting_a_credential_deletes_its_tokens_and_a_raced_one_is_refused() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::access_tokens;
    let mut s = setup().await;
    access_token(&s.app, &s.client).await;
    access_token(&s.app, &s.client).await;
    s.admin
        .post_form(&format!("{BASE}/{}/delete", s.client.id), &[])
        .await;
    let left: i64 = access_tokens::table
        .filter(access_tokens::credential_id.eq(s.client.id))
        .count()
        .get_result(&mut *s.app.conn().await)
        .await
        .unwrap();
    assert_eq!(left, 0, "the credential's tokens went with it");

    // One stored by a request racing the deletion has no credential to be valid for.
    let raced = store_raced_token(&s.app, s.client.id, 1).await;
    assert_eq!(whoami(&s.app, &raced).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_credential_keeps_at_most_ten_live_tokens_oldest_evicted() {
    let s = setup().await;
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(access_token(&s.app, &s.client).await);
    }
    assert_eq!(whoami(&s.app, &tokens[0]).await.status, 401);
    assert_eq!(whoami(&s.app, &tokens[1]).await.status, 401);
    for t in &tokens[2..] {
        assert_eq!(whoami(&s.app, t).await.status, 200);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_simultaneous_token_requests_leave_exactly_ten_live() {
    let s = setup().await;
    let mut tokens = Vec::new();
    for res in simultaneous_token_requests(&s.app, &s.client, 50).await {
        assert_eq!(res.status, 200);
        tokens.push(res.json()["access_token"].as_str().unwrap().to_string());
    }
    let now = s.app.clock.now();
    let live = m2m_console::db::models::access_token::list_live(
        &mut *s.app.conn().await,
        s.client.id,
        now,
    )
    .await
    .unwrap();
    assert_eq!(live.len(), 10);
    let mut accepted = 0;
    for t in &tokens {
        if whoami(&s.app, t).await.status == 200 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 10, "exactly the ten live tokens are accepted");
}

async fn unrevoked_tokens(conn: &mut diesel_async::AsyncPgConnection) -> i64 {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::access_tokens;
    access_tokens::table
        .filter(access_tokens::revoked_at.is_null())
        .count()
        .get_result(conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_deletes_long_expired_tokens_and_pushed_out_ones_stay_refused() {
    use m2m_console::db::models::access_token::{self, EXPIRED_TOKEN_RETENTION, TOKEN_LIFETIME};
    let s = setup().await;
    let old = access_token(&s.app, &s.client).await;
    s.app
        .clock
        .advance(TOKEN_LIFETIME + EXPIRED_TOKEN_RETENTION + chrono::Duration::seconds(1));
    let mut tokens = Vec::new();
    for _ in 0..12 {
        tokens.push(access_token(&s.app, &s.client).await);
    }
    let mut conn = s.app.conn().await;
    assert_eq!(unrevoked_tokens(&mut conn).await, 13);

    let swept = access_token::sweep(&mut conn, s.app.clock.now())
        .await
        .unwrap();
    assert_eq!(swept, 1, "one long expired");
    assert_eq!(
        unrevoked_tokens(&mut conn).await,
        12,
        "pushed-out ones need no mark"
    );
    assert_eq!(
        access_token::sweep(&mut conn, s.app.clock.now())
            .await
            .unwrap(),
        0
    );
    drop(conn);
    // Nothing live changed: the same ten tokens work, the others still do not.
    for t in &tokens[..2] {
        assert_eq!(whoami(&s.app, t).await.status, 401);
    }
    for t in &tokens[2..] {
        assert_eq!(whoami(&s.app, t).await.status, 200);
    }
    assert_eq!(whoami(&s.app, &old).await.status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_are_refused_and_inactive() {
    let mut s = setup().await;
    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let checker = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let token = access_token(&s.app, &s.client).await;
    s.app.clock.advance(Duration::seconds(3601));
    let res = whoami(&s.app, &token).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.json()["error"], "invalid_token");
    assert_eq!(
        introspect(&s.app, &checker, &token).await.json(),
        serde_json::json!({ "active": false })
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_an_api_away_from_the_role_applies_on_the_next_request() {
    let s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let narrow = token_with_scope(&s, "orders:read").await;
    ApiRole::set_apis(&mut *s.app.conn().await, s.catalog.role, &[s.catalog.read])
        .await
        .unwrap();
    assert_eq!(
        whoami(&s.app, &token).await.status,
        401,
        "the token carried orders:write"
    );
    assert_eq!(
        whoami(&s.app, &narrow).await.status,
        200,
        "orders:read is still allowed"
    );
    let res = token_with(&s, "&scope=orders:write").await;
    assert_eq!(res.json()["error"], "invalid_scope");
    assert_eq!(token_with(&s, "").await.json()["scope"], "orders:read");
}

async fn token_with(s: &Setup, extra: &str) -> Answer {
    token(&s.app, &s.client, extra).await
}

async fn token_with_scope(s: &Setup, scope: &str) -> String {
    token_with(s, &format!("&scope={scope}")).await.json()["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_instance_is_refused_on_the_next_request_to_another() {
    let mut s = setup().await;
    let other = s.app.second_instance().await;
    let token_before = access_token(&other, &s.client).await;
    assert_eq!(whoami(&other, &token_before).await.status, 200);

    s.admin
        .hx_post(&format!("{BASE}/{}/rotate", s.client.id), &[])
        .await;
    assert_eq!(token(&other, &s.client, "").await.status, 401);
    assert_eq!(whoami(&other, &token_before).await.status, 401);
}
