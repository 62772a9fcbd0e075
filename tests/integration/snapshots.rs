//! Snapshots of what clients and people receive: every OAuth JSON body and error (status,
//! the headers a client acts on, the body), and the console's key fragments (a list row, the
//! one-time reveal, the confirmations). Identifiers, times, the server's address, CSRF values,
//! secrets and tokens are redacted; everything else must stay as it is unless a change means
//! it to (then review and accept the new snapshot: `INSTA_UPDATE=always cargo test`).

use serde_json::{Value, json};

use crate::fixtures::{
    Answer, Client, Setup, access_token, basic, create_via_htmx, introspect, post, setup,
    valid_form, whoami,
};
use crate::helpers::TestApp;

const M2M: &str = "/settings/integrations/machine-to-machine";

/// What replaces each identifier, time or secret in a snapshot.
fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"m2m_ci_[A-Za-z0-9_]+", "[client_id]"),
        (r"m2m_sk_[A-Za-z0-9]+", "[client_secret]"),
        (r"m2m_at_[A-Za-z0-9]+", "[access_token]"),
        (
            r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "[uuid]",
        ),
        (r"[0-9a-f]{32}", "[hex]"),
        (
            r#"name="csrf_token" value="[^"]*""#,
            r#"name="csrf_token" value="[csrf]""#,
        ),
        (
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2})?(\.\d+)?( UTC|Z|\+00:00)?",
            "[time]",
        ),
        // A time in words, as the rotate dialog states an overlap's end.
        (
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{1,2} [A-Z][a-z]{2} \d{2}:\d{2} UTC",
            "[time]",
        ),
        (r"http://127\.0\.0\.1:\d+", "[server]"),
        (r#""(exp|iat)": \d+"#, r#""$1": "[unix time]""#),
        (
            r#""expires_in": 3\d\d\d"#,
            r#""expires_in": "[about 3600]""#,
        ),
    ]
}

/// The parts of an OAuth answer a client acts on.
fn seen(answer: &Answer) -> Value {
    let header = |name: &str| answer.header(name).map(str::to_string);
    json!({
        "status": answer.status,
        "cache-control": header("cache-control"),
        "www-authenticate": header("www-authenticate"),
        "retry-after": header("retry-after"),
        "body": answer.json(),
    })
}

fn snapshot_json(name: &str, value: &Value) {
    insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, serde_json::to_string_pretty(value).unwrap_or_default());
    });
}

fn snapshot_html(name: &str, html: &str) {
    insta::with_settings!({ filters => filters(), prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, html.trim());
    });
}

/// The first element starting with `open` up to and including its `close`.
fn element<'a>(html: &'a str, open: &str, close: &str) -> &'a str {
    let start = html
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in {html}"));
    let end = html[start..].find(close).unwrap() + start + close.len();
    &html[start..end]
}

async fn token_with(s: &Setup, body: &str, headers: &[(&str, &str)]) -> Answer {
    post(&s.app, "/oauth/token", body, headers).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_answers() {
    let s = setup().await;
    let right = basic(&s.client.client_id, &s.client.secret);
    let wrong = basic(&s.client.client_id, "m2m_sk_wrong");
    let grant = "grant_type=client_credentials";
    let cases = [
        (
            "token_issued",
            token_with(&s, grant, &[("Authorization", &right)]).await,
        ),
        (
            "token_issued_for_a_scope",
            token_with(
                &s,
                &format!("{grant}&scope=orders:read"),
                &[("Authorization", &right)],
            )
            .await,
        ),
        (
            "token_invalid_client_basic",
            token_with(&s, grant, &[("Authorization", &wrong)]).await,
        ),
        (
            "token_invalid_client_body",
            token_with(
                &s,
                &format!("{grant}&client_id=m2m_ci_nobody&client_secret=x"),
                &[],
            )
            .await,
        ),
        ("token_no_client", token_with(&s, grant, &[]).await),
        (
            "token_no_grant_type",
            token_with(&s, "", &[("Authorization", &right)]).await,
        ),
        (
            "token_unsupported_grant_type",
            token_with(&s, "grant_type=password", &[("Authorization", &right)]).await,
        ),
        (
            "token_invalid_scope",
            token_with(
                &s,
                &format!("{grant}&scope=admin"),
                &[("Authorization", &right)],
            )
            .await,
        ),
        (
            "token_parameter_twice",
            token_with(
                &s,
                &format!("{grant}&{grant}"),
                &[("Authorization", &right)],
            )
            .await,
        ),
        (
            "token_body_too_large",
            token_with(&s, &format!("{grant}&pad={}", "x".repeat(20_000)), &[]).await,
        ),
    ];
    for (name, answer) in &cases {
        snapshot_json(name, &seen(answer));
    }
    for _ in 0..20 {
        token_with(&s, grant, &[("Authorization", &wrong)]).await;
    }
    let throttled = token_with(&s, grant, &[("Authorization", &wrong)]).await;
    let mut throttled = seen(&throttled);
    throttled["retry-after"] = json!("[seconds]");
    snapshot_json("token_throttled", &throttled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_revocation_whoami_and_metadata_answers() {
    let mut s = setup().await;
    let (id, client_id, secret) =
        crate::fixtures::create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    let other = Client {
        id,
        client_id,
        secret,
    };
    let token = access_token(&s.app, &s.client).await;
    let theirs = access_token(&s.app, &other).await;
    snapshot_json(
        "introspect_active",
        &seen(&introspect(&s.app, &other, &token).await),
    );
    snapshot_json(
        "introspect_unknown",
        &seen(&introspect(&s.app, &other, "m2m_at_unknown").await),
    );
    let auth = basic(&s.client.client_id, &s.client.secret);
    let refused = post(
        &s.app,
        "/oauth/revoke",
        &format!("token={theirs}"),
        &[("Authorization", &auth)],
    )
    .await;
    snapshot_json("revoke_another_clients_token", &seen(&refused));
    snapshot_json("whoami_ok", &seen(&whoami(&s.app, &token).await));
    snapshot_json(
        "whoami_invalid_token",
        &seen(&whoami(&s.app, "m2m_at_unknown").await),
    );
    let metadata = get(&s.app, "/.well-known/oauth-authorization-server").await;
    snapshot_json("server_metadata", &seen(&metadata));
}

async fn get(app: &TestApp, path: &str) -> Answer {
    let res = reqwest::get(app.url(path)).await.unwrap();
    crate::fixtures::answer(res).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_fragments() {
    let mut s = setup().await;
    let created = create_via_htmx(&mut s.admin, &valid_form(&s.catalog)).await;
    snapshot_html(
        "console_secret_reveal",
        element(&created.body, "<dialog", "</dialog>"),
    );
    let list = s.admin.hx_get(M2M).await;
    snapshot_html(
        "console_list_row",
        element(&list.body, "<tr data-testid=\"credential-row\"", "</tr>"),
    );
    for action in ["rotate", "revoke", "delete"] {
        let dialog = s
            .admin
            .hx_get(&format!("{M2M}/{}/{action}", s.client.id))
            .await;
        snapshot_html(
            &format!("console_confirm_{action}"),
            element(&dialog.body, "<dialog", "</dialog>"),
        );
    }
}
