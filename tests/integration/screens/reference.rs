//! The API reference inside the console's layout: a side index, its text rendered, one
//! example request (to `PUBLIC_URL`) and response per operation, the errors listed once.

use crate::helpers::TestApp;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reference_gives_each_operation_an_example_against_the_public_url() {
    let app = TestApp::spawn_with(|s| {
        s.public_url = "https://m2m.acme.test".parse().unwrap();
    })
    .await;
    let page = reqwest::get(app.url("/api/v1/docs")).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    // The console's layout: its navigation, and the index beside the text.
    assert!(html.contains("<nav class=\"mainnav\" aria-label=\"Main\">"));
    assert!(html.contains("data-testid=\"reference-index\""));
    // The description's `code` is rendered, not shown with its backticks.
    assert!(html.contains("<code>POST /oauth/token</code>"), "the intro");
    assert!(!html.contains("`POST /oauth/token`"));

    let operations = html.matches("data-testid=\"operation\"").count();
    assert!(operations >= 15, "{operations}");
    assert_eq!(
        html.matches("data-testid=\"example-request\"").count(),
        operations
    );
    assert!(html.contains(
        "curl -s -X POST &#34;https://m2m.acme.test/api/v1/credentials/6f1c2a9e-2b1d-4c55-9a43-7d0e5b8f3c21/rotate&#34;"
    ));
    assert!(html.contains("https://m2m.acme.test/oauth/token"));
    assert!(!html.contains("console.example"), "no made-up host");
    // The errors once, not under every operation.
    assert_eq!(
        html.matches("id=\"problem-precondition-failed\"").count(),
        1
    );
    assert!(!html.contains("<strong>401</strong>"));
    assert!(html.contains("<strong>200</strong>"));
    assert!(!html.contains("<script>") && !html.contains("style=\""));
}
