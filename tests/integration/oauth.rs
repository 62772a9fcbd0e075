//! The machine side's front door: client authentication at /oauth/token, every malformed
//! or adversarial request an authorization server must survive, the allow-list and the
//! throttle, and what never reaches the logs.

use base64::Engine;
use chrono::Duration;
use m2m_console::db::models::credential::Credential;

use crate::fixtures::{
    Client, access_token, answer, basic, create_credential, post, setup, setup_on, setup_with,
    token, valid_form, whoami,
};
use crate::helpers::{TestApp, captured_logs};

const BASE: &str = "/settings/integrations/machine-to-machine";

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

    // Usage is recorded on the credential, by the usage flush.
    s.app.flush_usage().await;
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
