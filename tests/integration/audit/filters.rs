//! Settings → Audit log: the action select and the date range.

use chrono::{TimeZone, Utc};
use m2m_console::audit::Record;
use m2m_console::client_ip::RequestMeta;
use m2m_console::db::models::audit_event::NewAuditEvent;
use m2m_console::db::models::user::StaffRole;

use super::{actions, details, insert_events};
use crate::fixtures::{rows, testid_text};
use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_filter_is_a_select_of_the_known_actions_by_label() {
    let app = TestApp::spawn().await;
    let (me, mut viewer) = app.login_as(StaffRole::Viewer).await;
    insert_events(&app, &me, "credential.secret_rotated", 2).await;
    insert_events(&app, &me, "legacy.thing", 1).await;

    let page = viewer.get("/settings/audit").await;
    assert!(
        page.body
            .contains("<select id=\"f-action\" name=\"action\"")
    );
    assert!(
        page.body
            .contains("<option value=\"\">All actions</option>")
    );
    let rotated = page
        .body
        .find("<option value=\"credential.secret_rotated\">Secret rotated</option>")
        .unwrap();
    let access = page.body.find(">Access token generated</option>").unwrap();
    let users = page.body.find(">User role changed</option>").unwrap();
    assert!(access < rotated && rotated < users, "ordered by label");

    let page = viewer
        .hx_get("/settings/audit?action=credential.secret_rotated")
        .await;
    assert_eq!(actions(&page), ["credential.secret_rotated"; 2]);
    assert!(
        page.body
            .contains("value=\"credential.secret_rotated\" selected>")
    );
    assert!(
        page.body
            .contains("<option value=\"\">All actions</option>")
    );

    let page = viewer.get("/settings/audit?action=legacy.thing").await;
    assert_eq!(actions(&page), ["legacy.thing"]);
    assert!(
        page.body
            .contains("<option value=\"legacy.thing\" selected>legacy.thing</option>"),
        "an action without a label is still shown back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_date_range_covers_whole_utc_days_and_bad_dates_are_field_errors() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::Admin).await;
    let mut conn = app.conn().await;
    for (n, at) in [
        (0, Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59)),
        (1, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0)),
        (2, Utc.with_ymd_and_hms(2026, 11, 10, 23, 59, 59)),
        (3, Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0)),
    ] {
        NewAuditEvent::unlisted("test.dated", &RequestMeta::default(), at.unwrap())
            .by(&me)
            .details(serde_json::json!({ "n": n }))
            .record(&mut conn)
            .await
            .unwrap();
    }
    drop(conn);
    let dated = |range: &str| format!("/settings/audit?action=test.dated&{range}");

    let page = boss.get(&dated("from=2026-11-01&to=2026-11-10")).await;
    assert_eq!(details(&page), ["N: 2", "N: 1"]);
    assert!(
        page.body.contains("value=\"2026-11-01\"") && page.body.contains("value=\"2026-11-10\"")
    );
    assert_eq!(details(&boss.get(&dated("to=2026-10-31")).await), ["N: 0"]);
    assert_eq!(
        details(&boss.get(&dated("from=2026-11-11")).await),
        ["N: 3"]
    );
    let same_day = boss.hx_get(&dated("from=2026-11-10&to=2026-11-10")).await;
    assert_eq!(details(&same_day), ["N: 2"]);

    for (range, field) in [
        ("from=yesterday", "error-from"),
        ("to=2026-02-30", "error-to"),
        ("from=2026-11-11&to=2026-11-01", "error-to"),
    ] {
        let page = boss.get(&dated(range)).await;
        assert_eq!(page.status, 200, "{range}");
        assert!(testid_text(&page.body, field).is_some(), "{range}");
        assert_eq!(
            rows(&page, "audit-row"),
            4,
            "{range}: the dates are ignored"
        );
    }
    let page = boss.get(&dated("from=2026-11-11&to=2026-11-01")).await;
    assert!(
        testid_text(&page.body, "error-to")
            .unwrap()
            .contains("before the From date")
    );
    assert!(testid_text(&page.body, "error-from").is_none());
}
