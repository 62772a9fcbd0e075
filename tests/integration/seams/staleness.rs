//! Auto-disable by staleness never strikes unannounced: saving such a policy first shows what
//! it would disable now and asks to confirm; an Admin exempts a credential (audited, shown,
//! in the API); and a disabled credential says who or what disabled it and why.

use chrono::Duration;
use m2m_console::db::ids::CredentialId;
use m2m_console::db::models::user::StaffRole;
use m2m_console::jobs::scheduled;
use m2m_console::policy::StaleAction;
use serde_json::json;

use crate::fixtures::*;
use crate::helpers::{Browser, TestApp};

/// The setup, a Super Admin, and "Break-glass": created 200 days ago and never used since.
async fn stage() -> (Setup, Browser, CredentialId) {
    let mut s = setup().await;
    let (_, boss) = s.app.login_as(StaffRole::SuperAdmin).await;
    let form = with(valid_form(&s.catalog), "name", "Break-glass");
    let (id, ..) = create_credential(&s.app, &mut s.admin, &form).await;
    let long_ago = s.app.clock.now() - Duration::days(200);
    store_activity(&s.app, id, long_ago, None).await;
    (s, boss, id)
}

async fn run(app: &TestApp) -> scheduled::Report {
    let mut conn = app.conn().await;
    scheduled::run_once(&mut conn, None, &app.address, app.clock.now()).await
}

async fn stale_action(s: &Setup) -> StaleAction {
    m2m_console::policy::load(&mut *s.app.conn().await, s.org)
        .await
        .unwrap()
        .stale_action
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabling_policy_shows_what_it_would_disable_and_waits_for_confirmation() {
    let (s, mut boss, id) = stage().await;
    let fields = policy_fields("", "30", "90", "disable");

    for htmx in [false, true] {
        let page = if htmx {
            boss.hx_post(POLICY, &fields).await
        } else {
            boss.post_form(POLICY, &fields).await
        };
        assert_eq!(page.status, 200, "{}", page.body);
        let preview = testid_text(&page.body, "stale-preview-item").expect("a preview");
        assert!(preview.contains("Break-glass"), "{preview}");
        assert!(page.body.contains("unused for 200 days"), "{}", page.body);
        assert!(
            page.body.contains(&format!("value=\"{id}\"")),
            "{}",
            page.body
        );
        assert!(!page.body.contains("Warehouse sync"), "only what is stale");
        assert_eq!(
            stale_action(&s).await,
            StaleAction::Warn,
            "nothing saved yet"
        );
    }
    assert!(audited(&s.app, s.org, "policy.updated").await.is_empty());

    let id_text = id.to_string();
    let mut confirmed = fields.clone();
    confirmed.push(("confirm_disable", &id_text));
    save_policy(&mut boss, &confirmed).await;
    assert_eq!(stale_action(&s).await, StaleAction::Disable);

    assert_eq!(run(&s.app).await.disabled, 1);
    let page = boss.get(&format!("{M2M}/{id}")).await;
    let why = testid_text(&page.body, "disabled-why").expect("says why");
    assert_eq!(why, "Disabled automatically: unused for 200 days");
    let row = audited(&s.app, s.org, "credential.disabled").await;
    assert_eq!(
        row[0].details["why"],
        "Disabled automatically: unused for 200 days"
    );
    assert_eq!(row[0].actor_email, None, "by the system");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exempt_credential_is_never_flagged_or_disabled_as_stale() {
    let (mut s, mut boss, id) = stage().await;
    let path = format!("{M2M}/{id}");
    let page = s
        .admin
        .post_form(&format!("{path}/stale-exemption"), &[("exempt", "yes")])
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    let rows = audited(&s.app, s.org, "credential.stale_exempted").await;
    assert_eq!(rows.len(), 1);
    let page = s.admin.get(&path).await;
    assert!(
        testid_text(&page.body, "stale-exempt").is_some_and(|t| t.contains("Exempt")),
        "{}",
        page.body
    );
    let row = list_row(&s.admin.get(M2M).await.body, id);
    assert!(testid_text(&row, "credential-name").is_some());
    assert!(!row.contains("data-testid=\"stale\""), "{row}");

    // Nothing left to preview: the policy is saved at once, and the job leaves it be.
    save_policy(&mut boss, &policy_fields("", "30", "90", "disable")).await;
    assert_eq!(run(&s.app).await.disabled, 0);
    assert!(!stored(&s.app, s.org, id).await.is_disabled());

    // The API shows and changes it too.
    let manager = management_client(
        &s.app,
        &mut boss,
        &s.catalog,
        "Pipeline",
        &["m2m.credentials:read", "m2m.credentials:write"],
    )
    .await;
    let bearer = access_token(&s.app, &manager).await;
    let api = format!("/api/v1/credentials/{id}");
    let res = api_call(&s.app, "GET", &api, &bearer, None, &[]).await;
    assert_eq!(res.json()["stale_exempt"], true, "{}", res.text);
    let body = Some(json!({ "stale_exempt": false }));
    let res = api_call(&s.app, "PATCH", &api, &bearer, body, &[]).await;
    assert_eq!(res.json()["stale_exempt"], false, "{}", res.text);
    assert_eq!(
        audited(&s.app, s.org, "credential.stale_exemption_removed")
            .await
            .len(),
        1
    );
    assert_eq!(run(&s.app).await.disabled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_credential_says_who_disabled_it() {
    let (mut s, _, id) = stage().await;
    let page = s.admin.post_form(&format!("{M2M}/{id}/disable"), &[]).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let page = s.admin.get(&format!("{M2M}/{id}")).await;
    let why = testid_text(&page.body, "disabled-why").expect("says who");
    assert_eq!(why, format!("Disabled by {}", s.admin_email));

    let report =
        json!([{ "token": s.client.secret, "type": "t", "url": "https://github.com/acme/x" }]);
    let headers = [("Content-Type", "application/json")];
    post(&s.app, "/api/v1/leaks", &report.to_string(), &headers).await;
    let page = s.admin.get(&format!("{M2M}/{}", s.client.id)).await;
    let why = testid_text(&page.body, "disabled-why").expect("says why");
    assert!(
        why.starts_with("Disabled automatically: its secret was reported found in public"),
        "{why}"
    );
}
