//! Every way an assertion can be wrong is `invalid_client` (401 with a challenge, never a
//! 5xx), counted by the failure throttle and shown in the credential's refusal reasons.

use serde_json::json;

use super::keys::refusal_reasons;
use super::*;

struct Keyed {
    s: Setup,
    signer: Signer,
    kid: String,
}

async fn keyed() -> Keyed {
    let mut s = setup().await;
    let signer = Signer::es256();
    assert_eq!(
        add_key_in_console(&mut s, &signer.jwk().to_string())
            .await
            .status,
        303
    );
    let kid = keys_of(&s.app, s.client.id).await[0].thumbprint.clone();
    Keyed { s, signer, kid }
}

fn refused(answer: &Answer, case: &str) {
    assert_eq!(answer.status, 401, "{case}: {}", answer.text);
    assert_eq!(answer.json()["error"], "invalid_client", "{case}");
    assert!(answer.header("www-authenticate").is_some(), "{case}");
}

#[tokio::test]
async fn a_replayed_assertion_is_refused_here_and_on_another_instance() {
    let k = keyed().await;
    let once = assertion(&k.s.app, &k.signer, &k.s.client.client_id);
    assert_eq!(token_with(&k.s.app, &once).await.status, 200);
    refused(&token_with(&k.s.app, &once).await, "replay, same instance");
    let other = k.s.app.second_instance().await;
    refused(&token_with(&other, &once).await, "replay, other instance");
    // Each instance counted its own refusal.
    k.s.app.flush_usage().await;
    other.flush_usage().await;
    assert_eq!(
        refusal_reasons(&k.s.app, k.s.client.id).await,
        ["refused_assertion_replayed", "refused_assertion_replayed"]
    );
}

#[tokio::test]
async fn wrong_audience_expiry_algorithm_key_and_client_are_each_refused() {
    let k = keyed().await;
    let app = &k.s.app;
    let id = k.s.client.client_id.as_str();
    let es256 = json!({ "alg": "ES256", "kid": k.kid });
    let now = app.clock.now().timestamp();
    let with_claim = |name: &str, value: serde_json::Value| {
        let mut c = claims(app, id);
        c[name] = value;
        k.signer.jws(&es256, &c)
    };
    let unsigned = |header: serde_json::Value| {
        let c = claims(app, id);
        format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(c.to_string())
        )
    };
    // HS256 keyed with the public key's JWK text: the classic algorithm confusion.
    let hs256 = {
        let header = json!({ "alg": "HS256", "kid": k.kid });
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims(app, id).to_string())
        );
        let key = ring::hmac::Key::new(
            ring::hmac::HMAC_SHA256,
            k.signer.jwk().to_string().as_bytes(),
        );
        let tag = ring::hmac::sign(&key, input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    };
    let other_key = Signer::es256().jws(&json!({ "alg": "ES256" }), &claims(app, id));
    let unknown_kid = k
        .signer
        .jws(&json!({ "alg": "ES256", "kid": "nope" }), &claims(app, id));
    let other_client = {
        let other = "m2m_ci_someoneelse";
        k.signer.jws(&es256, &claims(app, other))
    };
    let cases = [
        (
            "wrong aud",
            with_claim("aud", json!("https://elsewhere.test/oauth/token")),
        ),
        ("expired", with_claim("exp", json!(now - 120))),
        ("exp a day ahead", with_claim("exp", json!(now + 86_400))),
        ("no jti", {
            let mut c = claims(app, id);
            c.as_object_mut().unwrap().remove("jti");
            k.signer.jws(&es256, &c)
        }),
        ("alg none", unsigned(json!({ "alg": "none" }))),
        ("HS256 with the public key", hs256),
        ("signed by another key", other_key),
        ("unknown kid", unknown_kid),
        ("another credential's client id", other_client),
        ("not a JWT", "not.a.jwt".to_string()),
    ];
    for (case, jws) in &cases {
        refused(&token_with(app, jws).await, case);
    }
    // A client_id in the body must be the assertion's subject.
    let good = assertion(app, &k.signer, id);
    let mismatched = post(
        app,
        "/oauth/token",
        &body(
            &good,
            "&grant_type=client_credentials&client_id=m2m_ci_other",
        ),
        &[],
    )
    .await;
    refused(&mismatched, "client_id differs");

    app.flush_usage().await;
    let mut reasons = refusal_reasons(app, k.s.client.id).await;
    reasons.sort();
    reasons.dedup();
    assert_eq!(
        reasons,
        [
            "refused_assertion",
            "refused_assertion_expired",
            "refused_unknown_key"
        ]
    );
}

#[tokio::test]
async fn repeated_bad_assertions_are_throttled_like_wrong_secrets() {
    let k = keyed().await;
    let app = &k.s.app;
    let bad = Signer::es256();
    let mut statuses = Vec::new();
    for _ in 0..25 {
        let jws = assertion(app, &bad, &k.s.client.client_id);
        statuses.push(token_with(app, &jws).await.status);
    }
    assert!(
        statuses.iter().all(|s| *s == 401 || *s == 429),
        "{statuses:?}"
    );
    assert!(statuses.contains(&429), "never throttled: {statuses:?}");
}

#[tokio::test]
async fn an_assertion_with_a_secret_or_basic_auth_is_two_methods() {
    let k = keyed().await;
    let app = &k.s.app;
    let jws = assertion(app, &k.signer, &k.s.client.client_id);
    let both = post(
        app,
        "/oauth/token",
        &body(
            &jws,
            &format!(
                "&grant_type=client_credentials&client_secret={}",
                k.s.client.secret
            ),
        ),
        &[],
    )
    .await;
    assert_eq!(both.status, 400, "{}", both.text);
    let auth = basic(&k.s.client.client_id, &k.s.client.secret);
    let with_basic = post(
        app,
        "/oauth/token",
        &body(&jws, "&grant_type=client_credentials"),
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(with_basic.status, 400, "{}", with_basic.text);
    let wrong_type = post(
        app,
        "/oauth/token",
        &format!("grant_type=client_credentials&client_assertion_type=saml&client_assertion={jws}"),
        &[],
    )
    .await;
    refused(&wrong_type, "another assertion type");
}
