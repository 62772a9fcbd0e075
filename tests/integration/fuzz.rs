//! Random input into every console form field, audit filter and OAuth parameter: random
//! Unicode, control characters and 100 KB strings. Whatever arrives, the server answers
//! with a status below 500 on a connection that stays up, and nothing panics.

use m2m_console::db::models::user::StaffRole;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use crate::fixtures::{basic, create_credential, seed_catalog, valid_form};
use crate::helpers::{Browser, TestApp, captured_logs};

const BASE: &str = "/settings/integrations/machine-to-machine";
const MAX_QUERY_CHARS: usize = 1000;

/// How a field reaches the server.
#[derive(Debug, Clone, Copy)]
enum Via {
    /// A form posted by a signed-in Super Admin.
    Console,
    /// A form posted before sign-in (its double-submit token included).
    Anonymous,
    /// The audit log's query string.
    AuditQuery,
    /// An OAuth endpoint's form body, authenticated as a real client.
    OAuth,
    /// An OAuth endpoint's form body with no client authentication.
    OAuthBare,
}

struct Target {
    via: Via,
    path: String,
    /// The other fields, as a valid request would send them.
    base: Vec<(String, String)>,
    field: &'static str,
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every field the server reads from a person or a machine.
fn targets(
    credential: &str,
    role: &str,
    api: &str,
    user: &str,
    read: &str,
    webhook: &str,
) -> Vec<Target> {
    let credential_form: Vec<(String, String)> = vec![
        ("name".into(), "Fuzzed".into()),
        ("description".into(), "".into()),
        ("owner_email".into(), "ops@acme.test".into()),
        ("role_id".into(), role.into()),
        ("access_level".into(), "full".into()),
        ("allowed_ips".into(), "".into()),
        ("expires_at".into(), "".into()),
    ];
    let mut out = Vec::new();
    let mut add = |via, path: &str, base: Vec<(String, String)>, names: &[&'static str]| {
        for field in names {
            out.push(Target {
                via,
                path: path.to_string(),
                base: base.clone(),
                field,
            });
        }
    };
    let credential_fields = [
        "name",
        "description",
        "owner_email",
        "role_id",
        "access_level",
        "apis",
        "allowed_ips",
        "expires_at",
        "creation_key",
    ];
    add(
        Via::Console,
        BASE,
        credential_form.clone(),
        &credential_fields,
    );
    add(
        Via::Console,
        &format!("{BASE}/{credential}"),
        credential_form,
        &credential_fields,
    );
    let role_form = fields(&[("name", "Fuzz role"), ("description", ""), ("apis", read)]);
    add(
        Via::Console,
        "/settings/roles",
        role_form.clone(),
        &["name", "description", "apis"],
    );
    add(
        Via::Console,
        &format!("/settings/roles/{role}"),
        role_form,
        &["name", "description", "apis"],
    );
    let api_form = fields(&[
        ("scope", "fuzz:read"),
        ("name", "Fuzz"),
        ("description", ""),
    ]);
    add(
        Via::Console,
        "/settings/apis",
        api_form.clone(),
        &["scope", "name", "description"],
    );
    add(
        Via::Console,
        &format!("/settings/apis/{api}"),
        api_form,
        &["scope", "name", "description"],
    );
    add(
        Via::Console,
        "/settings/users",
        fields(&[("email", "fuzz@acme.test"), ("role", "viewer")]),
        &["email", "role"],
    );
    add(
        Via::Console,
        &format!("/settings/users/{user}/role"),
        fields(&[("role", "viewer")]),
        &["role"],
    );
    // An IP literal: no field of the base form sends the server to DNS.
    let webhook_form = fields(&[
        ("url", "https://127.0.0.1/hook"),
        ("events", "credential.revoked"),
        ("enabled", "on"),
    ]);
    add(
        Via::Console,
        "/settings/webhooks",
        webhook_form.clone(),
        &["url", "events", "enabled"],
    );
    add(
        Via::Console,
        &format!("/settings/webhooks/{webhook}"),
        webhook_form,
        &["url", "events", "enabled"],
    );
    add(
        Via::AuditQuery,
        "/settings/audit",
        Vec::new(),
        &["credential", "actor", "action", "page"],
    );
    add(
        Via::Anonymous,
        "/login",
        fields(&[
            ("email", "ops@acme.test"),
            ("password", "wrong"),
            ("next", ""),
        ]),
        &["email", "password", "next"],
    );
    add(
        Via::Anonymous,
        "/setup",
        fields(&[
            ("token", "nope"),
            ("org_name", "Acme"),
            ("email", "a@acme.test"),
            ("password", "violet quarry lantern sideways"),
            ("password_confirm", "violet quarry lantern sideways"),
        ]),
        &["token", "org_name", "email", "password", "password_confirm"],
    );
    let grant = fields(&[("grant_type", "client_credentials")]);
    add(
        Via::OAuth,
        "/oauth/token",
        grant.clone(),
        &["grant_type", "scope"],
    );
    add(
        Via::OAuthBare,
        "/oauth/token",
        fields(&[
            ("grant_type", "client_credentials"),
            ("client_id", "m2m_ci_x"),
            ("client_secret", "m2m_sk_x"),
        ]),
        &["client_id", "client_secret"],
    );
    add(
        Via::OAuth,
        "/oauth/introspect",
        Vec::new(),
        &["token", "token_type_hint"],
    );
    add(
        Via::OAuth,
        "/oauth/revoke",
        Vec::new(),
        &["token", "token_type_hint"],
    );
    out
}

/// Random Unicode, runs of control characters, and 100 KB strings.
fn hostile_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        2 => "[\\x00-\\x1f\\x7f\u{80}-\u{9f}a-z@:./]{0,40}",
        1 => (any::<char>(), Just(100_000usize))
            .prop_map(|(c, bytes)| c.to_string().repeat(bytes / c.len_utf8())),
        1 => Just("\0".repeat(100_000)),
    ]
}

struct World {
    app: TestApp,
    boss: Browser,
    anonymous: Browser,
    client_auth: String,
    targets: Vec<Target>,
}

async fn world() -> World {
    let app = TestApp::spawn().await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let catalog = seed_catalog(&app, boss_user.org_id).await;
    let (credential, client_id, secret) =
        create_credential(&app, &mut boss, &valid_form(&catalog)).await;
    let user = app
        .create_user("Acme", "fuzzed@acme.test", StaffRole::Viewer)
        .await;
    let api = crate::fixtures::insert_api(&app, boss_user.org_id, "fuzz:target").await;
    let webhook = {
        use m2m_console::webhooks::endpoints::{EndpointDraft, create_endpoint};
        let mut rules = app.settings.webhooks.clone();
        rules.allow_private = true;
        let sealer = m2m_console::sealed::Sealer::new(
            m2m_console::sealed::DataKey::random().unwrap(),
            Vec::new(),
        );
        let draft = EndpointDraft {
            url: "https://127.0.0.1/hook".into(),
            events: vec!["credential.revoked".into()],
            enabled: Some("on".into()),
        };
        let actor = m2m_console::actor::Actor::staff(
            boss_user.clone(),
            Default::default(),
            app.clock.now(),
        );
        create_endpoint(&mut *app.conn().await, &actor, &sealer, &rules, &draft)
            .await
            .unwrap()
            .endpoint
            .id
    };
    let mut anonymous = app.client();
    anonymous.get("/login").await;
    let targets = targets(
        &credential.to_string(),
        &catalog.role.to_string(),
        &api.id.to_string(),
        &user.id.to_string(),
        &catalog.read.to_string(),
        &webhook.to_string(),
    );
    World {
        app,
        boss,
        anonymous,
        client_auth: basic(&client_id, &secret),
        targets,
    }
}

/// Sends `value` in the target's field; the status, or why there was none.
async fn send(world: &mut World, target: usize, value: &str) -> Result<u16, String> {
    let t = &world.targets[target];
    // A URL is no place for 100 KB: clients refuse to send one. A long query still goes.
    let cut: String;
    let value = if matches!(t.via, Via::AuditQuery) {
        cut = value.chars().take(MAX_QUERY_CHARS).collect();
        cut.as_str()
    } else {
        value
    };
    let mut form: Vec<(&str, &str)> = t
        .base
        .iter()
        .filter(|(k, _)| k != t.field)
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    form.push((t.field, value));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| e.to_string())?;
    let status = match t.via {
        Via::Console => world.boss.post_form(&t.path, &form).await.status,
        Via::Anonymous => world.anonymous.post_form(&t.path, &form).await.status,
        Via::AuditQuery => {
            let query = serde_urlencoded::to_string(&form).map_err(|e| e.to_string())?;
            world.boss.get(&format!("{}?{query}", t.path)).await.status
        }
        Via::OAuth | Via::OAuthBare => {
            let body = serde_urlencoded::to_string(&form).map_err(|e| e.to_string())?;
            let mut req = http
                .post(world.app.url(&t.path))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body);
            if matches!(t.via, Via::OAuth) {
                req = req.header("Authorization", &world.client_auth);
            }
            let res = req.send().await.map_err(|e| format!("no answer: {e}"))?;
            let status = res.status().as_u16();
            res.bytes()
                .await
                .map_err(|e| format!("body cut off: {e}"))?;
            status
        }
    };
    Ok(status)
}

#[test]
fn no_input_gets_a_5xx_a_dropped_connection_or_a_panic() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut world = rt.block_on(world());
    let logged_before = captured_logs().len();

    // Every field gets the worst cases at least once...
    for target in 0..world.targets.len() {
        for value in [
            "\0",
            "a\u{1}b\u{7f}",
            &"é".repeat(50_000),
            &"\0".repeat(100_000),
        ] {
            let status = rt.block_on(send(&mut world, target, value));
            let t = &world.targets[target];
            assert!(
                status.as_ref().is_ok_and(|s| *s < 500),
                "{} {} = {:?}…: {status:?}",
                t.path,
                t.field,
                value.chars().take(8).collect::<String>()
            );
        }
    }
    // ...then random ones, shrunk to the smallest failing input if any fails.
    let count = world.targets.len();
    let mut runner = TestRunner::new(Config {
        cases: 400,
        failure_persistence: None,
        ..Config::default()
    });
    let world = std::cell::RefCell::new(world);
    let outcome = runner.run(&(0..count, hostile_text()), |(target, value)| {
        let status = rt.block_on(send(&mut world.borrow_mut(), target, &value));
        match status {
            Ok(s) if s < 500 => Ok(()),
            other => {
                let w = world.borrow();
                let t = &w.targets[target];
                Err(TestCaseError::fail(format!(
                    "{} {}: {other:?}",
                    t.path, t.field
                )))
            }
        }
    });
    if let Err(e) = outcome {
        panic!("{e}");
    }
    let logs = captured_logs();
    let ours = logs.get(logged_before..).unwrap_or_default();
    // The server's code lives under src/; a test failing meanwhile panics under tests/.
    assert!(!ours.contains("panicked at src/"), "a handler panicked");
    drop(world);
}
