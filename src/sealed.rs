//! Secrets the server must read back later (a webhook's signing secret; a staff member's TOTP
//! seed next), sealed at rest with XChaCha20-Poly1305 under a 32-byte server key: a copy of
//! the database alone does not reveal them.
//!
//! The key comes from the `DATA_KEY` setting. Without it the server falls back to a key it
//! creates once and keeps in `server_secrets` (then a copy of the database holds both the
//! sealed values and their key: the start-up log says so). A sealed value is
//! `version (1) || nonce (24) || ciphertext || tag (16)`, the nonce random for every seal;
//! the caller's label (such as `webhook_endpoint:<id>`) is authenticated with it, so a value
//! copied onto another row does not open there.

use std::fmt;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

use crate::random;

const VERSION: u8 = 1;
const NONCE_BYTES: usize = 24;
/// The name of the fallback key's row in `server_secrets`.
pub const FALLBACK_KEY_NAME: &str = "data_key";

/// A 32-byte sealing key. `Debug` never prints it.
#[derive(Clone, PartialEq, Eq)]
pub struct DataKey([u8; 32]);

impl DataKey {
    /// A key from its base64 form (standard alphabet, padding optional), as `DATA_KEY` holds it.
    pub fn from_base64(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(raw)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(raw))
            .map_err(|_| {
                "expected 32 bytes in base64, such as the output of `openssl rand -base64 32`"
                    .to_string()
            })?;
        Self::from_bytes(&bytes).ok_or_else(|| {
            format!(
                "expected 32 bytes in base64, got {} bytes (try `openssl rand -base64 32`)",
                bytes.len()
            )
        })
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// A fresh key from the OS generator.
    pub fn random() -> Result<Self, anyhow::Error> {
        Ok(Self(random::os_random::<32>()?))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DataKey([redacted])")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Wrong key, wrong label, or altered bytes: nothing is revealed about which.
    #[error("the sealed value cannot be opened with this server's key")]
    Unreadable,
    #[error("the OS random number generator failed")]
    Random,
}

/// Seals with the current key and opens with it or with an older one (the database's key
/// after `DATA_KEY` was set), so setting a key breaks nothing already sealed.
#[derive(Clone)]
pub struct Sealer {
    current: DataKey,
    older: Vec<DataKey>,
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sealer({} older keys)", self.older.len())
    }
}

impl Sealer {
    pub fn new(current: DataKey, older: Vec<DataKey>) -> Self {
        let older = older.into_iter().filter(|k| *k != current).collect();
        Self { current, older }
    }

    /// `plaintext` sealed under the current key, bound to `label`.
    pub fn seal(&self, label: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let nonce = random::os_random::<NONCE_BYTES>().map_err(|_| SealError::Random)?;
        let ciphertext = self
            .current
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: label.as_bytes(),
                },
            )
            .map_err(|_| SealError::Unreadable)?;
        let mut out = Vec::with_capacity(1 + NONCE_BYTES + ciphertext.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        Ok(out)
    }

    /// What `seal(label, …)` sealed, with whichever of the keys opens it.
    pub fn open(&self, label: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        let Some((&VERSION, rest)) = sealed.split_first() else {
            return Err(SealError::Unreadable);
        };
        let (nonce, ciphertext) = rest
            .split_at_checked(NONCE_BYTES)
            .ok_or(SealError::Unreadable)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| SealError::Unreadable)?;
        std::iter::once(&self.current)
            .chain(&self.older)
            .find_map(|key| {
                key.cipher()
                    .decrypt(
                        &nonce,
                        Payload {
                            msg: ciphertext,
                            aad: label.as_bytes(),
                        },
                    )
                    .ok()
            })
            .ok_or(SealError::Unreadable)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(byte: u8) -> DataKey {
        DataKey([byte; 32])
    }

    #[test]
    fn what_is_sealed_opens_with_the_same_key_and_label_only() {
        let sealer = Sealer::new(key(1), vec![]);
        let sealed = sealer.seal("webhook_endpoint:a", b"whsec_x").unwrap();
        assert_eq!(
            sealer.open("webhook_endpoint:a", &sealed).unwrap(),
            b"whsec_x"
        );
        assert!(!sealed.windows(7).any(|w| w == b"whsec_x"), "not in clear");
        assert_eq!(
            sealer.open("webhook_endpoint:b", &sealed),
            Err(SealError::Unreadable),
            "another label"
        );
        assert_eq!(
            Sealer::new(key(2), vec![]).open("webhook_endpoint:a", &sealed),
            Err(SealError::Unreadable),
            "another key"
        );
        let mut altered = sealed.clone();
        if let Some(last) = altered.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            sealer.open("webhook_endpoint:a", &altered),
            Err(SealError::Unreadable)
        );
        for short in [&[][..], &[1][..], &sealed[..20]] {
            assert_eq!(sealer.open("x", short), Err(SealError::Unreadable));
        }
    }

    #[test]
    fn every_seal_has_its_own_nonce() {
        let sealer = Sealer::new(key(1), vec![]);
        assert_ne!(
            sealer.seal("l", b"same").unwrap(),
            sealer.seal("l", b"same").unwrap()
        );
    }

    #[test]
    fn an_older_key_still_opens_what_it_sealed() {
        let before = Sealer::new(key(1), vec![]).seal("l", b"secret").unwrap();
        let after = Sealer::new(key(2), vec![key(1)]);
        assert_eq!(after.open("l", &before).unwrap(), b"secret");
        let resealed = after.seal("l", b"secret").unwrap();
        assert!(Sealer::new(key(2), vec![]).open("l", &resealed).is_ok());
    }

    #[test]
    fn a_key_is_32_bytes_of_base64_and_never_printed() {
        let raw = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        let parsed = DataKey::from_base64(&raw).unwrap();
        assert_eq!(parsed.as_bytes(), &[7u8; 32]);
        assert!(DataKey::from_base64(raw.trim_end_matches('=')).is_ok());
        assert!(
            DataKey::from_base64("c2hvcnQ=")
                .unwrap_err()
                .contains("got 5 bytes")
        );
        assert!(DataKey::from_base64("not base64!").is_err());
        assert_eq!(format!("{parsed:?}"), "DataKey([redacted])");
    }
}
