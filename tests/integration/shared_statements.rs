//! Introspections and bearer checks that arrive together share one statement
//! (`oauth::batch_queue`), and each still gets the answer its own statement would give.

use diesel_async::{RunQueryDsl, SimpleAsyncConnection};
use m2m_console::db::models::access_token::{find_active, find_many_active};
use m2m_console::db::models::client_lookup::{find_client_and_token, find_clients_and_tokens};
use m2m_console::tokens::{Kind, parse};

use crate::fixtures::{
    Client, access_token, basic, create_credential, introspect, post, prepared_statements,
    presented, setup_on, valid_form, whoami,
};
use crate::helpers::TestApp;
use crate::hot_path::statements;

pub(crate) async fn second_client(s: &mut crate::fixtures::Setup) -> Client {
    let (id, client_id, secret) =
        create_credential(&s.app, &mut s.admin, &valid_form(&s.catalog)).await;
    Client {
        id,
        client_id,
        secret,
    }
}

/// `client`'s ID with a well-formed secret that is not its own.
pub(crate) fn impostor(client: &Client) -> Client {
    Client {
        id: client.id,
        client_id: client.client_id.clone(),
        secret: m2m_console::tokens::generate(Kind::ClientSecret)
            .unwrap()
            .expose()
            .to_string(),
    }
}

pub(crate) fn digest(kind: Kind, text: &str) -> Vec<u8> {
    parse(kind, text).unwrap().hash().as_bytes().to_vec()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_answers_each_introspection_as_its_own_statement_would() {
    let mut s = setup_on(TestApp::spawn().await, |f| f).await;
    let other = second_client(&mut s).await;
    let mine = access_token(&s.app, &s.client).await;
    let theirs = access_token(&s.app, &other).await;
    let unknown = m2m_console::tokens::generate(Kind::AccessToken).unwrap();
    let (mine, theirs) = (
        digest(Kind::AccessToken, &mine),
        digest(Kind::AccessToken, &theirs),
    );
    let unknown = unknown.hash().as_bytes().to_vec();
    let right = digest(Kind::ClientSecret, &s.client.secret);
    let their_secret = digest(Kind::ClientSecret, &other.secret);
    let wrong = [7u8; 32];
    let now = s.app.clock.now();
    let ip = Some("127.0.0.1");
    let asked = [
        (presented(&s.client.client_id, &right, ip, now), &mine[..]),
        (presented(&s.client.client_id, &wrong, ip, now), &mine[..]),
        (
            presented(&other.client_id, &their_secret, ip, now),
            &unknown[..],
        ),
        (presented("m2m_ci_nobody", &right, ip, now), &theirs[..]),
        (presented(&s.client.client_id, &right, ip, now), &theirs[..]),
        (
            presented(&other.client_id, &their_secret, ip, now),
            &mine[..],
        ),
    ];
    let conn = s.app.conn().await;
    let batch = find_clients_and_tokens(&conn, &asked).await.unwrap();
    assert_eq!(batch.len(), asked.len());
    for (i, ((presented, token), (lookup, found))) in asked.iter().zip(&batch).enumerate() {
        let (alone, alone_found) = find_client_and_token(&conn, *presented, token)
            .await
            .unwrap();
        assert_eq!(format!("{lookup:?}"), format!("{alone:?}"), "request {i}");
        assert_eq!(
            found.as_ref().map(|t| t.token_id),
            alone_found.as_ref().map(|t| t.token_id),
            "request {i}"
        );
    }
    // Spot checks, so that agreeing on nothing cannot pass.
    let secret_ok = |i: usize| batch[i].0.client.as_ref().map(|c| c.checks.secret);
    assert_eq!(secret_ok(0), Some(true));
    assert_eq!(secret_ok(1), Some(false));
    assert!(batch[3].0.client.is_none());
    assert!(batch[0].1.is_some() && batch[4].1.is_some() && batch[5].1.is_some());
    assert!(batch[2].1.is_none());
    assert_eq!(batch[4].1.as_ref().unwrap().client_id, other.client_id);

    // One statement whatever the batch's size, prepared once per connection.
    find_clients_and_tokens(&conn, &asked).await.unwrap();
    let two = find_clients_and_tokens(&conn, &asked[..2]).await.unwrap();
    assert_eq!(two.len(), 2);
    find_clients_and_tokens(&conn, &asked[..1]).await.unwrap();
    assert!(
        find_clients_and_tokens(&conn, &[])
            .await
            .unwrap()
            .is_empty()
    );
    let mut conn = conn;
    assert_eq!(prepared_statements(&mut conn, "SELECT b.i, q.*").await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspections_that_arrive_together_share_statements_and_keep_their_own_answers() {
    let app = TestApp::spawn_with(|s| s.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let mut s = setup_on(app, |f| f).await;
    let other = second_client(&mut s).await;
    let live = access_token(&s.app, &s.client).await;
    let revoked = access_token(&s.app, &s.client).await;
    revoke(&s.app, &s.client, &revoked).await;
    let impostor = impostor(&other);
    let unknown = m2m_console::tokens::generate(Kind::AccessToken).unwrap();
    let unknown = unknown.expose().to_string();
    let before = statements(&s.app, "/oauth/introspect").await;
    let kinds = [
        (&s.client, live.as_str(), Some(true)),
        (&s.client, revoked.as_str(), Some(false)),
        (&s.client, unknown.as_str(), Some(false)),
        (&impostor, live.as_str(), None),
    ];
    let requests: Vec<_> = (0..40)
        .map(|i| {
            let (caller, token, _) = kinds[i % kinds.len()];
            introspect(&s.app, caller, token)
        })
        .collect();
    // Every lookup reads the throttle's table.
    let answers = held_at_lock(&s.app, "limit_windows", requests).await;
    for (i, answer) in answers.iter().enumerate() {
        match kinds[i % kinds.len()].2 {
            Some(active) => {
                assert_eq!(answer.status, 200, "request {i}: {}", answer.text);
                assert_eq!(answer.json()["active"], active, "request {i}");
            }
            None => assert_eq!(answer.status, 401, "request {i}: {}", answer.text),
        }
    }
    let sent = statements(&s.app, "/oauth/introspect").await - before;
    // 40 alone would be 40 statements (and the ten refusals' failure counts, 10 more).
    assert!(
        sent >= 11.0,
        "at least one lookup and the ten failure counts: {sent}"
    );
    assert!(sent <= 30.0, "the lookups shared statements: {sent}");
}

/// Revokes `token` as its client (RFC 7009).
async fn revoke(app: &TestApp, client: &Client, token: &str) {
    let auth = basic(&client.client_id, &client.secret);
    let body = format!("token={token}");
    let res = post(app, "/oauth/revoke", &body, &[("Authorization", &auth)]).await;
    assert_eq!(res.status, 200);
}

/// Runs `requests` while `table` is locked, so that every lookup waits at it until all the
/// requests are in and the ones behind the first statements queue up, whatever the machine's
/// speed; then lets them go.
pub(crate) async fn held_at_lock<F: std::future::Future>(
    app: &TestApp,
    table: &str,
    requests: Vec<F>,
) -> Vec<F::Output> {
    let mut lock = app.conn().await;
    lock.batch_execute(&format!(
        "BEGIN; LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
    ))
    .await
    .unwrap();
    let waiting = format!(
        "SELECT count(*) AS n FROM pg_locks WHERE NOT granted \
         AND relation = '{table}'::regclass \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    );
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut probe = app.conn().await;
    let release = async {
        for _ in 0..200 {
            let n: Count = diesel::sql_query(&waiting)
                .get_result(&mut *probe)
                .await
                .unwrap();
            if n.n > 0 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        // Time for the other requests to reach the queue (they need no statement for that).
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        lock.batch_execute("COMMIT").await.unwrap();
    };
    let (answers, ()) = tokio::join!(futures::future::join_all(requests), release);
    answers
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_of_bearer_checks_answers_each_as_its_own_statement_would() {
    let mut s = setup_on(TestApp::spawn().await, |f| f).await;
    let other = second_client(&mut s).await;
    let mine = access_token(&s.app, &s.client).await;
    let theirs = access_token(&s.app, &other).await;
    let revoked = access_token(&s.app, &s.client).await;
    revoke(&s.app, &s.client, &revoked).await;
    let unknown = m2m_console::tokens::generate(Kind::AccessToken).unwrap();
    let unknown = unknown.hash().as_bytes().to_vec();
    let (mine, theirs, revoked) = (
        digest(Kind::AccessToken, &mine),
        digest(Kind::AccessToken, &theirs),
        digest(Kind::AccessToken, &revoked),
    );
    let now = s.app.clock.now();
    let asked = [
        (&mine[..], Some("127.0.0.1"), now),
        (&revoked[..], Some("127.0.0.1"), now),
        (&unknown[..], None, now),
        (&theirs[..], Some("203.0.113.9"), now),
        (&mine[..], None, now),
    ];
    let conn = s.app.conn().await;
    let batch = find_many_active(&conn, &asked).await.unwrap();
    assert_eq!(batch.len(), asked.len());
    for (i, ((hash, ip, now), found)) in asked.iter().zip(&batch).enumerate() {
        let alone = find_active(&conn, hash, *now, *ip).await.unwrap();
        assert_eq!(format!("{found:?}"), format!("{alone:?}"), "check {i}");
    }
    // Spot checks, so that agreeing on nothing cannot pass.
    assert!(batch[0].is_some() && batch[3].is_some() && batch[4].is_some());
    assert!(batch[1].is_none() && batch[2].is_none());
    assert_eq!(batch[3].as_ref().unwrap().client_id, other.client_id);
    assert!(find_many_active(&conn, &[]).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_checks_that_arrive_together_share_statements_and_keep_their_own_answers() {
    let app = TestApp::spawn_with(|s| s.metrics_addr = Some("127.0.0.1:0".parse().unwrap())).await;
    let s = setup_on(app, |f| f).await;
    let live = access_token(&s.app, &s.client).await;
    let revoked = access_token(&s.app, &s.client).await;
    revoke(&s.app, &s.client, &revoked).await;
    let unknown = m2m_console::tokens::generate(Kind::AccessToken).unwrap();
    let unknown = unknown.expose().to_string();
    let before = statements(&s.app, "/api/v1/whoami").await;
    let kinds = [
        (live.as_str(), 200),
        (revoked.as_str(), 401),
        (unknown.as_str(), 401),
    ];
    let requests: Vec<_> = (0..30)
        .map(|i| whoami(&s.app, kinds[i % kinds.len()].0))
        .collect();
    let answers = held_at_lock(&s.app, "access_tokens", requests).await;
    for (i, answer) in answers.iter().enumerate() {
        assert_eq!(
            answer.status,
            kinds[i % kinds.len()].1,
            "request {i}: {}",
            answer.text
        );
    }
    let sent = statements(&s.app, "/api/v1/whoami").await - before;
    // 30 alone would be 30 statements.
    assert!(sent >= 1.0, "{sent}");
    assert!(sent <= 20.0, "the checks shared statements: {sent}");
}
