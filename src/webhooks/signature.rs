//! Standard Webhooks signing (<https://www.standardwebhooks.com>): each endpoint has its own
//! secret, `whsec_` followed by the base64 of 32 random bytes, and every attempt carries
//! `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed with the
//! decoded bytes after `whsec_`.

use std::fmt;

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::random;

const PREFIX: &str = "whsec_";

/// An endpoint's signing secret in clear: shown once, sealed at rest. `Debug` never prints it.
#[derive(Clone)]
pub struct SigningSecret(String);

impl SigningSecret {
    /// A new secret: 32 bytes (256 bits) from the OS generator.
    pub fn generate() -> Result<Self, anyhow::Error> {
        let bytes = random::os_random::<32>()?;
        Ok(Self(format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        )))
    }

    /// A secret as stored (after `sealed::Sealer::open`); `None` if it is not one.
    pub fn from_stored(bytes: Vec<u8>) -> Option<Self> {
        let text = String::from_utf8(bytes).ok()?;
        let secret = Self(text);
        secret.key().map(|_| secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The HMAC key: the bytes the base64 after `whsec_` encodes.
    fn key(&self) -> Option<Vec<u8>> {
        let encoded = self.0.strip_prefix(PREFIX)?;
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()
            .filter(|key| !key.is_empty())
    }

    /// The `webhook-signature` value of message `id` sent at `timestamp` with `body`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key()?).ok()?;
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        let digest = mac.finalize().into_bytes();
        Some(format!(
            "v1,{}",
            base64::engine::general_purpose::STANDARD.encode(digest)
        ))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningSecret([redacted])")
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SigningSecret {
        SigningSecret::from_stored(s.as_bytes().to_vec()).unwrap()
    }

    #[test]
    fn signatures_match_the_published_test_vectors() {
        // The Standard Webhooks (and Svix) test vector.
        assert_eq!(
            secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
                .sign(
                    "msg_p5jXN8AQM9LWM0D4loKWxJek",
                    1614265330,
                    br#"{"test": 2432232314}"#
                )
                .unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
        // The reference Rust library's own test.
        assert_eq!(
            secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")
                .sign(
                    "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk",
                    1649367553,
                    br#"{"email":"test@example.com","username":"test_user"}"#
                )
                .unwrap(),
            "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw="
        );
    }

    #[test]
    fn a_new_secret_is_32_random_bytes_behind_the_prefix_and_never_printed() {
        let a = SigningSecret::generate().unwrap();
        let b = SigningSecret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with("whsec_"));
        assert_eq!(a.key().unwrap().len(), 32);
        assert_eq!(format!("{a:?}"), "SigningSecret([redacted])");
    }

    #[test]
    fn what_is_not_a_secret_is_refused() {
        for bad in [
            "",
            "whsec_",
            "whsec_!!!",
            "sk_abc",
            "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ] {
            assert!(
                SigningSecret::from_stored(bad.as_bytes().to_vec()).is_none(),
                "{bad}"
            );
        }
    }
}
