//! Every operation, idempotent retries, ETag/If-Match.

use serde_json::{Value, json};

use super::*;
use crate::fixtures::*;

#[tokio::test]
async fn a_credential_created_through_the_api_shows_its_secret_once_and_works() {
    let a = api().await;
    let res = a
        .call(
            "POST",
            "/api/v1/credentials",
            Some(new_credential_json(&a.s.catalog, "Billing sync")),
        )
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.header("cache-control"), Some("no-store"));
    assert!(res.header("etag").is_some());
    let body = res.json();
    let id = body["credential"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        res.header("location"),
        Some(format!("/api/v1/credentials/{id}").as_str())
    );
    let client = Client {
        id: id.parse().unwrap(),
        client_id: body["credential"]["client_id"].as_str().unwrap().into(),
        secret: body["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(token(&a.s.app, &client, "").await.status, 200);
    let read = a
        .call("GET", &format!("/api/v1/credentials/{id}"), None)
        .await;
    assert_eq!(read.status, 200);
    assert!(
        !read.text.contains(&client.secret),
        "a read never shows the secret"
    );
    assert_eq!(
        read.json()["secret"]["last_four"].as_str().unwrap().len(),
        4
    );
}

#[tokio::test]
async fn a_create_retried_with_its_idempotency_key_is_answered_again_without_the_secret() {
    let a = api().await;
    let body = new_credential_json(&a.s.catalog, "Retried");
    let key = [("Idempotency-Key", "create-7f3c")];
    let first = a
        .call_with("POST", "/api/v1/credentials", Some(body.clone()), &key)
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let secret = first.json()["client_secret"].as_str().unwrap().to_string();
    let again = a
        .call_with("POST", "/api/v1/credentials", Some(body.clone()), &key)
        .await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.json()["client_secret"], Value::Null);
    assert_eq!(again.json()["secret_already_shown"], true);
    assert!(!again.text.contains(&secret));
    assert_eq!(
        again.json()["credential"]["id"],
        first.json()["credential"]["id"]
    );
    let list = a.call("GET", "/api/v1/credentials", None).await;
    assert_eq!(credentials_count(&list), 3, "one created, not two");

    let mut other = body;
    other["name"] = json!("Another");
    let reused = a
        .call_with("POST", "/api/v1/credentials", Some(other), &key)
        .await;
    assert_eq!(reused.status, 422, "{}", reused.text);
    assert_eq!(
        reused.json()["type"],
        "/api/v1/docs#problem-idempotency-key-reused"
    );
}

#[tokio::test]
async fn concurrent_retries_with_one_key_create_one_credential() {
    let a = api().await;
    let body = new_credential_json(&a.s.catalog, "Raced");
    let key = [("Idempotency-Key", "raced-1")];
    let calls =
        (0..4).map(|_| a.call_with("POST", "/api/v1/credentials", Some(body.clone()), &key));
    let answers = futures::future::join_all(calls).await;
    let secrets = answers
        .iter()
        .filter(|r| r.json()["client_secret"].is_string())
        .count();
    assert!(
        answers.iter().all(|r| r.status == 201),
        "{:?}",
        answers.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    assert_eq!(secrets, 1, "the secret is revealed to exactly one of them");
    assert_eq!(
        credentials_count(&a.call("GET", "/api/v1/credentials", None).await),
        3
    );
}

#[tokio::test]
async fn a_rotation_with_an_overlap_keeps_the_old_secret_until_it_is_retired() {
    let a = api().await;
    let path = format!("/api/v1/credentials/{}/rotate", a.s.client.id);
    let key = [("Idempotency-Key", "rotate-1")];
    let res = a
        .call_with("POST", &path, Some(json!({ "overlap": "24h" })), &key)
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.json()["previous_secret_retires_at"].is_string());
    let new = Client {
        id: a.s.client.id,
        client_id: a.s.client.client_id.clone(),
        secret: res.json()["client_secret"].as_str().unwrap().into(),
    };
    assert_eq!(
        token(&a.s.app, &a.s.client, "").await.status,
        200,
        "old secret in overlap"
    );
    assert_eq!(token(&a.s.app, &new, "").await.status, 200);
    // A retry rotates nothing and shows no secret.
    let again = a
        .call_with("POST", &path, Some(json!({ "overlap": "24h" })), &key)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["client_secret"], Value::Null);
    assert_eq!(
        token(&a.s.app, &new, "").await.status,
        200,
        "still the secret of the one rotation"
    );
    let view = a
        .call(
            "GET",
            &format!("/api/v1/credentials/{}", a.s.client.id),
            None,
        )
        .await;
    assert!(
        view.json()["previous_secret"]["retires_at"].is_string(),
        "{}",
        view.text
    );

    let retire = format!(
        "/api/v1/credentials/{}/retire-previous-secret",
        a.s.client.id
    );
    assert_eq!(a.call("POST", &retire, None).await.status, 200);
    assert_eq!(token(&a.s.app, &a.s.client, "").await.status, 401);
    assert_eq!(token(&a.s.app, &new, "").await.status, 200);
    let bad = a
        .call("POST", &path, Some(json!({ "overlap": "forever" })))
        .await;
    assert_eq!(bad.status, 422);
    assert!(
        bad.json()["detail"]
            .as_str()
            .unwrap()
            .contains("expected one of `now`, `1h`, `24h`, `7d`"),
        "{}",
        bad.text
    );
}

#[tokio::test]
async fn if_match_refuses_an_edit_based_on_a_stale_read() {
    let a = api().await;
    let path = format!("/api/v1/credentials/{}", a.s.client.id);
    let read = a.call("GET", &path, None).await;
    let etag = read.header("etag").unwrap().to_string();
    let first = a
        .call_with(
            "PATCH",
            &path,
            Some(json!({ "name": "Renamed by A" })),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_ne!(first.header("etag"), Some(etag.as_str()));
    assert_eq!(first.json()["name"], "Renamed by A");
    assert_eq!(
        first.json()["description"],
        "Nightly stock export",
        "a partial edit keeps the rest"
    );
    let second = a
        .call_with(
            "PATCH",
            &path,
            Some(json!({ "name": "Renamed by B" })),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(second.status, 412, "{}", second.text);
    assert_eq!(
        second.json()["type"],
        "/api/v1/docs#problem-precondition-failed"
    );
    let disable = format!("{path}/disable");
    assert_eq!(
        a.call_with("POST", &disable, None, &[("If-Match", &etag)])
            .await
            .status,
        412
    );
    assert_eq!(
        a.call("GET", &path, None).await.json()["name"],
        "Renamed by A"
    );
}

#[tokio::test]
async fn disable_enable_revoke_and_delete_take_effect_on_the_next_token_request() {
    let a = api().await;
    let base = format!("/api/v1/credentials/{}", a.s.client.id);
    let disabled = a
        .call("POST", &format!("{base}/disable"), Some(json!({})))
        .await;
    assert_eq!(disabled.json()["status"], "disabled", "{}", disabled.text);
    assert_eq!(token(&a.s.app, &a.s.client, "").await.status, 401);
    assert_eq!(
        a.call("POST", &format!("{base}/enable"), None).await.json()["status"],
        "active"
    );
    let live = access_token(&a.s.app, &a.s.client).await;
    let tokens = a.call("GET", &format!("{base}/tokens"), None).await;
    assert_eq!(
        tokens.json()["items"].as_array().unwrap().len(),
        1,
        "{}",
        tokens.text
    );
    assert!(!tokens.text.contains(&live));
    let revoked = a.call("POST", &format!("{base}/tokens/revoke"), None).await;
    assert_eq!(revoked.json()["revoked"], 1, "{}", revoked.text);
    assert_eq!(whoami(&a.s.app, &live).await.status, 401);
    assert_eq!(
        a.call("POST", &format!("{base}/revoke"), None).await.json()["status"],
        "revoked"
    );
    assert_eq!(
        a.call("POST", &format!("{base}/rotate"), None).await.status,
        409
    );
    assert_eq!(a.call("DELETE", &base, None).await.status, 204);
    assert_eq!(a.call("GET", &base, None).await.status, 404);
    let usage = a
        .call(
            "GET",
            &format!("/api/v1/credentials/{}/usage", a.manager.id),
            None,
        )
        .await;
    assert_eq!(
        usage.json()["hours"].as_array().unwrap().len(),
        24,
        "{}",
        usage.text
    );
}

#[tokio::test]
async fn the_catalog_roles_and_audit_log_are_readable_and_the_log_pages_by_cursor() {
    let a = api().await;
    assert_eq!(
        a.call("GET", "/api/v1/apis", None).await.json()["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let roles = a.call("GET", "/api/v1/roles", None).await;
    assert_eq!(roles.json()["items"][1]["name"], "Orders", "{}", roles.text);
    for name in ["One", "Two", "Three"] {
        let path = format!("/api/v1/credentials/{}", a.s.client.id);
        assert_eq!(
            a.call("PATCH", &path, Some(json!({ "name": name })))
                .await
                .status,
            200
        );
    }
    let mut seen = Vec::new();
    let mut path = "/api/v1/audit-events?action=credential.updated&limit=2".to_string();
    loop {
        let page = a.call("GET", &path, None).await;
        assert_eq!(page.status, 200, "{}", page.text);
        for item in page.json()["items"].as_array().unwrap() {
            assert_eq!(item["actor"]["client_id"], a.manager.client_id.as_str());
            seen.push(
                item["details"]["after"]["name"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        match page.json()["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!(
                    "/api/v1/audit-events?action=credential.updated&limit=2&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    assert_eq!(seen, ["Three", "Two", "One"]);
    let bad = a
        .call("GET", "/api/v1/audit-events?cursor=nonsense", None)
        .await;
    assert_eq!(bad.status, 400);
    let typo = a.call("GET", "/api/v1/audit-events?actr=x", None).await;
    assert_eq!(typo.status, 400);
}
