//! The machine side: /oauth/token, introspection, revocation, metadata and whoami, with the
//! adversarial cases an authorization server must survive.

use base64::Engine;
use chrono::Duration;
use m2m_console::db::models::api_role::ApiRole;
use m2m_console::db::models::credential::Credential;
use m2m_console::db::models::user::StaffRole;
use serde_json::Value;

use crate::fixtures::{
    Answer, Client, Setup, access_token, answer, basic, create_credential, introspect, post,
    rotate, seed_catalog, setup, setup_on, setup_with, token, valid_form, whoami,
};
use crate::helpers::{TestApp, captured_logs};

const BASE: &str = "/settings/integrations/machine-to-machine";

/// `n` token requests for `client`, all sent at once.
async fn simultaneous_token_requests(app: &TestApp, client: &Client, n: usize) -> Vec<Answer> {
    futures::future::join_all((0..n).map(|_| token(app, client, ""))).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_gets_a_bearer_token_for_every_allowed_scope() {
    let s = setup().await;
    let res = token(&s.app, &s.client, "").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert_eq!(res.header("pragma"), Some("no-cache"));
    let body = res.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert_eq!(body["scope"], "orders:read orders:write");
    assert!(body["refresh_token"].is_null());
    let access = body["access_token"].as_str().unwrap();
    assert!(access.starts_with("m2m_at_"));

    let me = whoami(&s.app, access).await;
    assert_eq!(me.status, 200, "{}", me.text);
    let me = me.json();
    assert_eq!(me["credential"]["client_id"], s.client.client_id.as_str());
    assert_eq!(me["credential"]["name"], "Warehouse sync");
    assert_eq!(me["organisation"]["name"], "Acme");
    assert_eq!(
        me["scopes"],
        serde_json::json!(["orders:read", "orders:write"])
    );
    assert!(me["expires_in"].as_i64().unwrap() > 3500);

    // Usage is recorded on the credential.
    let c = Credential::find_in_org(&mut *s.app.conn().await, s.org, s.client.id)
        .await
        .unwrap();
    assert!(c.last_used_at.is_some());
    assert_eq!(c.last_used_ip.as_deref(), Some("127.0.0.1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_credentials_work_but_not_together_with_basic() {
    let s = setup().await;
    let body = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        s.client.client_id, s.client.secret
    );
    let res = post(&s.app, "/oauth/token", &body, &[]).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let both = post(
        &s.app,
        "/oauth/token",
        &body,
        &[(
            "Authorization",
            &basic(&s.client.client_id, &s.client.secret),
        )],
    )
    .await;
    assert_eq!(both.status, 400);
    assert_eq!(both.json()["error"], "invalid_request");
    // Needlessly percent-encoded characters decode to the same credentials.
    let encoded_id = s.client.client_id.replace('_', "%5F");
    let raw = base64::engine::general_purpose::STANDARD
        .encode(format!("{encoded_id}:{}", s.client.secret));
    let res = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[("Authorization", &format!("Basic {raw}"))],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_basic_headers_are_invalid_client_never_a_crash() {
    let s = setup().await;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let non_utf8 = base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe, b':', 0xfd]);
    let cases = vec![
        format!("Basic {}", b64("no-colon-at-all")),
        "Basic ***not-base64***".to_string(),
        format!("Basic {}", b64("m2m_ci_x%zz:secret")),
        format!("Basic {}", b64("m2m_ci_x%ff:secret")),
        format!("Basic {non_utf8}"),
        format!("Basic {}", "QUFB".repeat(2048)),
        format!("Basic {}", b64("a+b%2B%25:%3A+%")),
        format!(
            "Basic {}",
            b64(&format!("{}:{}x", s.client.client_id, s.client.secret))
        ),
        "Basic".to_string(),
        "Bearer something".to_string(),
    ];
    for header in cases {
        let res = post(
            &s.app,
            "/oauth/token",
            "grant_type=client_credentials",
            &[("Authorization", &header)],
        )
        .await;
        assert_eq!(res.status, 401, "{header:.40}: {}", res.text);
        assert_eq!(res.json()["error"], "invalid_client");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .starts_with("Basic realm=")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_the_rfc_errors() {
    let s = setup().await;
    let auth = basic(&s.client.client_id, &s.client.secret);
    let get = reqwest::Client::new()
        .get(s.app.url("/oauth/token"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers().get("allow").unwrap(), "POST");

    let json = reqwest::Client::new()
        .post(s.app.url("/oauth/token"))
        .header("Authorization", &auth)
        .json(&serde_json::json!({ "grant_type": "client_credentials" }))
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 400);
    assert_eq!(answer(json).await.json()["error"], "invalid_request");

    let cases = [
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            400,
            "invalid_request",
        ),
        ("scope=orders:read", 400, "invalid_request"),
        ("grant_type=password", 400, "unsupported_grant_type"),
        (
            "grant_type=client_credentials&scope=orders:read%20admin",
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&scope=invoices:read",
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&scope=orders:read&scope=orders:write",
            400,
            "invalid_request",
        ),
    ];
    for (body, status, error) in cases {
        let res = post(&s.app, "/oauth/token", body, &[("Authorization", &auth)]).await;
        assert_eq!(
            (res.status, res.json()["error"].as_str().unwrap()),
            (status, error),
            "{body}"
        );
        assert_eq!(res.header("cache-control"), Some("no-store"));
    }
    let none = post(&s.app, "/oauth/token", "grant_type=client_credentials", &[]).await;
    assert_eq!(
        (none.status, none.json()["error"].as_str().unwrap()),
        (401, "invalid_client")
    );

    let narrowed = token(&s.app, &s.client, "&scope=orders:read").await;
    assert_eq!(narrowed.json()["scope"], "orders:read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_bad_client_gets_a_byte_identical_answer() {
    let s = setup().await;
    let mut admin = s.admin;
    let (revoked_id, revoked_cid, revoked_sk) =
        create_credential(&s.app, &mut admin, &valid_form(&s.catalog)).await;
    admin
        .post_form(&format!("{BASE}/{revoked_id}/revoke"), &[])
        .await;
    let soon = (s.app.clock.now() + Duration::hours(2))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let mut form = valid_form(&s.catalog);
    form.retain(|(k, _)| *k != "expires_at");
    form.push(("expires_at", soon));
    let (_, expiring_cid, expiring_sk) = create_credential(&s.app, &mut admin, &form).await;
    let (deleted_id, deleted_cid, deleted_sk) =
        create_credential(&s.app, &mut admin, &valid_form(&s.catalog)).await;
    admin
        .post_form(&format!("{BASE}/{deleted_id}/delete"), &[])
        .await;
    s.app.clock.advance(Duration::hours(3));

    let wrong_secret =
        m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret).unwrap();
    let attempts = [
        (
            "unknown client",
            "m2m_ci_doesnotexist".to_string(),
            s.client.secret.clone(),
        ),
        (
            "wrong secret",
            s.client.client_id.clone(),
            wrong_secret.expose().to_string(),
        ),
        ("revoked", revoked_cid, revoked_sk),
        ("expired", expiring_cid, expiring_sk),
        ("deleted", deleted_cid, deleted_sk),
    ];
    let mut answers = Vec::new();
    for (what, id, secret) in attempts {
        let res = post(
            &s.app,
            "/oauth/token",
            "grant_type=client_credentials",
            &[("Authorization", &basic(&id, &secret))],
        )
        .await;
        assert_eq!(res.status, 401, "{what}");
        answers.push((
            what,
            res.text.clone(),
            res.header("www-authenticate").map(str::to_string),
            res.headers.len(),
        ));
    }
    for (what, body, challenge, count) in &answers[1..] {
        assert_eq!(body, &answers[0].1, "{what} body differs");
        assert_eq!(challenge, &answers[0].2, "{what} challenge differs");
        assert_eq!(count, &answers[0].3, "{what} header count differs");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_allow_list_is_checked_and_forged_forwarding_headers_change_nothing() {
    let s = setup_with(|mut f| {
        f.retain(|(k, _)| *k != "allowed_ips");
        f.push(("allowed_ips", "203.0.113.0/24".into()));
        f
    })
    .await;
    let auth = basic(&s.client.client_id, &s.client.secret);
    let direct = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(direct.status, 401, "127.0.0.1 is not allowed");
    let forged = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[("Authorization", &auth), ("X-Forwarded-For", "203.0.113.9")],
    )
    .await;
    assert_eq!(
        forged.status, 401,
        "an untrusted peer cannot claim another address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_the_forwarded_address_counts() {
    let app = TestApp::spawn_with(|settings| {
        settings.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]
    })
    .await;
    let s = setup_on(app, |mut f| {
        f.retain(|(k, _)| *k != "allowed_ips");
        f.push(("allowed_ips", "203.0.113.0/24".into()));
        f
    })
    .await;
    let auth = basic(&s.client.client_id, &s.client.secret);
    let ok = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[("Authorization", &auth), ("X-Forwarded-For", "203.0.113.9")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
    let token = ok.json()["access_token"].as_str().unwrap().to_string();
    let outside = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[
            ("Authorization", &auth),
            ("X-Forwarded-For", "198.51.100.1"),
        ],
    )
    .await;
    assert_eq!(outside.status, 401);
    // Bearer use is checked against the allow-list too.
    let res = reqwest::Client::new()
        .get(s.app.url("/api/v1/whoami"))
        .bearer_auth(&token)
        .header("X-Forwarded-For", "198.51.100.1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = reqwest::Client::new()
        .get(s.app.url("/api/v1/whoami"))
        .bearer_auth(&token)
        .header("X-Forwarded-For", "203.0.113.10")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
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
async fn the_allow_list_rule_matches_addresses_and_blocks_and_refuses_bad_entries() {
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::schema::{credentials, ip_allowed};
    let s = setup().await;
    let mut conn = s.app.conn().await;
    let list: Vec<String> = ["203.0.113.7", "10.0.0.0/8", "2001:db8::/32"]
        .map(String::from)
        .to_vec();
    let check = async |conn: &mut m2m_console::db::DbConn, ip: Option<&str>, list: &[String]| {
        diesel::select(ip_allowed(ip, list))
            .get_result::<bool>(&mut **conn)
            .await
            .unwrap()
    };
    for ok in ["203.0.113.7", "10.200.1.1", "2001:db8::5"] {
        assert!(check(&mut conn, Some(ok), &list).await, "{ok}");
    }
    for no in ["203.0.113.8", "11.0.0.1", "2001:db9::1", "::ffff:10.0.0.1"] {
        assert!(!check(&mut conn, Some(no), &list).await, "{no}");
    }
    assert!(
        check(&mut conn, None, &[]).await,
        "an empty list allows anyone"
    );
    assert!(check(&mut conn, Some("198.51.100.1"), &[]).await);
    assert!(
        !check(&mut conn, None, &list).await,
        "an unknown address is not in a list"
    );

    // The rule casts the stored entries, so the database refuses any that would not cast.
    for bad in ["not-an-ip", "10.0.0.1/8"] {
        let stored = diesel::update(credentials::table.find(s.client.id))
            .set(credentials::allowed_ips.eq(vec![bad.to_string()]))
            .execute(&mut *conn)
            .await;
        assert!(stored.is_err(), "{bad} was stored");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_issuing_statement_is_prepared_once_per_connection() {
    // Written by hand (diesel has no data-modifying CTE), it must still be cached like the
    // DSL's statements: planning it on every request would cost the round trip it saves.
    use diesel::sql_types::BigInt;
    use diesel_async::RunQueryDsl;
    use m2m_console::db::models::issuance::{Presented, TokenRequest, issue_for_client};
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let s = setup().await;
    let mut conn = s.app.conn().await;
    for attempt in 0..3u8 {
        let request = TokenRequest {
            presented: Presented {
                client_id: "m2m_ci_nobody",
                secret_hash: &[attempt; 32],
                ip: Some("127.0.0.1"),
                now: s.app.clock.now(),
            },
            token_hash: &[attempt; 32],
            scopes: None,
        };
        assert!(
            issue_for_client(&mut conn, request)
                .await
                .unwrap()
                .is_none()
        );
    }
    let prepared: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_prepared_statements WHERE statement LIKE 'WITH c AS%'",
    )
    .get_result(&mut *conn)
    .await
    .unwrap();
    assert_eq!(prepared.n, 1);
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
async fn introspection_needs_a_client_of_the_same_organisation() {
    let mut s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let unauthenticated = post(&s.app, "/oauth/introspect", &format!("token={token}"), &[]).await;
    assert_eq!(unauthenticated.status, 401);

    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let resource_server = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let res = introspect(&s.app, &resource_server, &token).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    let body = res.json();
    assert_eq!(body["active"], true);
    assert_eq!(body["client_id"], s.client.client_id.as_str());
    assert_eq!(body["sub"], s.client.client_id.as_str());
    assert_eq!(body["scope"], "orders:read orders:write");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(
        body["exp"].as_i64().unwrap() - body["iat"].as_i64().unwrap(),
        3600
    );

    for junk in ["m2m_at_unknown", "", "x"] {
        let res = introspect(&s.app, &resource_server, junk).await;
        if junk.is_empty() {
            assert_eq!(res.status, 400);
        } else {
            assert_eq!(res.json(), serde_json::json!({ "active": false }));
        }
    }

    // Another organisation's client learns nothing.
    let outsider = s
        .app
        .create_user("Globex", "hank@globex.test", StaffRole::Admin)
        .await;
    let mut globex = s.app.client();
    globex
        .login(&outsider.email, crate::helpers::PASSWORD)
        .await;
    let globex_catalog = seed_catalog(&s.app, outsider.org_id).await;
    let (gid, gcid, gsk) =
        create_credential(&s.app, &mut globex, &valid_form(&globex_catalog)).await;
    let spy = Client {
        id: gid,
        client_id: gcid,
        secret: gsk,
    };
    assert_eq!(
        introspect(&s.app, &spy, &token).await.json(),
        serde_json::json!({ "active": false })
    );
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
async fn a_client_revokes_its_own_tokens_but_not_anothers() {
    let mut s = setup().await;
    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let other = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let mine = access_token(&s.app, &s.client).await;
    let theirs = access_token(&s.app, &other).await;
    let auth = basic(&s.client.client_id, &s.client.secret);

    let refused = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={theirs}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.json()["error"], "unauthorized_client");
    assert_eq!(whoami(&s.app, &theirs).await.status, 200, "still active");

    let ok = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={mine}&token_type_hint=access_token"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(ok.status, 200);
    assert_eq!(whoami(&s.app, &mine).await.status, 401);
    let again = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={mine}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(again.status, 200, "already revoked is fine");
    let unknown = post(
        &s.app,
        "/oauth/revoke",
        "token=m2m_at_nothing",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(unknown.status, 200);
    assert_eq!(
        post(&s.app, "/oauth/revoke", &format!("token={mine}"), &[])
            .await
            .status,
        401
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_metadata_describes_the_endpoints() {
    let app =
        TestApp::spawn_with(|s| s.public_url = "https://auth.example.com".parse().unwrap()).await;
    let res = reqwest::get(app.url("/.well-known/oauth-authorization-server"))
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["issuer"], "https://auth.example.com");
    assert_eq!(
        body["token_endpoint"],
        "https://auth.example.com/oauth/token"
    );
    assert_eq!(
        body["introspection_endpoint"],
        "https://auth.example.com/oauth/introspect"
    );
    assert_eq!(
        body["revocation_endpoint"],
        "https://auth.example.com/oauth/revoke"
    );
    assert_eq!(
        body["grant_types_supported"],
        serde_json::json!(["client_credentials"])
    );
    assert_eq!(
        body["token_endpoint_auth_methods_supported"],
        serde_json::json!(["client_secret_basic", "client_secret_post"])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn whoami_follows_rfc_6750() {
    let s = setup().await;
    let token = access_token(&s.app, &s.client).await;
    let http = reqwest::Client::new();

    let missing = answer(http.get(s.app.url("/api/v1/whoami")).send().await.unwrap()).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.header("www-authenticate"),
        Some("Bearer realm=\"m2m-console\"")
    );

    for header in ["Bearer", "Bearer ", "Bearer a b", "Bearer ünïcode"] {
        let res = answer(
            http.get(s.app.url("/api/v1/whoami"))
                .header("Authorization", header)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(res.status, 400, "{header}");
        assert!(
            res.header("www-authenticate")
                .unwrap()
                .contains("error=\"invalid_request\"")
        );
    }
    let in_query = answer(
        http.get(s.app.url(&format!("/api/v1/whoami?access_token={token}")))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(in_query.status, 400);
    let bogus = whoami(&s.app, "m2m_at_thisisnotatoken").await;
    assert_eq!(bogus.status, 401);
    assert!(
        bogus
            .header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\"")
    );
    assert_eq!(whoami(&s.app, &token).await.status, 200);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_are_throttled_without_slowing_healthy_clients() {
    let mut s = setup().await;
    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let healthy = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    let wrong = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: healthy.secret.clone(),
    };
    for _ in 0..20 {
        assert_eq!(token(&s.app, &wrong, "").await.status, 401);
    }
    let throttled = token(&s.app, &wrong, "").await;
    assert_eq!(throttled.status, 429);
    assert!(
        throttled
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert_eq!(token(&s.app, &healthy, "").await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_tokens_never_reach_the_logs() {
    let s = setup().await;
    let issued = access_token(&s.app, &s.client).await;
    whoami(&s.app, &issued).await;
    let wrong = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: format!("{}x", s.client.secret),
    };
    assert_eq!(token(&s.app, &wrong, "").await.status, 401);
    let logs = captured_logs();
    assert!(logs.contains("client authentication failed"));
    assert!(!logs.contains(&wrong.secret[..40]));
    assert!(!logs.contains(&issued));
    assert!(!logs.contains(&s.client.secret));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_lists_generates_and_revokes_tokens() {
    let mut s = setup().await;
    let issued = access_token(&s.app, &s.client).await;
    let detail = s.admin.get(&format!("{BASE}/{}", s.client.id)).await;
    assert!(detail.body.contains("data-testid=\"token-row\""));
    assert!(detail.body.contains("127.0.0.1"));
    assert!(!detail.body.contains(&issued));

    let page = s
        .admin
        .hx_post(&format!("{BASE}/{}/token", s.client.id), &[])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    let generated = crate::fixtures::testid_text(&page.body, "access-token").unwrap();
    assert_eq!(whoami(&s.app, &generated).await.status, 200);

    let live = m2m_console::db::models::access_token::list_live(
        &mut *s.app.conn().await,
        s.client.id,
        s.app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(live.len(), 2);
    let res = s
        .admin
        .hx_post(
            &format!("{BASE}/{}/tokens/{}/revoke", s.client.id, live[0].id),
            &[],
        )
        .await;
    assert_eq!(res.status, 200);
    assert!(res.body.contains("Token revoked."));
    assert_eq!(
        whoami(&s.app, &generated).await.status,
        401,
        "the newest was revoked"
    );
    assert_eq!(whoami(&s.app, &issued).await.status, 200);
    let res = s
        .admin
        .post_form(&format!("{BASE}/{}/tokens/revoke", s.client.id), &[])
        .await;
    assert_eq!(res.status, 303);
    assert_eq!(whoami(&s.app, &issued).await.status, 401);

    let (_, mut viewer) = s.app.login_as(StaffRole::Viewer).await;
    assert_eq!(
        viewer
            .post_form(&format!("{BASE}/{}/token", s.client.id), &[])
            .await
            .status,
        403
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
