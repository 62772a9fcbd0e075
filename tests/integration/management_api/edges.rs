//! Rate limits, problem documents, the OpenAPI document and reference, and webhooks of
//! changes made through the API.

use m2m_console::db::models::user::StaffRole;
use serde_json::{Value, json};

use super::*;
use crate::fixtures::*;
use crate::helpers::TestApp;

#[tokio::test]
async fn callers_get_rate_limit_headers_and_a_429_beyond_their_allowance() {
    let app = TestApp::spawn_with(|s| s.api_rate_limit = 3).await;
    let a = api_on(app).await;
    for left in [2, 1, 0] {
        let res = a.call("GET", "/api/v1/apis", None).await;
        assert_eq!(res.status, 200);
        assert_eq!(
            res.header("ratelimit-policy"),
            Some("\"per-credential\";q=3;w=60")
        );
        assert!(
            res.header("ratelimit")
                .unwrap()
                .starts_with(&format!("\"per-credential\";r={left};t="))
        );
    }
    let refused = a.call("GET", "/api/v1/apis", None).await;
    assert_eq!(refused.status, 429);
    assert!(
        refused
            .header("retry-after")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            <= 60
    );
    assert_eq!(refused.json()["type"], "/api/v1/docs#problem-rate-limited");
}

#[tokio::test]
async fn bad_requests_get_problem_documents_never_a_500() {
    let a = api().await;
    let app = &a.s.app;
    let none = reqwest::Client::new()
        .get(app.url("/api/v1/credentials"))
        .send()
        .await
        .unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().get("www-authenticate").is_some());
    assert_eq!(none.headers()["content-type"], "application/problem+json");
    let raw = |body: &'static str, content_type: &'static str| {
        reqwest::Client::new()
            .post(app.url("/api/v1/credentials"))
            .bearer_auth(&a.token)
            .header("Content-Type", content_type)
            .body(body)
    };
    for (body, content_type, status) in [
        ("{not json", "application/json", 422),
        ("{\"name\":\"x\",\"bogus\":1}", "application/json", 422),
        ("name=x", "application/x-www-form-urlencoded", 415),
        ("", "application/json", 400),
    ] {
        let res = answer(raw(body, content_type).send().await.unwrap()).await;
        assert_eq!(res.status, status, "{body}: {}", res.text);
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
        assert!(
            res.json()["type"]
                .as_str()
                .unwrap()
                .starts_with("/api/v1/docs#problem-")
        );
    }
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(70_000));
    let res = answer(
        reqwest::Client::new()
            .post(app.url("/api/v1/credentials"))
            .bearer_auth(&a.token)
            .header("Content-Type", "application/json")
            .body(huge)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(res.status, 413);
    let res = a.call("PUT", "/api/v1/credentials", None).await;
    assert_eq!(res.status, 405);
    assert_eq!(res.header("allow"), Some("GET, POST"));
    let invalid = a.call("POST", "/api/v1/credentials", Some(json!({
        "name": "", "owner_email": "nope", "role_id": a.s.catalog.role.to_string(), "access_level": "full",
        "allowed_ips": ["300.1.1.1"]
    }))).await;
    assert_eq!(invalid.status, 422, "{}", invalid.text);
    let errors = invalid.json()["errors"].clone();
    for field in ["name", "owner_email", "allowed_ips"] {
        assert!(
            errors
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{errors}"
        );
    }
    let bad_key = a
        .call_with(
            "POST",
            "/api/v1/credentials",
            Some(new_credential_json(&a.s.catalog, "Keyed")),
            &[("Idempotency-Key", "with spaces in it")],
        )
        .await;
    assert_eq!(bad_key.status, 400, "{}", bad_key.text);
}

#[tokio::test]
async fn the_openapi_document_names_every_operation_and_scope_and_the_reference_renders_it() {
    let app = TestApp::spawn().await;
    let doc = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(doc.status(), 200);
    let doc: Value = doc.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/v1/credentials",
        "/api/v1/credentials/{id}",
        "/api/v1/credentials/{id}/rotate",
        "/api/v1/credentials/{id}/retire-previous-secret",
        "/api/v1/credentials/{id}/disable",
        "/api/v1/credentials/{id}/enable",
        "/api/v1/credentials/{id}/revoke",
        "/api/v1/credentials/{id}/tokens",
        "/api/v1/credentials/{id}/tokens/revoke",
        "/api/v1/credentials/{id}/tokens/{token_id}/revoke",
        "/api/v1/credentials/{id}/usage",
        "/api/v1/apis",
        "/api/v1/roles",
        "/api/v1/audit-events",
    ] {
        assert!(paths.contains_key(path), "{path} missing");
    }
    let scopes =
        &doc["components"]["securitySchemes"]["bearer"]["flows"]["clientCredentials"]["scopes"];
    for scope in ALL {
        assert!(scopes.get(scope).is_some(), "{scope}: {scopes}");
    }
    // Every reference resolves (the problem schema included).
    fn refs(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut all = Vec::new();
    refs(&doc, &mut all);
    assert!(all.contains(&"#/components/schemas/Problem".to_string()));
    for r in all {
        let name = r.trim_start_matches("#/components/schemas/");
        assert!(
            doc["components"]["schemas"].get(name).is_some(),
            "{r} dangles"
        );
    }
    let page = reqwest::get(app.url("/api/v1/docs")).await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(
        page.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    let html = page.text().await.unwrap();
    assert!(html.contains("id=\"problem-precondition-failed\""));
    assert!(html.contains("/api/v1/credentials/{id}/rotate"));
    assert!(!html.contains("<script>") && !html.contains("style=\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_through_the_api_reaches_webhooks_with_the_calling_credential_as_actor() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (_, mut owner) = app.login_as(StaffRole::SuperAdmin).await;
    let receiver = crate::webhook_receiver::Receiver::start();
    let (_, secret) =
        register_webhook(&app, &mut owner, &receiver.url(), &["credential.disabled"]).await;
    let a = api_on(app).await;
    let path = format!("/api/v1/credentials/{}/disable", a.s.client.id);
    assert_eq!(a.call("POST", &path, None).await.status, 200);
    let received = receiver.settled(1).await;
    assert_eq!(received.len(), 1);
    crate::webhook_receiver::verify(&secret, &received[0]);
    let body = received[0].json();
    assert_eq!(body["type"], "credential.disabled");
    assert_eq!(
        body["data"]["actor"],
        json!({ "type": "credential", "client_id": a.manager.client_id })
    );
}

/// Found by Schemathesis: a NUL in an unknown scope was quoted into the 422, and keeping that
/// answer for the Idempotency-Key (PostgreSQL jsonb holds no NUL) turned it into a 500.
#[tokio::test]
async fn an_answer_quoting_control_characters_is_kept_for_its_idempotency_key() {
    let a = api().await;
    let body = json!({
        "name": "Orders sync",
        "owner_email": "ops@acme.test",
        "role_id": a.s.catalog.role.to_string(),
        "access_level": "full",
        "management_scopes": ["m2m.x\u{0}y\u{1b}[2J"],
        "allowed_ips": ["10.0.0.1\u{0}"],
    });
    let key = [("Idempotency-Key", "control-characters-0001")];
    let first = a
        .call_with("POST", "/api/v1/credentials", Some(body.clone()), &key)
        .await;
    assert_eq!(first.status, 422, "{}", first.text);
    assert!(!first.text.contains("\\u0000") && !first.text.contains("\\u001b"));
    assert!(
        first.text.contains("m2m.x\\\\u{0}y\\\\u{1b}[2J"),
        "{}",
        first.text
    );
    let again = a
        .call_with("POST", "/api/v1/credentials", Some(body), &key)
        .await;
    assert_eq!((again.status, again.json()), (422, first.json()));
}

/// An address under the API that names no operation is a 404 problem for every method, with
/// or without a token: it used to fall through to the console, where a POST met the CSRF
/// check (403, no body) and a GET the sign-in redirect.
#[tokio::test]
async fn unknown_api_paths_are_404_problem_documents_for_every_method() {
    let a = api().await;
    let app = &a.s.app;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for method in ["GET", "POST", "PUT", "DELETE"] {
        for path in [
            "/api/v1/nothing-here",
            "/api/v1/credentials/x/y/z",
            "/api/v1/",
        ] {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            let res = client
                .request(method.clone(), app.url(path))
                .bearer_auth(&a.token)
                .header("Content-Type", "application/json")
                .body("{}")
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 404, "{method} {path}");
            assert_eq!(res.headers()["content-type"], "application/problem+json");
            let body: Value = res.json().await.unwrap();
            assert_eq!(
                body["type"], "/api/v1/docs#problem-not-found",
                "{method} {path}"
            );
        }
    }
    // The operations themselves still answer.
    assert_eq!(a.call("GET", "/api/v1/apis", None).await.status, 200);
}

/// serde reads a struct from a JSON array as well as from an object: `[null]` sent to rotate
/// was taken as `{"overlap": null}` and rotated the secret (Schemathesis found it once it
/// fuzzed a real credential). Every body of the API is an object; anything else is a 422.
#[tokio::test]
async fn a_body_that_is_not_a_json_object_is_refused_and_changes_nothing() {
    let a = api().await;
    let base = format!("/api/v1/credentials/{}", a.s.client.id);
    let before = a.call("GET", &base, None).await.json();
    for (method, path, body) in [
        ("POST", format!("{base}/rotate"), json!([null])),
        ("POST", format!("{base}/disable"), json!([])),
        ("PATCH", base.clone(), json!(["Renamed"])),
        (
            "POST",
            "/api/v1/credentials".to_string(),
            json!(["Orders sync"]),
        ),
        (
            "POST",
            format!("{base}/keys"),
            json!(["-----BEGIN PUBLIC KEY-----"]),
        ),
        ("POST", format!("{base}/rotate"), json!("now")),
    ] {
        let answer = a.call(method, &path, Some(body.clone())).await;
        assert_eq!(
            answer.status, 422,
            "{method} {path} {body}: {}",
            answer.text
        );
        assert!(
            answer.text.contains("send a JSON object"),
            "{}",
            answer.text
        );
    }
    let after = a.call("GET", &base, None).await.json();
    assert_eq!(
        after, before,
        "not rotated, disabled, renamed or given a key"
    );
    assert!(after["name"].is_string() && after["disabled_at"].is_null());
    // An object still works, and an empty body still means "no options".
    let rotated = a
        .call("POST", &format!("{base}/rotate"), Some(json!({})))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
}
