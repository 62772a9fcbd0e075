//! Argon2id password hashing for staff accounts, always on a blocking thread so a sign-in
//! never stalls the requests sharing its worker.

use std::sync::LazyLock;

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use secrecy::{ExposeSecret, SecretString};

/// OWASP's first recommended argon2id setting: m=19456 KiB, t=2, p=1.
fn argon2() -> Result<Argon2<'static>, anyhow::Error> {
    let params =
        Params::new(19_456, 2, 1, None).map_err(|e| anyhow::anyhow!("argon2 params: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub const MIN_PASSWORD_LEN: usize = 12;
pub const MAX_PASSWORD_LEN: usize = 1024;

/// Checked before hashing: long passphrases welcome, absurd lengths refused.
pub fn validate_new_password(password: &SecretString) -> Result<(), String> {
    let len = password.expose_secret().chars().count();
    if len < MIN_PASSWORD_LEN {
        return Err(format!("Use at least {MIN_PASSWORD_LEN} characters."));
    }
    if len > MAX_PASSWORD_LEN {
        return Err(format!("Use at most {MAX_PASSWORD_LEN} characters."));
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

pub async fn hash_password(password: SecretString) -> Result<String, anyhow::Error> {
    tokio::task::spawn_blocking(move || hash_blocking(password.expose_secret()))
        .await
        .map_err(|e| anyhow::anyhow!("hashing task failed: {e}"))?
}

/// Verifies `password` against `stored`, or against the dummy hash when there is no such
/// user, so both paths take the same time. Returns false for the dummy.
pub async fn verify_password(
    password: SecretString,
    stored: Option<String>,
) -> Result<bool, anyhow::Error> {
    tokio::task::spawn_blocking(move || {
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
        let hash = hash_password(SecretString::from("correct horse battery"))
            .await
            .unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password(
                SecretString::from("correct horse battery"),
                Some(hash.clone())
            )
            .await
            .unwrap()
        );
        assert!(
            !verify_password(SecretString::from("wrong"), Some(hash))
                .await
                .unwrap()
        );
        assert!(
            !verify_password(SecretString::from("anything"), None)
                .await
                .unwrap()
        );
    }
}
