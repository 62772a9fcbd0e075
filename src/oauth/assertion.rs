//! Client assertions (`private_key_jwt`, RFC 7523 §2.2 and §3, RFC 7521 §4.2): a JWT the
//! client signs with its private key instead of sending a secret. Read strictly here: the
//! algorithm is RS256 or ES256 and must be the key's own (never `none`, never HMAC), `iss` and
//! `sub` are the client ID, `aud` names this server, `exp` is near, and `jti` is present. The
//! signature is checked against the credential's stored keys (`client_auth`), and the `jti`
//! stored so that no instance accepts it twice.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use crate::credentials::public_key::{Algorithm, PublicKey};
use crate::usage::RefusalReason;

/// `client_assertion_type` for a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// No legitimate assertion is near this size (an RS256 one with 8192-bit key is about 1.5 kB).
const MAX_ASSERTION: usize = 8 * 1024;
/// The latest `exp` accepted, ahead of now: an assertion is made for one request.
pub const MAX_AHEAD: Duration = Duration::minutes(5);
/// Clocks of client and server may differ by this much.
pub const SKEW: Duration = Duration::seconds(30);
const MAX_JTI: usize = 256;

/// Why an assertion was refused (the caller only ever sees `invalid_client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flaw {
    /// Not a JWT we accept: shape, algorithm, claims, audience, or a bad signature.
    Invalid,
    Expired,
    /// No key of the credential has the `kid`, or it has no key at all.
    UnknownKey,
    Replayed,
    /// Never checked (an endpoint that did not ask `client_auth` to prove it): refused.
    Unchecked,
}

impl Flaw {
    pub fn reason(self) -> RefusalReason {
        match self {
            Flaw::Invalid | Flaw::Unchecked => RefusalReason::BadAssertion,
            Flaw::Expired => RefusalReason::AssertionExpired,
            Flaw::UnknownKey => RefusalReason::UnknownKey,
            Flaw::Replayed => RefusalReason::AssertionReplayed,
        }
    }

    /// For the log.
    pub fn as_str(self) -> &'static str {
        match self {
            Flaw::Invalid => "assertion_invalid",
            Flaw::Expired => "assertion_expired",
            Flaw::UnknownKey => "assertion_unknown_key",
            Flaw::Replayed => "assertion_replayed",
            Flaw::Unchecked => "assertion_unchecked",
        }
    }
}

/// An assertion whose shape and claims passed; its signature is not yet checked.
#[derive(Debug, Clone)]
pub struct Assertion<'a> {
    /// `header.payload`, what the signature covers.
    signing_input: &'a str,
    signature: Vec<u8>,
    pub algorithm: Algorithm,
    /// The key it names (an RFC 7638 thumbprint for ours), if it names one.
    pub kid: Option<String>,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

/// The client the assertion says it is (`sub`), unverified: only to know whose keys to check
/// it against and whose throttle counts a failure.
pub fn claimed_client_id(text: &str) -> Option<String> {
    let (_, payload, _) = parts(text)?;
    let payload = decode_json(payload)?;
    payload.get("sub")?.as_str().map(str::to_owned)
}

/// The header, payload and signature of a compact JWS, still base64url.
fn parts(text: &str) -> Option<(&str, &str, &str)> {
    if text.len() > MAX_ASSERTION {
        return None;
    }
    let mut pieces = text.split('.');
    let header = pieces.next()?;
    let payload = pieces.next()?;
    let signature = pieces.next()?;
    if pieces.next().is_some() {
        return None;
    }
    Some((header, payload, signature))
}

fn decode_json(b64: &str) -> Option<serde_json::Map<String, Value>> {
    let bytes = URL_SAFE_NO_PAD.decode(b64).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

/// A NumericDate (RFC 7519 §2): seconds since the epoch, possibly with a fraction.
fn numeric_date(value: &Value) -> Option<DateTime<Utc>> {
    let secs = value.as_f64()?;
    if !secs.is_finite() || secs.abs() > 1e11 {
        return None;
    }
    // Whole seconds are enough to judge a few minutes' window.
    #[allow(clippy::cast_possible_truncation)]
    DateTime::from_timestamp(secs.floor() as i64, 0)
}

/// Reads `text` as an assertion by `client_id` for one of `audiences` at `now`.
pub fn read<'a>(
    text: &'a str,
    client_id: &str,
    audiences: &[String],
    now: DateTime<Utc>,
) -> Result<Assertion<'a>, Flaw> {
    let (header_b64, payload_b64, signature_b64) = parts(text).ok_or(Flaw::Invalid)?;
    let signing_input = text
        .get(..header_b64.len() + 1 + payload_b64.len())
        .ok_or(Flaw::Invalid)?;
    let header = decode_json(header_b64).ok_or(Flaw::Invalid)?;
    let claims = decode_json(payload_b64).ok_or(Flaw::Invalid)?;
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .and_then(Algorithm::parse)
        .ok_or(Flaw::Invalid)?;
    // Extensions we do not understand must not be ignored (RFC 7515 §4.1.11).
    if header.contains_key("crit") {
        return Err(Flaw::Invalid);
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if kid.len() <= 256 => Some(kid.clone()),
        Some(_) => return Err(Flaw::Invalid),
    };
    let text_claim = |name: &str| claims.get(name).and_then(Value::as_str);
    if text_claim("iss") != Some(client_id) || text_claim("sub") != Some(client_id) {
        return Err(Flaw::Invalid);
    }
    let for_us = match claims.get("aud") {
        Some(Value::String(aud)) => audiences.contains(aud),
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .any(|aud| audiences.iter().any(|a| a == aud)),
        _ => false,
    };
    if !for_us {
        return Err(Flaw::Invalid);
    }
    let expires_at = claims
        .get("exp")
        .and_then(numeric_date)
        .ok_or(Flaw::Invalid)?;
    if expires_at + SKEW <= now {
        return Err(Flaw::Expired);
    }
    if expires_at > now + MAX_AHEAD + SKEW {
        return Err(Flaw::Invalid);
    }
    for early in ["nbf", "iat"] {
        match claims.get(early) {
            None => {}
            Some(v) => match numeric_date(v) {
                Some(at) if at <= now + SKEW => {}
                _ => return Err(Flaw::Invalid),
            },
        }
    }
    let jti = text_claim("jti")
        .filter(|j| !j.is_empty() && j.len() <= MAX_JTI && !j.chars().any(char::is_control))
        .ok_or(Flaw::Invalid)?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature_b64)
        .map_err(|_| Flaw::Invalid)?;
    Ok(Assertion {
        signing_input,
        signature,
        algorithm,
        kid,
        jti: jti.to_owned(),
        expires_at,
    })
}

impl Assertion<'_> {
    /// Whether `key` signed it, with the key's own algorithm (which must be the one the
    /// header names: a header cannot choose how a key is used).
    pub fn signed_by(&self, key: &PublicKey) -> bool {
        key.algorithm == self.algorithm
            && key.verifies(self.signing_input.as_bytes(), &self.signature)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    fn jwt(header: &Value, claims: &Value) -> String {
        format!(
            "{}.{}.{}",
            b64(header),
            b64(claims),
            URL_SAFE_NO_PAD.encode(b"sig")
        )
    }

    fn claims(now: DateTime<Utc>) -> Value {
        serde_json::json!({
            "iss": "m2m_ci_a", "sub": "m2m_ci_a", "aud": "http://as.test",
            "exp": (now + Duration::minutes(1)).timestamp(), "jti": "j1",
        })
    }

    #[test]
    fn a_well_formed_assertion_is_read() {
        let now = Utc::now();
        let aud = vec!["http://as.test".to_string()];
        let text = jwt(
            &serde_json::json!({ "alg": "ES256", "kid": "k" }),
            &claims(now),
        );
        let a = read(&text, "m2m_ci_a", &aud, now).unwrap();
        assert_eq!(a.algorithm, Algorithm::Es256);
        assert_eq!(a.kid.as_deref(), Some("k"));
        assert_eq!(a.jti, "j1");
        assert_eq!(a.signature, b"sig");
        assert_eq!(claimed_client_id(&text).as_deref(), Some("m2m_ci_a"));
    }

    #[test]
    fn other_algorithms_audiences_clients_and_times_are_refused() {
        let now = Utc::now();
        let aud = vec!["http://as.test".to_string()];
        let es = serde_json::json!({ "alg": "ES256" });
        for alg in ["none", "HS256", "RS512", "es256"] {
            let text = jwt(&serde_json::json!({ "alg": alg }), &claims(now));
            assert_eq!(
                read(&text, "m2m_ci_a", &aud, now).unwrap_err(),
                Flaw::Invalid,
                "{alg}"
            );
        }
        let mut c = claims(now);
        c["aud"] = "http://elsewhere.test".into();
        assert_eq!(
            read(&jwt(&es, &c), "m2m_ci_a", &aud, now).unwrap_err(),
            Flaw::Invalid
        );
        let c = claims(now);
        assert_eq!(
            read(&jwt(&es, &c), "m2m_ci_b", &aud, now).unwrap_err(),
            Flaw::Invalid
        );
        let mut c = claims(now);
        c["exp"] = (now - Duration::minutes(2)).timestamp().into();
        assert_eq!(
            read(&jwt(&es, &c), "m2m_ci_a", &aud, now).unwrap_err(),
            Flaw::Expired
        );
        let mut c = claims(now);
        c["exp"] = (now + Duration::days(1)).timestamp().into();
        assert_eq!(
            read(&jwt(&es, &c), "m2m_ci_a", &aud, now).unwrap_err(),
            Flaw::Invalid
        );
        let mut c = claims(now);
        c.as_object_mut().unwrap().remove("jti");
        assert_eq!(
            read(&jwt(&es, &c), "m2m_ci_a", &aud, now).unwrap_err(),
            Flaw::Invalid
        );
        let crit = serde_json::json!({ "alg": "ES256", "crit": ["x"] });
        assert_eq!(
            read(&jwt(&crit, &claims(now)), "m2m_ci_a", &aud, now).unwrap_err(),
            Flaw::Invalid
        );
    }

    #[test]
    fn garbage_is_refused_without_a_panic() {
        let now = Utc::now();
        let aud = vec!["x".to_string()];
        for text in [
            "",
            ".",
            "..",
            "a.b.c.d",
            "é.é.é",
            "e30.e30.",
            &"a".repeat(9000),
        ] {
            assert!(read(text, "m2m_ci_a", &aud, now).is_err(), "{text:.20}");
            assert!(claimed_client_id(text).is_none());
        }
    }
}
