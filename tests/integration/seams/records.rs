//! What the records keep of a webhook URL: the audit log (which every Viewer reads and
//! exports) holds its scheme, host and a digest of the rest, never the whole URL; the full URL
//! stays on the Super Admin's webhook pages.

use m2m_console::db::models::user::StaffRole;
use m2m_console::paths;

use crate::fixtures::*;
use crate::helpers::TestApp;

const SECRET_PART: &str = "T0AAAA/B0BBBB/xoxbSecretPath";
const SECRET_QUERY: &str = "token=s3cr3tQuery";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_never_holds_a_webhook_url_whole() {
    let app = TestApp::spawn_with(local_webhooks).await;
    let (boss_user, mut boss) = app.login_as(StaffRole::SuperAdmin).await;
    let url = format!("http://127.0.0.1:9/services/{SECRET_PART}?{SECRET_QUERY}");
    let (id, _) = register_webhook(&app, &mut boss, &url, &["credential.revoked"]).await;
    let moved = format!("http://127.0.0.1:9/services/{SECRET_PART}2?{SECRET_QUERY}");
    let form = [
        ("url", moved.as_str()),
        ("events", "credential.revoked"),
        ("enabled", "on"),
    ];
    assert_eq!(boss.post_form(&paths::webhook(id), &form).await.status, 303);
    assert_eq!(
        boss.post_form(&paths::webhook_action(id, "rotate"), &[])
            .await
            .status,
        200
    );

    let detail = boss.get(&paths::webhook(id)).await;
    assert!(
        detail.body.contains(SECRET_PART),
        "the Super Admin sees it whole"
    );

    let rows = audited(&app, boss_user.org_id, "webhook.created").await;
    let created = &rows[0];
    let label = created.target_label.clone().unwrap_or_default();
    assert!(label.starts_with("http://127.0.0.1:9/"), "{label}");
    assert!(label.contains("sha256:"), "{label}");
    let (_, mut viewer) = app.login_as(StaffRole::Viewer).await;
    let log = viewer.get(paths::AUDIT).await;
    let csv = viewer.get(paths::AUDIT_EXPORT_CSV).await;
    let ndjson = viewer.get(paths::AUDIT_EXPORT_NDJSON).await;
    for (what, body) in [
        ("log", &log.body),
        ("csv", &csv.body),
        ("ndjson", &ndjson.body),
    ] {
        assert!(body.contains("http://127.0.0.1:9/"), "{what}: {body}");
        assert!(!body.contains("xoxbSecretPath"), "{what}: {body}");
        assert!(!body.contains("s3cr3tQuery"), "{what}: {body}");
    }
    assert!(
        log.body.contains("Webhook endpoint edited")
            && log.body.contains("Webhook signing secret rotated"),
        "{}",
        log.body
    );
}
