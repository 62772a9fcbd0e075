//! The OAuth endpoints as an attacker tries them: malformed client IDs, lock-outs through a
//! public client ID, protocol corners, and pushed-out tokens that must stay out.

use base64::Engine;

use crate::fixtures::{
    Answer, Client, access_token, basic, create_credential, introspect, post, setup, setup_on,
    token, valid_form, whoami,
};
use crate::helpers::{TestApp, captured_logs};

/// Every `error` code a client of these endpoints may see: RFC 6749 §5.2, RFC 7009's one
/// addition, and `slow_down`, which the IANA OAuth Extensions Error registry lists for the
/// token endpoint (RFC 8628).
const REGISTERED: [&str; 8] = [
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
    "unsupported_token_type",
    "slow_down",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_multibyte_client_id_neither_panics_nor_turns_the_throttle_off() {
    let s = setup().await;
    let hostile = format!("{}é", "a".repeat(127));
    for body in [
        format!("grant_type=client_credentials&client_id={hostile}&client_secret=x"),
        format!("grant_type=client_credentials&client_id=m2m_ci_{hostile}&client_secret=x"),
    ] {
        let res = post(&s.app, "/oauth/token", &body, &[]).await;
        assert_eq!(res.status, 401, "{}", res.text);
        assert_eq!(res.json()["error"], "invalid_client");
    }
    let auth = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{hostile}:secret"))
    );
    let res = post(
        &s.app,
        "/oauth/introspect",
        "token=x",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(res.status, 401);
    // The throttle still works afterwards.
    let wrong = Client {
        id: s.client.id,
        client_id: s.client.client_id.clone(),
        secret: m2m_console::tokens::generate(m2m_console::tokens::Kind::ClientSecret)
            .unwrap()
            .expose()
            .to_string(),
    };
    for _ in 0..20 {
        token(&s.app, &wrong, "").await;
    }
    assert_eq!(token(&s.app, &wrong, "").await.status, 429);
    // The server's code lives under src/; a failing test elsewhere panics under tests/.
    assert!(!captured_logs().contains("panicked at src/"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_from_other_addresses_never_refuse_the_right_secret() {
    let app =
        TestApp::spawn_with(|s| s.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()]).await;
    let s = setup_on(app, |f| f).await;
    let wrong = basic(&s.client.client_id, "m2m_sk_wrong");
    for i in 0..66 {
        let ip = format!("198.51.100.{}", i % 3);
        let res = post(
            &s.app,
            "/oauth/token",
            "grant_type=client_credentials",
            &[("Authorization", &wrong), ("X-Forwarded-For", &ip)],
        )
        .await;
        assert!([401, 429].contains(&res.status));
    }
    let throttled = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[
            ("Authorization", &wrong),
            ("X-Forwarded-For", "198.51.100.0"),
        ],
    )
    .await;
    assert_eq!(throttled.status, 429, "the failing address is slowed");

    let right = basic(&s.client.client_id, &s.client.secret);
    let from_home = [
        ("Authorization", right.as_str()),
        ("X-Forwarded-For", "203.0.113.5"),
    ];
    let issued = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &from_home,
    )
    .await;
    assert_eq!(issued.status, 200, "{}", issued.text);
    let access = issued.json()["access_token"].as_str().unwrap().to_string();
    let inspected = post(
        &s.app,
        "/oauth/introspect",
        &format!("token={access}"),
        &from_home,
    )
    .await;
    assert_eq!(inspected.json()["active"], true);
    let revoked = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={access}"),
        &from_home,
    )
    .await;
    assert_eq!(revoked.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_corners_get_json_answers_with_registered_codes() {
    let s = setup().await;
    let right = basic(&s.client.client_id, &s.client.secret);
    let mut answers: Vec<(&str, Answer)> = Vec::new();

    let big = format!("grant_type=client_credentials&pad={}", "x".repeat(100_000));
    for path in ["/oauth/token", "/oauth/introspect", "/oauth/revoke"] {
        let res = post(&s.app, path, &big, &[("Authorization", &right)]).await;
        assert_eq!(res.status, 413, "{path}");
        assert!(
            res.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{path}: {}",
            res.text
        );
        assert_eq!(res.json()["error"], "invalid_request");
        answers.push(("413", res));
    }

    let two = reqwest::Client::new()
        .post(s.app.url("/oauth/token"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header("Authorization", &right)
        .header("Authorization", &right)
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(two.status(), 400);
    let two: serde_json::Value = two.json().await.unwrap();
    assert_eq!(two["error"], "invalid_request");

    // RFC 7617 asks for padding; clients that leave it off are still understood. Percent-
    // encoding one `_` changes the length until the encoding needs padding.
    let mut id = s.client.client_id.clone();
    let mut encoded;
    loop {
        encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{}", s.client.secret));
        if encoded.ends_with('=') {
            break;
        }
        id = id.replacen('_', "%5F", 1);
    }
    let unpadded = format!("Basic {}", encoded.trim_end_matches('='));
    let res = post(
        &s.app,
        "/oauth/token",
        "grant_type=client_credentials",
        &[("Authorization", &unpadded)],
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);

    for (what, body, headers) in [
        ("no grant", "", vec![("Authorization", right.as_str())]),
        (
            "other grant",
            "grant_type=password",
            vec![("Authorization", right.as_str())],
        ),
        (
            "bad scope",
            "grant_type=client_credentials&scope=admin",
            vec![("Authorization", right.as_str())],
        ),
        ("no client", "grant_type=client_credentials", vec![]),
        (
            "NUL",
            "grant_type=client_credentials&client_id=m2m_ci_a%00&client_secret=x",
            vec![],
        ),
    ] {
        answers.push((what, post(&s.app, "/oauth/token", body, &headers).await));
    }
    let wrong = basic(&s.client.client_id, "m2m_sk_wrong");
    for _ in 0..21 {
        let res = post(
            &s.app,
            "/oauth/token",
            "grant_type=client_credentials",
            &[("Authorization", &wrong)],
        )
        .await;
        answers.push(("throttle", res));
    }
    let throttled = answers.last().unwrap();
    assert_eq!(throttled.1.status, 429);
    assert!(throttled.1.header("retry-after").is_some());
    for (what, answer) in &answers {
        let code = answer.json()["error"].as_str().unwrap_or("").to_string();
        assert!(
            REGISTERED.contains(&code.as_str()),
            "{what}: {} {}",
            answer.status,
            answer.text
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_out_token_stays_out_when_a_newer_one_is_revoked() {
    let mut s = setup().await;
    let mut tokens = Vec::new();
    for _ in 0..11 {
        tokens.push(access_token(&s.app, &s.client).await);
    }
    let (id, cid, sk) = create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let resource_server = Client {
        id,
        client_id: cid,
        secret: sk,
    };
    assert_eq!(whoami(&s.app, &tokens[0]).await.status, 401, "pushed out");
    let newest = tokens.last().unwrap();
    let auth = basic(&s.client.client_id, &s.client.secret);
    let res = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={newest}"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(whoami(&s.app, &tokens[0]).await.status, 401, "still out");
    assert_eq!(
        introspect(&s.app, &resource_server, &tokens[0])
            .await
            .json()["active"],
        false
    );
    for t in &tokens[1..10] {
        assert_eq!(whoami(&s.app, t).await.status, 200);
    }
    let live = m2m_console::db::models::access_token::list_live(
        &mut *s.app.conn().await,
        s.client.id,
        s.app.clock.now(),
    )
    .await
    .unwrap();
    assert_eq!(live.len(), 9, "the console lists the nine that still work");
}
