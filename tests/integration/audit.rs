//! Settings → Audit log: newest first, filters, pages, and who may read it.

use chrono::{Duration, TimeZone, Utc};
use m2m_console::audit::Record;
use m2m_console::client_ip::RequestMeta;
use m2m_console::db::models::audit_event::NewAuditEvent;
use m2m_console::db::models::credential::AccessLevel;
use m2m_console::db::models::user::{StaffRole, User};

use crate::fixtures::{insert_api, insert_credential, insert_role, rows, testid_text};
use crate::helpers::{Page, TestApp};

mod filters;

/// The actions of the rows on a page, top to bottom.
fn actions(page: &Page) -> Vec<String> {
    page.body
        .split("data-testid=\"audit-action\">")
        .skip(1)
        .map(|rest| rest.split('<').next().unwrap().to_string())
        .collect()
}

/// The text of every detail line on a page (`"Name: A → B"`), tags removed.
fn details(page: &Page) -> Vec<String> {
    page.body
        .replace("<span class=\"visually-hidden\">changed to</span>", "")
        .split("<li data-testid=\"detail-")
        .skip(1)
        .map(|rest| {
            let inner = rest
                .split_once('>')
                .unwrap()
                .1
                .split("</li>")
                .next()
                .unwrap();
            let mut text = String::new();
            let mut in_tag = false;
            for c in inner.chars() {
                match c {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        })
        .collect()
}

/// Appends `count` events `action` by `actor`, one minute apart, the last one newest.
async fn insert_events(app: &TestApp, actor: &User, action: &str, count: usize) {
    let mut conn = app.conn().await;
    // A day ago: older than anything the test does through HTTP.
    let start = app.clock.now() - Duration::days(1);
    for i in 0..count {
        NewAuditEvent::unlisted(
            action,
            &RequestMeta::default(),
            start + Duration::minutes(i as i64),
        )
        .by(actor)
        .details(serde_json::json!({ "n": i }))
        .record(&mut conn)
        .await
        .unwrap();
    }
}

fn has_link(page: &Page, testid: &str) -> Option<String> {
    let at = page.body.find(&format!("data-testid=\"{testid}\""))?;
    let tag_start = page.body[..at].rfind("<a ")?;
    let href = page.body[tag_start..]
        .split("href=\"")
        .nth(1)?
        .split('"')
        .next()?;
    Some(href.replace("&#38;", "&"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_staff_role_reads_the_organisations_events_newest_first() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    boss.post_form(
        "/settings/apis",
        &[("scope", "orders:read"), ("name", "Read orders")],
    )
    .await;
    boss.post_form("/settings/roles", &[("name", "Order sync")])
        .await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::SuperAdmin)
        .await;
    insert_events(&app, &outsider, "globex.secret", 1).await;

    for who in [StaffRole::SuperAdmin, StaffRole::Admin, StaffRole::Viewer] {
        let (_, mut browser) = app.login_as(who).await;
        let page = browser.get("/settings/audit").await;
        assert_eq!(page.status, 200, "{who:?} reads the audit log");
        assert!(
            page.body.contains("<html")
                && page
                    .body
                    .contains("<span aria-current=\"page\">Audit log</span>")
        );
        let seen = actions(&page);
        assert_eq!(
            seen.first().map(String::as_str),
            Some("user.login"),
            "newest first: this sign-in"
        );
        let role_at = seen.iter().position(|a| a == "role.created").unwrap();
        let api_at = seen.iter().position(|a| a == "api.created").unwrap();
        assert!(role_at < api_at, "{seen:?}");
        assert!(!page.body.contains("globex.secret") && !page.body.contains("hank@globex.test"));
        assert!(page.body.contains(&me.email));

        let fragment = browser.hx_get("/settings/audit").await;
        assert!(
            fragment
                .body
                .trim_start()
                .starts_with("<section id=\"audit-section\">")
        );
        assert_eq!(fragment.header("vary"), Some("HX-Request"));
        assert!(
            fragment.body.contains("method=\"get\""),
            "the filter form is a GET"
        );
        assert!(!fragment.body.contains("method=\"post\""));
    }
    let mut anonymous = app.client();
    assert_eq!(
        anonymous.get("/settings/audit").await.status,
        303,
        "signed out: sent to sign in"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_show_time_actor_action_target_ip_agent_and_details() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let mut conn = app.conn().await;
    let meta = RequestMeta {
        ip: Some("203.0.113.9".parse().unwrap()),
        user_agent: Some(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0"
                .into(),
        ),
    };
    NewAuditEvent::unlisted(
        "credential.rotated",
        &meta,
        Utc.with_ymd_and_hms(2026, 11, 22, 20, 15, 42).unwrap(),
    )
    .by(&me)
    .target(
        "credential",
        "0b7a0c1e-8d8e-4c55-9c2f-6f3f1b0e9a11",
        "Nightly <sync>",
    )
    .details(serde_json::json!({ "reason": "leak", "n": 2 }))
    .record(&mut conn)
    .await
    .unwrap();
    drop(conn);

    let page = boss.get("/settings/audit?action=credential.rotated").await;
    assert_eq!(rows(&page, "audit-row"), 1);
    assert!(page.body.contains("2026-11-22 20:15 UTC"));
    assert!(page.body.contains("datetime=\"2026-11-22T20:15:42Z\""));
    assert!(page.body.contains(&me.email));
    assert!(
        page.body.contains("credential</span>") && page.body.contains("Nightly &#60;sync&#62;")
    );
    assert!(
        page.body
            .contains("?credential=0b7a0c1e-8d8e-4c55-9c2f-6f3f1b0e9a11"),
        "the target narrows the log"
    );
    assert!(page.body.contains("203.0.113.9"));
    assert_eq!(
        testid_text(&page.body, "audit-agent").as_deref(),
        Some("Chrome 131 on Linux"),
        "the agent is shortened to browser and system"
    );
    assert!(
        page.body
            .contains("title=\"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"),
        "in full on hover"
    );
    assert_eq!(
        details(&page),
        ["N: 2", "Reason: leak"],
        "details as a list, not JSON"
    );
    assert!(!page.body.contains("&#34;reason&#34;"), "no raw JSON");
    let more = page
        .body
        .split("data-testid=\"audit-more\"")
        .nth(1)
        .unwrap();
    let more = more.split("</details>").next().unwrap();
    assert!(
        more.contains("203.0.113.9")
            && more.contains("AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0<")
            && more.contains("<code>credential.rotated</code>"),
        "the disclosure holds the full agent, the IP and the raw action: {more}"
    );
    assert_eq!(
        rows(&page, "audit-label"),
        0,
        "an action without a label shows as itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_filters_by_action_actor_and_credential() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let (other, mut admin) = app.login_as(StaffRole::Admin).await;
    let role = insert_role(&app, me.org_id, "Order sync", &[]).await;
    let nightly =
        insert_credential(&app, me.org_id, role.id, "Nightly", AccessLevel::Full, &[]).await;
    let hourly =
        insert_credential(&app, me.org_id, role.id, "Hourly", AccessLevel::Full, &[]).await;
    let mut conn = app.conn().await;
    for (who, credential, action) in [
        (&me, &nightly, "credential.created"),
        (&other, &nightly, "credential.rotated"),
        (&me, &hourly, "credential.created"),
    ] {
        NewAuditEvent::unlisted(action, &RequestMeta::default(), app.clock.now())
            .by(who)
            .target("credential", credential.id, &credential.name)
            .record(&mut conn)
            .await
            .unwrap();
    }
    // An event about something else whose id happens to match is not a credential event.
    NewAuditEvent::unlisted("role.updated", &RequestMeta::default(), app.clock.now())
        .by(&me)
        .target("role", nightly.id, "look-alike")
        .record(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let page = boss
        .get(&format!("/settings/audit?credential={}", nightly.id))
        .await;
    assert_eq!(actions(&page), ["credential.rotated", "credential.created"]);
    assert!(
        page.body.contains(&format!("value=\"{}\"", nightly.id)),
        "the filter is shown back"
    );

    let page = boss.get("/settings/audit?action=credential.created").await;
    assert_eq!(actions(&page), ["credential.created", "credential.created"]);
    let page = boss.get("/settings/audit?action=credential").await;
    assert_eq!(rows(&page, "audit-row"), 0, "the action must match exactly");
    assert!(page.body.contains("No events match these filters."));

    let page = admin
        .hx_get(&format!("/settings/audit?actor={}", other.email))
        .await;
    let seen = actions(&page);
    assert!(
        seen.contains(&"credential.rotated".to_string())
            && seen.iter().all(|a| a != "credential.created"),
        "{seen:?}"
    );
    let local_part = other.email.split('@').next().unwrap().to_uppercase();
    let page = boss
        .get(&format!("/settings/audit?actor={local_part}"))
        .await;
    assert_eq!(
        actions(&page),
        seen,
        "a part of the address, in any case, matches too"
    );
    let page = boss.get("/settings/audit?actor=%25").await;
    assert_eq!(
        rows(&page, "audit-row"),
        0,
        "LIKE wildcards are matched literally"
    );

    let page = boss
        .get(&format!(
            "/settings/audit?credential={}&actor={}&action=credential.created",
            nightly.id, me.email
        ))
        .await;
    assert_eq!(actions(&page), ["credential.created"]);

    // Nonsense is ignored, never a 500; text that is not an ID is part of a name.
    let page = boss
        .get("/settings/audit?credential=not-a-uuid&page=abc")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(rows(&page, "audit-row"), 0);
    assert!(!page.body.contains("data-testid=\"error-credential\""));
    assert!(page.body.contains(">Credential (name or ID)</label>"));
    let page = boss.get("/settings/audit?credential=IGHTL").await;
    assert_eq!(
        actions(&page),
        ["credential.rotated", "credential.created"],
        "part of a credential's name, in any case; never another target's label"
    );
    assert!(page.body.contains("value=\"IGHTL\""));
    let page = boss.get("/settings/audit?credential=%25").await;
    assert_eq!(rows(&page, "audit-row"), 0, "wildcards are literal");
    assert_eq!(boss.get("/settings/audit?page=0").await.status, 200);
    assert_eq!(boss.get("/settings/audit?page=-1&page=2").await.status, 200);
    assert_eq!(
        boss.get("/settings/audit?page=99999999999999999999")
            .await
            .status,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_shows_fifty_events_a_page_and_the_links_keep_the_filters() {
    let app = TestApp::spawn().await;
    let (me, mut viewer) = app.login_as(StaffRole::Viewer).await;
    insert_events(&app, &me, "test.event", 120).await;
    insert_events(&app, &me, "test.other", 3).await;

    let first = viewer.get("/settings/audit?action=test.event").await;
    assert_eq!(rows(&first, "audit-row"), 50);
    assert_eq!(
        details(&first).first().map(String::as_str),
        Some("N: 119"),
        "newest first"
    );
    assert!(has_link(&first, "previous-page").is_none());
    let next = has_link(&first, "next-page").unwrap();
    assert_eq!(next, "/settings/audit?action=test.event&page=2");

    let second = viewer.hx_get(&next).await;
    assert!(
        second
            .body
            .trim_start()
            .starts_with("<section id=\"audit-section\">")
    );
    assert_eq!(rows(&second, "audit-row"), 50);
    let on_second = details(&second);
    assert_eq!(on_second.first().map(String::as_str), Some("N: 69"));
    assert_eq!(on_second.last().map(String::as_str), Some("N: 20"));
    assert!(
        !on_second.contains(&"N: 70".to_string()),
        "no overlap with page 1"
    );
    assert_eq!(
        has_link(&second, "previous-page").unwrap(),
        "/settings/audit?action=test.event&page=1"
    );
    let third = viewer.get(&has_link(&second, "next-page").unwrap()).await;
    assert_eq!(rows(&third, "audit-row"), 20);
    assert_eq!(details(&third).last().map(String::as_str), Some("N: 0"));
    assert!(
        has_link(&third, "next-page").is_none(),
        "the last page has no Next"
    );
    assert!(actions(&third).iter().all(|a| a == "test.event"));

    let beyond = viewer.get("/settings/audit?action=test.event&page=9").await;
    assert_eq!(beyond.status, 200);
    assert_eq!(rows(&beyond, "audit-row"), 0);
    assert!(has_link(&beyond, "previous-page").is_some());

    // Unfiltered: 120 + 3 + this viewer's sign-in.
    let all_first = viewer.get("/settings/audit?page=abc").await;
    assert_eq!(rows(&all_first, "audit-row"), 50);
    assert_eq!(actions(&all_first)[0], "user.login");
    let all_third = viewer.get("/settings/audit?page=3").await;
    assert_eq!(rows(&all_third, "audit-row"), 24);
    assert_eq!(
        has_link(&all_third, "previous-page").unwrap(),
        "/settings/audit?page=2"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_read_as_labels_and_edits_list_only_the_changed_fields() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    insert_api(&app, me.org_id, "orders:read").await;
    boss.post_form("/settings/roles", &[("name", "Order <sync>")])
        .await;
    let role = insert_role(&app, me.org_id, "Spare", &[]).await;
    boss.post_form(
        &format!("/settings/roles/{}", role.id),
        &[("name", "Spare & extra"), ("description", "")],
    )
    .await;

    let page = boss.get("/settings/audit?action=role.updated").await;
    assert_eq!(
        testid_text(&page.body, "audit-label").as_deref(),
        Some("Role edited")
    );
    assert_eq!(
        actions(&page),
        ["role.updated"],
        "the raw action stays visible"
    );
    assert_eq!(
        details(&page),
        ["Name: Spare → Spare &#38; extra"],
        "only what changed, escaped"
    );
    assert!(!page.body.contains("&#34;before&#34;"), "no JSON blob");

    let page = boss.get("/settings/audit?action=role.created").await;
    assert_eq!(
        testid_text(&page.body, "audit-label").as_deref(),
        Some("Role created")
    );
    let lines = details(&page);
    assert!(
        lines.contains(&"Name: Order &#60;sync&#62;".to_string()),
        "{lines:?}"
    );
    assert!(lines.contains(&"APIs: (none)".to_string()), "{lines:?}");

    let page = boss.get("/settings/audit").await;
    assert!(page.body.contains(">Signed in</span>"));
}
