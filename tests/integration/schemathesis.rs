//! Schemathesis (from PyPI) against a live server with a management token: every operation
//! of the OpenAPI document fuzzed, no 5xx, every answer conforming to the document.
//! `.ci/run` installs Schemathesis and runs this with `SCHEMATHESIS=<path to the CLI>`;
//! without it the test is skipped (it is `#[ignore]`d in the plain `cargo test`).

use m2m_console::db::models::user::StaffRole;

use crate::fixtures::*;
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Schemathesis: .ci/run runs it"]
async fn schemathesis_finds_no_server_error_and_no_answer_off_the_document() {
    let cli = std::env::var("SCHEMATHESIS").expect("SCHEMATHESIS names the schemathesis CLI");
    let app = TestApp::spawn_with(|s| s.api_rate_limit = 1_000_000).await;
    let s = setup_on(app, |f| f).await;
    let (_, mut super_admin) = s.app.login_as(StaffRole::SuperAdmin).await;
    let scopes = [
        "m2m.credentials:read",
        "m2m.credentials:write",
        "m2m.credentials:rotate",
        "m2m.tokens:revoke",
        "m2m.audit:read",
    ];
    let manager = management_client(&s.app, &mut super_admin, &s.catalog, "Fuzzer", &scopes).await;
    let token = access_token(&s.app, &manager).await;
    // Real credentials for the operations on one (.ci/schemathesis.toml gives their ids), so
    // that their success paths are fuzzed too, not only "not found": one to revoke, one to
    // delete, and one for everything else, holding a live token to revoke.
    let mut ids = Vec::new();
    for name in ["Fuzz target", "Fuzz revoke", "Fuzz delete"] {
        let form = with(valid_form(&s.catalog), "name", name);
        ids.push(create_credential(&s.app, &mut super_admin, &form).await);
    }
    let [
        (target_id, target_client, target_secret),
        (revoke_id, _, _),
        (delete_id, _, _),
    ] = <[_; 3]>::try_from(ids).unwrap();
    let target = Client {
        id: target_id,
        client_id: target_client,
        secret: target_secret,
    };
    access_token(&s.app, &target).await;
    let live = m2m_console::db::models::access_token::list_live(
        &mut *s.app.conn().await,
        target_id,
        s.app.clock.now(),
    )
    .await
    .unwrap();
    let token_id = live[0].id;
    let url = s.app.url("/api/v1/openapi.json");
    let base = s.app.url("/");
    // More examples for a deeper local hunt: SCHEMATHESIS_MAX_EXAMPLES=300.
    let examples = std::env::var("SCHEMATHESIS_MAX_EXAMPLES").unwrap_or_else(|_| "30".into());
    let cli_run = tokio::process::Command::new(cli)
        .args([
            "--config-file",
            concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/schemathesis.toml"),
        ])
        .args(["run", &url, "--url", base.trim_end_matches('/')])
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args([
            "--checks",
            "all",
            "--max-examples",
            &examples,
            "--workers",
            "1",
        ])
        .args(["--phases", "examples,coverage,fuzzing"])
        // The token would otherwise be printed with every failing case.
        .env("SCHEMATHESIS_HOOKS", "")
        .env("M2M_FUZZ_TARGET", target_id.to_string())
        .env("M2M_FUZZ_REVOKE", revoke_id.to_string())
        .env("M2M_FUZZ_DELETE", delete_id.to_string())
        .env("M2M_FUZZ_TOKEN", token_id.to_string())
        .kill_on_drop(true)
        .status()
        .await
        .expect("schemathesis runs");
    assert!(
        cli_run.success(),
        "schemathesis found failures (see its report above)"
    );

    // The operations on a credential got past "not found": the fuzzer's own actions are in
    // the audit log.
    let events = m2m_console::db::models::audit_event::AuditEvent::list_for_org(
        &mut *s.app.conn().await,
        s.org,
        10_000,
    )
    .await
    .unwrap();
    let by_fuzzer: std::collections::BTreeSet<String> = events
        .into_iter()
        .filter(|e| e.actor_client_id.as_deref() == Some(manager.client_id.as_str()))
        .map(|e| e.action)
        .collect();
    for action in [
        "credential.updated",
        "credential.secret_rotated",
        "credential.disabled",
        "credential.enabled",
        "credential.revoked",
        "credential.deleted",
    ] {
        assert!(by_fuzzer.contains(action), "{action}: {by_fuzzer:?}");
    }
}
