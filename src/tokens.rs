//! Client IDs, client secrets and access tokens.
//!
//! Secrets and tokens are 256 bits from the OS CSPRNG followed by a CRC-32 of those bits,
//! base58-encoded behind a recognisable prefix (`m2m_sk_…`, `m2m_at_…`): secret scanners can
//! spot a leaked one, and a mistyped one is refused without a database round trip. Only
//! their SHA-256 digest is ever stored; a fast hash is the right tool for 256-bit random
//! values (argon2 is for human passwords).

use std::fmt;

use subtle::ConstantTimeEq;

use crate::random;

const SECRET_PREFIX: &str = "m2m_sk_";
const ACCESS_TOKEN_PREFIX: &str = "m2m_at_";
const CLIENT_ID_PREFIX: &str = "m2m_ci_";
const RANDOM_BYTES: usize = 32;
const CHECKSUM_BYTES: usize = 4;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ClientSecret,
    AccessToken,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::ClientSecret => SECRET_PREFIX,
            Kind::AccessToken => ACCESS_TOKEN_PREFIX,
        }
    }
}

/// A secret or token in clear: shown once, then dropped. `Debug` never prints it.
#[derive(Clone)]
pub struct PlainSecret(String);

impl PlainSecret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its last four characters: how a person tells two secrets apart without seeing them
    /// ("ending in …a1B2"). Four of 40-odd base58 characters give nothing useful away.
    pub fn last_four(&self) -> String {
        let mut tail: Vec<char> = self.0.chars().rev().take(4).collect();
        tail.reverse();
        tail.into_iter().collect()
    }

    pub fn hash(&self) -> HashedSecret {
        let digest = random::sha256(self.0.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(&digest);
        HashedSecret(out)
    }
}

impl fmt::Debug for PlainSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PlainSecret([redacted])")
    }
}

/// The SHA-256 digest under which a secret or token is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct HashedSecret([u8; 32]);

impl HashedSecret {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, stored: &[u8]) -> bool {
        stored.len() == self.0.len() && bool::from(self.0.as_slice().ct_eq(stored))
    }
}

impl fmt::Debug for HashedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HashedSecret(..)")
    }
}

/// A new secret or token of `kind`.
pub fn generate(kind: Kind) -> Result<PlainSecret, anyhow::Error> {
    let random = random::os_random::<RANDOM_BYTES>()?;
    let mut payload = [0u8; RANDOM_BYTES + CHECKSUM_BYTES];
    payload[..RANDOM_BYTES].copy_from_slice(&random);
    payload[RANDOM_BYTES..].copy_from_slice(&crc32fast::hash(&random).to_be_bytes());
    Ok(PlainSecret(format!(
        "{}{}",
        kind.prefix(),
        bs58::encode(payload).into_string()
    )))
}

/// Accepts `value` only when it has the prefix of `kind` and a valid checksum: a mistyped,
/// truncated or foreign value is refused before any database lookup.
pub fn parse(kind: Kind, value: &str) -> Option<PlainSecret> {
    let encoded = value.strip_prefix(kind.prefix())?;
    if encoded.len() > 64 {
        return None;
    }
    let payload = bs58::decode(encoded).into_vec().ok()?;
    if payload.len() != RANDOM_BYTES + CHECKSUM_BYTES {
        return None;
    }
    let (random, checksum) = payload.split_at(RANDOM_BYTES);
    (crc32fast::hash(random).to_be_bytes() == checksum).then(|| PlainSecret(value.to_string()))
}

/// Longest client ID we accept: ours are 28 or 29 characters.
const MAX_CLIENT_ID_LEN: usize = 64;

/// Whether `value` has the shape of a client ID (`m2m_ci_` and a short run of ASCII letters,
/// digits or `_`): anything else is refused before it reaches a throttle key or a query.
pub fn is_client_id(value: &str) -> bool {
    value.len() <= MAX_CLIENT_ID_LEN
        && value.strip_prefix(CLIENT_ID_PREFIX).is_some_and(|rest| {
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
}

/// A new public client ID (`m2m_ci_` + 128 random bits).
pub fn new_client_id() -> Result<String, anyhow::Error> {
    Ok(format!(
        "{CLIENT_ID_PREFIX}{}",
        bs58::encode(random::os_random::<16>()?).into_string()
    ))
}

#[cfg(test)]
#[allow(clippy::string_slice)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_parse_back_and_hash_consistently() {
        let secret = generate(Kind::ClientSecret).unwrap();
        assert!(secret.expose().starts_with("m2m_sk_"));
        let parsed = parse(Kind::ClientSecret, secret.expose()).unwrap();
        assert!(parsed.hash().matches(secret.hash().as_bytes()));
        assert_ne!(
            generate(Kind::ClientSecret).unwrap().expose(),
            secret.expose()
        );
    }

    #[test]
    fn a_mistyped_or_foreign_value_is_refused_offline() {
        let secret = generate(Kind::ClientSecret).unwrap();
        let value = secret.expose();
        // One character changed.
        let mut chars: Vec<char> = value.chars().collect();
        let last = chars.len() - 1;
        chars[last] = if chars[last] == 'a' { 'b' } else { 'a' };
        let typo: String = chars.into_iter().collect();
        assert!(parse(Kind::ClientSecret, &typo).is_none());
        assert!(
            parse(Kind::AccessToken, value).is_none(),
            "a secret is not a token"
        );
        assert!(parse(Kind::ClientSecret, &value[..value.len() - 3]).is_none());
        assert!(parse(Kind::ClientSecret, "m2m_sk_").is_none());
        assert!(parse(Kind::ClientSecret, "m2m_sk_0OIl").is_none());
    }

    #[test]
    fn debug_output_never_shows_the_value() {
        let secret = generate(Kind::AccessToken).unwrap();
        assert_eq!(format!("{secret:?}"), "PlainSecret([redacted])");
        assert!(!format!("{:?}", secret.hash()).contains(&secret.expose()[7..15]));
    }

    #[test]
    fn client_ids_are_prefixed_and_unique() {
        let a = new_client_id().unwrap();
        assert!(a.starts_with("m2m_ci_") && a.len() > 20);
        assert_ne!(a, new_client_id().unwrap());
    }

    #[test]
    fn only_well_formed_client_ids_pass() {
        assert!(is_client_id(&new_client_id().unwrap()));
        for bad in [
            "",
            "m2m_ci_",
            "m2m_sk_abc",
            "m2m_ci_ab\0c",
            "m2m_ci_abcé",
            "m2m_ci_a b",
            &format!("m2m_ci_{}", "a".repeat(60)),
        ] {
            assert!(!is_client_id(bad), "{bad:?}");
        }
    }
}
