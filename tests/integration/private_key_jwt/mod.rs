//! Issue 23: `private_key_jwt` (RFC 7523). Keys are added through the console and the API;
//! assertions are signed here with ring (ES256 with a fresh P-256 key, RS256 with a fixed
//! 2048-bit test key) and sent to the real endpoints.

mod keys;
mod refusals;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair};
use serde_json::{Value, json};

use crate::fixtures::*;
use crate::helpers::TestApp;

pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// A test-only RSA key (never used anywhere else).
const RSA_PRIVATE_PEM: &str = include_str!("test_only_rsa_2048.pem");
pub const RSA_PUBLIC_PEM: &str = include_str!("test_only_rsa_2048.pub.pem");

pub enum Signer {
    Es256(EcdsaKeyPair),
    Rs256(RsaKeyPair),
}

impl Signer {
    pub fn es256() -> Self {
        let rng = SystemRandom::new();
        let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
        Signer::Es256(EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap())
    }

    pub fn rs256() -> Self {
        let body: String = RSA_PRIVATE_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let der = STANDARD.decode(body).unwrap();
        Signer::Rs256(RsaKeyPair::from_pkcs8(&der).unwrap())
    }

    pub fn alg(&self) -> &'static str {
        match self {
            Signer::Es256(_) => "ES256",
            Signer::Rs256(_) => "RS256",
        }
    }

    /// The public JWK, as a client would paste it.
    pub fn jwk(&self) -> Value {
        match self {
            Signer::Es256(pair) => {
                let point = pair.public_key().as_ref();
                json!({
                    "kty": "EC", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
                })
            }
            Signer::Rs256(pair) => {
                let public: ring::rsa::PublicKeyComponents<Vec<u8>> = pair.public().into();
                json!({
                    "kty": "RSA",
                    "n": URL_SAFE_NO_PAD.encode(&public.n),
                    "e": URL_SAFE_NO_PAD.encode(&public.e),
                })
            }
        }
    }

    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Signer::Es256(pair) => pair.sign(&rng, message).unwrap().as_ref().to_vec(),
            Signer::Rs256(pair) => {
                let mut sig = vec![0; pair.public().modulus_len()];
                pair.sign(&signature::RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .unwrap();
                sig
            }
        }
    }

    /// A compact JWS of `header` and `claims`, signed by this key.
    pub fn jws(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig = self.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// Claims of a good assertion by `client_id` for the token endpoint, on the app's clock.
pub fn claims(app: &TestApp, client_id: &str) -> Value {
    let now = app.clock.now().timestamp();
    json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{}/oauth/token", app.state.settings.issuer()),
        "exp": now + 60,
        "iat": now,
        "jti": uuid::Uuid::new_v4().to_string(),
    })
}

/// A good assertion by `client_id`, signed by `signer`, naming no key.
pub fn assertion(app: &TestApp, signer: &Signer, client_id: &str) -> String {
    signer.jws(
        &json!({ "alg": signer.alg(), "typ": "JWT" }),
        &claims(app, client_id),
    )
}

/// A form body authenticating with `assertion`, plus `extra` (`&name=value…`).
pub fn body(assertion: &str, extra: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    format!(
        "client_assertion_type={}&client_assertion={}{extra}",
        enc(ASSERTION_TYPE),
        enc(assertion)
    )
}

/// `POST /oauth/token` with `assertion`.
pub async fn token_with(app: &TestApp, assertion: &str) -> Answer {
    post(
        app,
        "/oauth/token",
        &body(assertion, "&grant_type=client_credentials"),
        &[],
    )
    .await
}

/// Adds `key` (a JWK or PEM text) to the setup credential from the console, as its Admin.
pub async fn add_key_in_console(s: &mut Setup, key: &str) -> crate::helpers::Page {
    let path = format!("{}/keys", m2m_console::paths::credential(s.client.id));
    s.admin
        .post_form(&path, &[("public_key", key), ("expires_at", "")])
        .await
}

/// The keys of credential `id`, oldest first.
pub async fn keys_of(
    app: &TestApp,
    id: m2m_console::db::ids::CredentialId,
) -> Vec<m2m_console::db::models::credential_key::CredentialKey> {
    m2m_console::db::models::credential_key::CredentialKey::of(&mut *app.conn().await, id)
        .await
        .unwrap()
}
