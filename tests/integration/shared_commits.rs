//! Token requests that arrive together share one issuing statement and its commit
//! (`oauth::token_batch`), and each still gets the answer, and the token, its own statement
//! would give.

use diesel_async::RunQueryDsl;
use m2m_console::db::models::issuance::TokenRequest;
use m2m_console::db::models::token_issue::{issue_for_client, issue_many};
use m2m_console::tokens::Kind;

use crate::fixtures::{prepared_statements, presented, setup_on, token, whoami};
use crate::helpers::TestApp;
use crate::hot_path::{hold_sweep, let_sweep, statements};
use crate::shared_statements::{digest, held_at_lock, impostor, second_client};

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_issues_each_token_as_its_own_statement_would() {
    let mut s = setup_on(TestApp::spawn().await, |f| f).await;
    let other = second_client(&mut s).await;
    let right = digest(Kind::ClientSecret, &s.client.secret);
    let theirs = digest(Kind::ClientSecret, &other.secret);
    let wrong = [7u8; 32];
    let now = s.app.clock.now();
    let ip = Some("127.0.0.1");
    let read = ["orders:read".to_string()];
    let both = ["orders:read".to_string(), "orders:write".to_string()];
    let elsewhere = ["billing:read".to_string()];
    let asked = [
        (presented(&s.client.client_id, &right, ip, now), None),
        (presented(&s.client.client_id, &wrong, ip, now), None),
        (
            presented(&other.client_id, &theirs, ip, now),
            Some(&read[..]),
        ),
        (presented("m2m_ci_nobody", &right, ip, now), None),
        (
            presented(&s.client.client_id, &right, ip, now),
            Some(&elsewhere[..]),
        ),
        (
            presented(&s.client.client_id, &right, ip, now),
            Some(&both[..]),
        ),
    ];
    // Request `i` with token digest `j`: the batch's are 0..6, the same requests alone 6..12.
    let hashes: Vec<[u8; 32]> = (0..12).map(|j| [j; 32]).collect();
    let request = |i: usize, j: usize| TokenRequest {
        presented: asked[i].0,
        token_hash: &hashes[j],
        scopes: asked[i].1,
    };
    let batch: Vec<_> = (0..asked.len()).map(|i| request(i, i)).collect();
    let mut conn = s.app.conn().await;
    let issued = issue_many(&mut conn, &batch).await.unwrap();
    assert_eq!(issued.len(), asked.len());
    for (i, (lookup, granted)) in issued.iter().enumerate() {
        let alone = request(i, asked.len() + i);
        let (alone_lookup, alone_granted) = issue_for_client(&mut conn, alone).await.unwrap();
        assert_eq!(
            format!("{lookup:?}"),
            format!("{alone_lookup:?}"),
            "request {i}"
        );
        assert_eq!(
            granted.as_ref().map(|g| &g.scopes),
            alone_granted.as_ref().map(|g| &g.scopes),
            "request {i}"
        );
    }
    // Spot checks, so that agreeing on nothing cannot pass.
    let scopes = |i: usize| issued[i].1.as_ref().map(|g| g.scopes.join(" "));
    assert_eq!(scopes(0).as_deref(), Some("orders:read orders:write"));
    assert_eq!(scopes(2).as_deref(), Some("orders:read"));
    assert_eq!(scopes(5).as_deref(), Some("orders:read orders:write"));
    assert!([1, 3, 4].iter().all(|&i| issued[i].1.is_none()));
    assert!(issued[3].0.client.is_none());
    let checks = |i: usize| issued[i].0.client.as_ref().unwrap().checks;
    assert!(!checks(1).secret && !checks(4).scope);

    // The tokens stored are the granted ones, in the order of their requests.
    #[derive(diesel::QueryableByName)]
    struct Hash {
        #[diesel(sql_type = diesel::sql_types::Bytea)]
        token_hash: Vec<u8>,
    }
    let stored: Vec<Hash> = diesel::sql_query("SELECT token_hash FROM access_tokens ORDER BY id")
        .load(&mut *conn)
        .await
        .unwrap();
    let stored: Vec<Vec<u8>> = stored.into_iter().map(|h| h.token_hash).collect();
    let expected: Vec<Vec<u8>> = [0, 2, 5, 6, 8, 11]
        .iter()
        .map(|&j| hashes[j].to_vec())
        .collect();
    assert_eq!(stored, expected);

    // One statement whatever the batch's size, prepared once per connection.
    let more: Vec<_> = [1, 3].iter().map(|&i| request(i, 0)).collect();
    assert_eq!(issue_many(&mut conn, &more).await.unwrap().len(), 2);
    assert!(issue_many(&mut conn, &[]).await.unwrap().is_empty());
    assert_eq!(prepared_statements(&mut conn, "WITH b AS").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_requests_that_arrive_together_share_statements_and_keep_their_own_answers() {
    let app = TestApp::spawn_with(|s| s.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let mut s = setup_on(app, |f| f).await;
    let other = second_client(&mut s).await;
    let impostor = impostor(&other);
    let kinds = [
        (&s.client, "", 200),
        (&other, "", 200),
        (&impostor, "", 401),
        (&s.client, "&scope=billing:read", 400),
        (&other, "&scope=orders:read", 200),
    ];
    // The app's own sweep would delete `other`'s pushed-out tokens before they are counted.
    let turn = hold_sweep(&s.app).await;
    let before = statements(&s.app, "/oauth/token").await;
    let requests: Vec<_> = (0..40)
        .map(|i| {
            let (client, extra, _) = kinds[i % kinds.len()];
            token(&s.app, client, extra)
        })
        .collect();
    // Every issuing statement writes to the tokens' table.
    let answers = held_at_lock(&s.app, "access_tokens", requests).await;
    let mut tokens = Vec::new();
    for (i, answer) in answers.iter().enumerate() {
        let expected = kinds[i % kinds.len()].2;
        assert_eq!(answer.status, expected, "request {i}: {}", answer.text);
        if expected == 200 {
            tokens.push(answer.json()["access_token"].as_str().unwrap().to_string());
        }
    }
    let sent = statements(&s.app, "/oauth/token").await - before;
    // 40 alone would be 40 statements (and the eight refusals' failure counts, 8 more).
    assert!(
        sent >= 9.0,
        "at least one statement and the failure counts: {sent}"
    );
    assert!(sent <= 30.0, "the requests shared statements: {sent}");

    // Each answer's token was stored (eight for `s.client`, sixteen for `other`, whose ten
    // newest are live).
    let stored: Count = diesel::sql_query("SELECT count(*) AS n FROM access_tokens")
        .get_result(&mut *s.app.conn().await)
        .await
        .unwrap();
    assert_eq!(stored.n, 24);
    let live = futures::future::join_all(tokens.iter().map(|t| whoami(&s.app, t))).await;
    let live = live.iter().filter(|answer| answer.status == 200).count();
    assert_eq!(live, 8 + 10);
    let_sweep(turn).await;
}
