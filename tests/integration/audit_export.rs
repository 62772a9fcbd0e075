//! Settings → Audit log → Export: CSV and NDJSON of the filtered events, who may download
//! them, and cells a spreadsheet would run as formulas.

use chrono::{Duration, TimeZone, Utc};
use diesel_async::RunQueryDsl;
use m2m_console::audit::Record;
use m2m_console::client_ip::RequestMeta;
use m2m_console::db::models::audit_event::NewAuditEvent;
use m2m_console::db::models::user::StaffRole;
use m2m_console::db::schema::audit_events;

use crate::fixtures::{create_credential, seed_catalog, valid_form, with};
use crate::helpers::{Page, TestApp};

const CSV: &str = "/settings/audit/export.csv";
const NDJSON: &str = "/settings/audit/export.ndjson";
const COLUMNS: [&str; 10] = [
    "time",
    "actor",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target_label",
    "ip",
    "user_agent",
    "details",
];

/// The records of an RFC 4180 body (quoted cells, doubled quotes, CRLF line ends).
fn parse_csv(body: &str) -> Vec<Vec<String>> {
    let (mut records, mut record, mut cell) = (Vec::new(), Vec::new(), String::new());
    let (mut quoted, mut chars) = (false, body.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') if cell.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut cell)),
            (false, '\r') => assert_eq!(chars.next(), Some('\n'), "CRLF line ends"),
            (false, '\n') => panic!("a bare LF ends a record"),
            (false, c) => cell.push(c),
        }
        if !quoted && c == '\r' {
            record.push(std::mem::take(&mut cell));
            records.push(std::mem::take(&mut record));
        }
    }
    assert!(
        cell.is_empty() && record.is_empty(),
        "the last record ends with CRLF"
    );
    records
}

/// The CSV as maps from column to cell, after checking the header.
fn csv_rows(page: &Page) -> Vec<std::collections::HashMap<String, String>> {
    let mut records = parse_csv(&page.body).into_iter();
    assert_eq!(records.next().unwrap(), COLUMNS);
    records
        .map(|r| {
            assert_eq!(r.len(), COLUMNS.len(), "{r:?}");
            COLUMNS.iter().map(|c| c.to_string()).zip(r).collect()
        })
        .collect()
}

fn ndjson_rows(page: &Page) -> Vec<serde_json::Value> {
    assert!(page.body.is_empty() || page.body.ends_with('\n'));
    page.body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_export_quotes_cells_and_defuses_formulas() {
    let app = TestApp::spawn().await;
    let (admin, mut browser) = app.login_as(StaffRole::Admin).await;
    let catalog = seed_catalog(&app, admin.org_id).await;
    let evil = "=HYPERLINK(\"http://evil.test\",\"Click, now\")";
    let form = with(valid_form(&catalog), "name", evil);
    let (id, _, secret) = create_credential(&app, &mut browser, &form).await;

    let before = app.clock.now();
    let page = browser
        .get(&format!("{CSV}?action=credential.created"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), Some("text/csv; charset=utf-8"));
    let disposition = page.header("content-disposition").unwrap();
    assert!(
        [before, app.clock.now()]
            .iter()
            .any(|t| disposition
                == format!("attachment; filename=\"audit-{}.csv\"", t.format("%Y%m%d"))),
        "{disposition}"
    );
    assert!(!page.body.contains(&secret), "never a secret");

    let rows = csv_rows(&page);
    assert_eq!(rows.len(), 1);
    let row = &rows[0];
    assert_eq!(
        row["target_label"],
        format!("'{evil}"),
        "a formula stays text"
    );
    assert_eq!(row["target_id"], id.to_string());
    assert_eq!(row["target_type"], "credential");
    assert_eq!(row["action"], "credential.created");
    assert_eq!(row["action_label"], "Credential created");
    assert_eq!(row["actor"], admin.email);
    assert!(chrono::DateTime::parse_from_rfc3339(&row["time"]).is_ok());
    assert!(row["time"].ends_with('Z'), "UTC");
    let details: serde_json::Value = serde_json::from_str(&row["details"]).unwrap();
    assert_eq!(details["after"]["name"], evil);
    assert!(
        page.body
            .contains("\"'=HYPERLINK(\"\"http://evil.test\"\",\"\"Click, now\"\")\""),
        "RFC 4180 quoting on the wire"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ndjson_export_is_one_object_a_line_with_the_same_fields() {
    let app = TestApp::spawn().await;
    let (me, mut viewer) = app.login_as(StaffRole::Viewer).await;
    let meta = RequestMeta {
        ip: Some("203.0.113.9".parse().unwrap()),
        user_agent: Some("curl/8.5.0".into()),
    };
    let mut conn = app.conn().await;
    NewAuditEvent::unlisted("credential.secret_rotated", &meta, app.clock.now())
        .by(&me)
        .target(
            "credential",
            "0b7a0c1e-8d8e-4c55-9c2f-6f3f1b0e9a11",
            "+Nightly\n\"sync\"",
        )
        .details(serde_json::json!({ "tokens_revoked": 2 }))
        .record(&mut conn)
        .await
        .unwrap();
    drop(conn);

    let page = viewer.get(NDJSON).await;
    assert_eq!(page.status, 200, "a viewer may export");
    assert_eq!(page.header("content-type"), Some("application/x-ndjson"));
    assert!(
        page.header("content-disposition")
            .unwrap()
            .ends_with(".ndjson\"")
    );
    let lines = ndjson_rows(&page);
    assert_eq!(lines.len(), 2, "the event and this viewer's sign-in");
    let rotated = &lines[0];
    let mut keys: Vec<&str> = rotated
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    let mut expected = COLUMNS.to_vec();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    assert_eq!(rotated["action"], "credential.secret_rotated");
    assert_eq!(rotated["action_label"], "Secret rotated");
    assert_eq!(
        rotated["target_label"], "+Nightly\n\"sync\"",
        "JSON needs no formula guard"
    );
    assert_eq!(rotated["ip"], "203.0.113.9");
    assert_eq!(rotated["user_agent"], "curl/8.5.0");
    assert_eq!(
        rotated["details"],
        serde_json::json!({ "tokens_revoked": 2 })
    );
    assert_eq!(lines[1]["action"], "user.login");

    let csv = csv_rows(&viewer.get(CSV).await);
    assert_eq!(csv[0]["target_label"], "'+Nightly\n\"sync\"");
    assert_eq!(csv[0]["user_agent"], "curl/8.5.0");
    assert_eq!(csv[0]["details"], "{\"tokens_revoked\":2}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_hold_only_the_events_the_filters_match() {
    let app = TestApp::spawn().await;
    let (me, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let outsider = app
        .create_user("Globex", "hank@globex.test", StaffRole::SuperAdmin)
        .await;
    let mut conn = app.conn().await;
    let day = |d: u32| Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0).unwrap();
    for (who, action, label, at) in [
        (&me, "credential.revoked", "Nightly ERP", day(1)),
        (&me, "credential.revoked", "Hourly", day(2)),
        (&me, "credential.revoked", "nightly backup", day(5)),
        (&me, "credential.disabled", "Nightly ERP", day(2)),
        (&outsider, "credential.revoked", "Nightly globex", day(2)),
    ] {
        NewAuditEvent::unlisted(action, &RequestMeta::default(), at)
            .by(who)
            .target("credential", uuid::Uuid::new_v4(), label)
            .record(&mut conn)
            .await
            .unwrap();
    }
    drop(conn);

    let filters = "credential=NIGHTLY&action=credential.revoked&from=2026-11-01&to=2026-11-02";
    let csv = csv_rows(&boss.get(&format!("{CSV}?{filters}")).await);
    let labels: Vec<&str> = csv.iter().map(|r| r["target_label"].as_str()).collect();
    assert_eq!(labels, ["Nightly ERP"]);
    let ndjson = ndjson_rows(&boss.get(&format!("{NDJSON}?{filters}")).await);
    assert_eq!(ndjson.len(), 1);
    assert_eq!(ndjson[0]["target_label"], "Nightly ERP");

    let all = csv_rows(&boss.get(CSV).await);
    assert!(
        all.iter().all(|r| !r["target_label"].contains("globex")),
        "own organisation only"
    );
    assert_eq!(all.len(), 5, "four events and the sign-in");

    // Nonsense filters are ignored, as on the page, never a 500.
    let page = boss
        .get(&format!("{CSV}?from=nope&to=2026-02-31&page=x"))
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(csv_rows(&page).len(), 5);

    let page = boss.get(&format!("/settings/audit?{filters}")).await;
    assert!(page.body.contains(&format!(
        "href=\"{CSV}?credential=NIGHTLY&#38;action=credential.revoked&#38;from=2026-11-01&#38;to=2026-11-02\""
    )));
    assert!(page.body.contains(&format!(
        "href=\"{NDJSON}?credential=NIGHTLY&#38;action=credential.revoked&#38;from=2026-11-01&#38;to=2026-11-02\""
    )));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_export_reads_page_after_page_without_skipping_or_repeating() {
    let app = TestApp::spawn().await;
    let (me, mut admin) = app.login_as(StaffRole::Admin).await;
    // All in the same second: the order falls back to the id, across page boundaries.
    let at = app.clock.now() - Duration::days(1);
    let events: Vec<NewAuditEvent> = (0..2_345)
        .map(|n| {
            NewAuditEvent::unlisted("test.bulk", &RequestMeta::default(), at)
                .by(&me)
                .details(serde_json::json!({ "n": n }))
        })
        .collect();
    let mut conn = app.conn().await;
    diesel::insert_into(audit_events::table)
        .values(&events)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);

    let lines = ndjson_rows(&admin.get(&format!("{NDJSON}?action=test.bulk")).await);
    let seen: Vec<i64> = lines
        .iter()
        .map(|l| l["details"]["n"].as_i64().unwrap())
        .collect();
    assert_eq!(
        seen,
        (0..2_345).rev().collect::<Vec<_>>(),
        "newest first, each once"
    );
    let csv = csv_rows(&admin.get(&format!("{CSV}?action=test.bulk")).await);
    assert_eq!(csv.len(), 2_345);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_out_visitors_are_sent_to_sign_in_instead_of_an_export() {
    let app = TestApp::spawn().await;
    let mut anonymous = app.client();
    for path in [CSV, NDJSON] {
        let page = anonymous.get(path).await;
        assert_eq!(page.status, 303, "{path}");
        assert!(page.location().unwrap().starts_with("/login"), "{path}");
        assert!(!page.body.contains("action_label"));
    }
}
