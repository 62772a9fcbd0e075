//! Argon2id password hashing for staff accounts, always on a blocking thread so a sign-in
//! never stalls the requests sharing its worker.

use std::sync::{Arc, LazyLock};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::input::{self, Lines};

/// OWASP's first recommended argon2id setting: m=19456 KiB, t=2, p=1.
fn argon2() -> Result<Argon2<'static>, anyhow::Error> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub const MIN_PASSWORD_LEN: usize = 12;
/// In bytes, so that sign-in can refuse a longer one before any work.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Checked before hashing: long passphrases welcome, absurd lengths and control characters
/// refused (sign-in refuses the same, so every password set here can be typed there).
pub fn validate_new_password(password: &SecretString) -> Result<(), String> {
    let password = password.expose_secret();
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Err(format!("Use at least {MIN_PASSWORD_LEN} characters."));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(format!(
            "Use a shorter password (at most {MAX_PASSWORD_BYTES} bytes)."
        ));
    }
    if input::has_control(password, Lines::Single) {
        return Err("Remove the control characters (such as tab) from the password.".into());
    }
    Ok(())
}

fn hash_blocking(password: &str) -> Result<String, anyhow::Error> {
    argon2()?
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2 hashing failed: {e}"))
}

/// A hash of a random password with the same parameters as real ones: verifying against it
/// when the email is unknown costs what a real verification costs.
static DUMMY_HASH: LazyLock<Option<String>> = LazyLock::new(|| {
    let random = crate::random::token_256().ok()?;
    hash_blocking(&random).ok()
});

/// Computes the dummy hash before the first sign-in, so that sign-in is not slower.
pub async fn warm_up() {
    let _ = tokio::task::spawn_blocking(|| LazyLock::force(&DUMMY_HASH)).await;
}

/// The right to run one argon2 computation. Each takes 19 MiB and a core for tens of
/// milliseconds, so an instance runs at most one per core: a burst of sign-ins can neither
/// exhaust memory nor starve the other requests. Held until the computation ends, even when
/// the request that asked for it has gone.
pub struct Argon2Slot {
    _permit: OwnedSemaphorePermit,
}

/// The instance's argon2 slots.
#[derive(Clone)]
pub struct Argon2Pool(Arc<Semaphore>);

impl Argon2Pool {
    pub fn new(slots: usize) -> Self {
        Self(Arc::new(Semaphore::new(slots.max(1))))
    }

    /// A slot if one is free now; `None` tells the caller to answer "busy" at once.
    pub fn try_slot(&self) -> Option<Argon2Slot> {
        self.0
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| Argon2Slot { _permit: permit })
    }

    /// A slot, waiting for one (for staff creating users, who can wait a moment).
    pub async fn slot(&self) -> Result<Argon2Slot, anyhow::Error> {
        self.0
            .clone()
            .acquire_owned()
            .await
            .map(|permit| Argon2Slot { _permit: permit })
            .map_err(|e| anyhow::anyhow!("argon2 slots closed: {e}"))
    }
}

pub async fn hash_password(
    slot: Argon2Slot,
    password: SecretString,
) -> Result<String, anyhow::Error> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        hash_blocking(password.expose_secret())
    })
    .await
    .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))?
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no such
/// user, so both paths take the same time. Returns false for the dummy.
pub async fn verify_password(
    slot: Argon2Slot,
    password: SecretString,
    stored: Option<String>,
) -> Result<bool, anyhow::Error> {
    tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let (hash, real) = match stored {
            Some(hash) => (hash, true),
            None => (
                DUMMY_HASH
                    .clone()
                    .ok_or_else(|| anyhow::anyhow!("no dummy hash"))?,
                false,
            ),
        };
        let ok = argon2()?
            .verify_password(password.expose_secret().as_bytes(), hash.as_str())
            .is_ok();
        Ok(ok && real)
    })
    .await
    .map_err(|e| anyhow::anyhow!("verification task failed: {e}"))?
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_use_the_agreed_parameters() {
        let pool = Argon2Pool::new(1);
        let hash = hash_password(
            pool.slot().await.unwrap(),
            SecretString::from("correct horse battery"),
        )
        .await
        .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("correct horse battery"),
                Some(hash.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("wrong"),
                Some(hash)
            )
            .await
            .unwrap()
        );
        assert!(
            !verify_password(
                pool.slot().await.unwrap(),
                SecretString::from("anything"),
                None
            )
            .await
            .unwrap()
        );
    }

    #[tokio::test]
    async fn a_full_pool_says_so_at_once_and_frees_the_slot_after_the_work() {
        let pool = Argon2Pool::new(1);
        let slot = pool.try_slot().unwrap();
        assert!(pool.try_slot().is_none());
        hash_password(slot, SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(pool.try_slot().is_some());
    }
}
