//! Public keys an Admin adds to a credential for `private_key_jwt` (RFC 7523): pasted as PEM
//! (an RSA key of 2048 bits or more, or a P-256 key; SubjectPublicKeyInfo or PKCS#1) or as a
//! JWK, read here into one shape, the public JWK members, with the RFC 7638 thumbprint. The
//! algorithm is pinned by the key: RS256 for RSA, ES256 for P-256; nothing else is accepted.
//! Verification is ring's (already in the tree for TLS), so there is one crypto stack.
//!
//! Everything pasted is hostile: sizes are bounded before decoding, the DER reader never
//! indexes past its input, and a private key pasted by mistake is refused with a message
//! that says so (and is never stored or echoed).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::signature;
use sha2::{Digest, Sha256};

pub use crate::db::models::credential_key::Algorithm;

/// The longest text accepted (an RSA 8192-bit PEM is about 1.5 kB).
pub const MAX_KEY_TEXT: usize = 8 * 1024;
const MIN_RSA_BITS: usize = 2048;
const MAX_RSA_BITS: usize = 8192;

/// A public key as stored: its algorithm, the JWK members that make it, and its thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub algorithm: Algorithm,
    /// The public JWK (`kty` and `n`/`e` or `crv`/`x`/`y`), as RFC 7638 orders them.
    pub jwk: serde_json::Value,
    /// RFC 7638: base64url of the SHA-256 of the canonical JWK.
    pub thumbprint: String,
    /// RSA modulus size in bits (256 for P-256), to show.
    pub bits: usize,
}

impl PublicKey {
    /// Reads a pasted key: PEM or a JWK (a JSON object).
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.is_empty() {
            return Err("Paste a public key: PEM (-----BEGIN PUBLIC KEY-----) or a JWK.".into());
        }
        if text.len() > MAX_KEY_TEXT {
            return Err(format!(
                "A public key is at most {MAX_KEY_TEXT} characters."
            ));
        }
        if text.contains("PRIVATE KEY") || text.contains("\"d\"") {
            return Err(
                "This is a private key. Paste only the public key; keep the private key where it is."
                    .into(),
            );
        }
        if text.starts_with('{') {
            Self::from_jwk(text)
        } else if text.starts_with("-----BEGIN") {
            Self::from_pem(text)
        } else {
            Err("Paste a public key: PEM (-----BEGIN PUBLIC KEY-----) or a JWK.".into())
        }
    }

    fn from_jwk(text: &str) -> Result<Self, String> {
        let jwk: serde_json::Value =
            serde_json::from_str(text).map_err(|_| "This JWK is not valid JSON.".to_string())?;
        let member = |name: &str| jwk.get(name).and_then(serde_json::Value::as_str);
        let bytes = |name: &str| -> Result<Vec<u8>, String> {
            member(name)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
                .ok_or_else(|| format!("The JWK's \"{name}\" is missing or not base64url."))
        };
        if let Some(alg) = member("alg") {
            let expected = match member("kty") {
                Some("RSA") => "RS256",
                _ => "ES256",
            };
            if alg != expected {
                return Err(format!(
                    "Only RS256 (RSA) and ES256 (P-256) keys are accepted; this JWK says {}.",
                    crate::input::quoted(alg, 40)
                ));
            }
        }
        if member("use").is_some_and(|u| u != "sig") {
            return Err("This JWK is not for signatures (\"use\" is not \"sig\").".into());
        }
        match member("kty") {
            Some("RSA") => Self::rsa(&bytes("n")?, &bytes("e")?),
            Some("EC") if member("crv") == Some("P-256") => {
                let (x, y) = (bytes("x")?, bytes("y")?);
                Self::p256(&x, &y)
            }
            Some("EC") => Err("Only P-256 elliptic-curve keys are accepted.".into()),
            _ => Err("Only RSA and P-256 (EC) keys are accepted.".into()),
        }
    }

    fn from_pem(text: &str) -> Result<Self, String> {
        let (label, der) = pem_body(text)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki(&der),
            "RSA PUBLIC KEY" => {
                let (n, e) = rsa_public_key(&der).ok_or("This RSA public key cannot be read.")?;
                Self::rsa(&n, &e)
            }
            "CERTIFICATE" => {
                Err("Paste the public key, not a certificate (openssl x509 -pubkey -noout).".into())
            }
            other => Err(format!(
                "A PEM “{}” is not a public key.",
                crate::input::quoted(other, 40)
            )),
        }
    }

    fn from_spki(der: &[u8]) -> Result<Self, String> {
        let bad = || "This public key cannot be read.".to_string();
        let (spki, _) = der_take(der, SEQUENCE).ok_or_else(bad)?;
        let (algorithm, rest) = der_take(spki, SEQUENCE).ok_or_else(bad)?;
        let (bits, _) = der_take(rest, BIT_STRING).ok_or_else(bad)?;
        let (unused, key) = bits.split_first().ok_or_else(bad)?;
        if *unused != 0 {
            return Err(bad());
        }
        let (oid, params) = der_take(algorithm, OID).ok_or_else(bad)?;
        if oid == OID_RSA {
            let (n, e) = rsa_public_key(key).ok_or_else(bad)?;
            Self::rsa(&n, &e)
        } else if oid == OID_EC {
            let (curve, _) = der_take(params, OID).ok_or_else(bad)?;
            if curve != OID_P256 {
                return Err("Only P-256 elliptic-curve keys are accepted.".into());
            }
            match key.split_first() {
                Some((4, point)) if point.len() == 64 => {
                    let (x, y) = point.split_at(32);
                    Self::p256(x, y)
                }
                _ => Err("Only uncompressed P-256 points are accepted.".into()),
            }
        } else {
            Err("Only RSA and P-256 keys are accepted (not Ed25519, DSA or others).".into())
        }
    }

    fn rsa(n: &[u8], e: &[u8]) -> Result<Self, String> {
        let n = strip_zeros(n);
        let e = strip_zeros(e);
        let bits = n.first().map_or(0, |top| {
            (n.len() - 1) * 8 + (8 - usize::try_from(top.leading_zeros()).unwrap_or(8))
        });
        if bits < MIN_RSA_BITS {
            return Err(format!(
                "This RSA key has {bits} bits; use one of at least {MIN_RSA_BITS}."
            ));
        }
        if bits > MAX_RSA_BITS || e.is_empty() || e.len() > 4 {
            return Err("This RSA key is not one we can use (modulus over 8192 bits or an unusual exponent).".into());
        }
        let jwk = serde_json::json!({
            "e": URL_SAFE_NO_PAD.encode(e),
            "kty": "RSA",
            "n": URL_SAFE_NO_PAD.encode(n),
        });
        Ok(Self::with_thumbprint(Algorithm::Rs256, jwk, bits))
    }

    fn p256(x: &[u8], y: &[u8]) -> Result<Self, String> {
        if x.len() != 32 || y.len() != 32 {
            return Err("A P-256 key's x and y are 32 bytes each.".into());
        }
        let mut point = vec![4u8];
        point.extend_from_slice(x);
        point.extend_from_slice(y);
        // A point off the curve is refused by ring at every verification, so such a key
        // can never authenticate anyone.
        let jwk = serde_json::json!({
            "crv": "P-256",
            "kty": "EC",
            "x": URL_SAFE_NO_PAD.encode(x),
            "y": URL_SAFE_NO_PAD.encode(y),
        });
        Ok(Self::with_thumbprint(Algorithm::Es256, jwk, 256))
    }

    fn with_thumbprint(algorithm: Algorithm, jwk: serde_json::Value, bits: usize) -> Self {
        // serde_json keeps object members sorted, which is RFC 7638's canonical order, with no
        // whitespace.
        let canonical = jwk.to_string();
        let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()));
        Self {
            algorithm,
            jwk,
            thumbprint,
            bits,
        }
    }

    /// A key as stored (`algorithm` and `jwk` columns).
    pub fn stored(algorithm: Algorithm, jwk: &serde_json::Value) -> Option<Self> {
        let member = |name: &str| {
            jwk.get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        let key = match algorithm {
            Algorithm::Rs256 => Self::rsa(&member("n")?, &member("e")?),
            Algorithm::Es256 => Self::p256(&member("x")?, &member("y")?),
        };
        key.ok()
    }

    /// Whether `signature` is this key's over `message`, with the key's own algorithm.
    pub fn verifies(&self, message: &[u8], sig: &[u8]) -> bool {
        let member = |name: &str| {
            self.jwk
                .get(name)
                .and_then(serde_json::Value::as_str)
                .and_then(|v| URL_SAFE_NO_PAD.decode(v).ok())
        };
        match self.algorithm {
            Algorithm::Rs256 => {
                let (Some(n), Some(e)) = (member("n"), member("e")) else {
                    return false;
                };
                let key = signature::RsaPublicKeyComponents { n, e };
                key.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                    .is_ok()
            }
            Algorithm::Es256 => {
                let (Some(x), Some(y)) = (member("x"), member("y")) else {
                    return false;
                };
                let mut point = vec![4u8];
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(message, sig)
                    .is_ok()
            }
        }
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// The label and the decoded body of the one PEM block in `text`.
fn pem_body(text: &str) -> Result<(String, Vec<u8>), String> {
    let bad = || "This PEM block cannot be read.".to_string();
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let first = lines.next().ok_or_else(bad)?;
    let label = first
        .strip_prefix("-----BEGIN ")
        .and_then(|l| l.strip_suffix("-----"))
        .ok_or_else(bad)?
        .to_string();
    let end = format!("-----END {label}-----");
    let mut body = String::new();
    let mut ended = false;
    for line in lines {
        if line == end {
            ended = true;
            break;
        }
        if line.contains(':') {
            continue; // RFC 1421 headers (Proc-Type …) carry nothing we need.
        }
        body.push_str(line);
    }
    if !ended {
        return Err(bad());
    }
    let der = STANDARD.decode(body.as_bytes()).map_err(|_| bad())?;
    Ok((label, der))
}

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const OID: u8 = 0x06;
const INTEGER: u8 = 0x02;
/// 1.2.840.113549.1.1.1 rsaEncryption
const OID_RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
/// 1.2.840.10045.2.1 id-ecPublicKey
const OID_EC: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// 1.2.840.10045.3.1.7 prime256v1
const OID_P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

/// One DER element of type `tag` at the start of `input`: its contents and what follows.
fn der_take(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 3 {
            return None;
        }
        let (len_bytes, rest) = rest.split_at_checked(count)?;
        let len = len_bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    rest.split_at_checked(len)
}

/// PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }.
fn rsa_public_key(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    let (seq, _) = der_take(der, SEQUENCE)?;
    let (n, rest) = der_take(seq, INTEGER)?;
    let (e, _) = der_take(rest, INTEGER)?;
    Some((n.to_vec(), e.to_vec()))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};

    fn p256_pair() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn spki_pem(point: &[u8]) -> String {
        let mut der = vec![0x30, 0x59, 0x30, 0x13, 0x06, 0x07];
        der.extend_from_slice(OID_EC);
        der.extend_from_slice(&[0x06, 0x08]);
        der.extend_from_slice(OID_P256);
        der.extend_from_slice(&[0x03, 0x42, 0x00]);
        der.extend_from_slice(point);
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            STANDARD.encode(der)
        )
    }

    #[test]
    fn a_p256_key_reads_the_same_from_pem_and_jwk_and_verifies_its_signatures() {
        let pair = p256_pair();
        let point = pair.public_key().as_ref();
        let from_pem = PublicKey::parse(&spki_pem(point)).unwrap();
        assert_eq!(from_pem.algorithm, Algorithm::Es256);
        let jwk = from_pem.jwk.to_string();
        let from_jwk = PublicKey::parse(&jwk).unwrap();
        assert_eq!(from_pem, from_jwk);
        let rng = SystemRandom::new();
        let sig = pair.sign(&rng, b"hello").unwrap();
        assert!(from_pem.verifies(b"hello", sig.as_ref()));
        assert!(!from_pem.verifies(b"hullo", sig.as_ref()));
        let stored = PublicKey::stored(Algorithm::Es256, &from_pem.jwk).unwrap();
        assert_eq!(stored, from_pem);
    }

    #[test]
    fn the_thumbprint_follows_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#;
        let key = PublicKey::parse(jwk).unwrap();
        assert_eq!(
            key.thumbprint,
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(key.bits, 2048);
    }

    #[test]
    fn private_short_and_other_keys_are_refused_without_a_panic() {
        for bad in [
            "",
            "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----",
            r#"{"kty":"EC","crv":"P-256","x":"a","y":"b","d":"c"}"#,
            r#"{"kty":"oct","k":"c2VjcmV0"}"#,
            r#"{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}"#,
            r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#,
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMAA=\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMIIBIjAN",
            "ssh-rsa AAAAB3NzaC1yc2E",
            "{not json",
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad:?}");
        }
        assert!(PublicKey::parse(&"A".repeat(MAX_KEY_TEXT + 1)).is_err());
        // Truncated DER at every length never panics.
        let pair = p256_pair();
        let pem = spki_pem(pair.public_key().as_ref());
        let (_, der) = pem_body(&pem).unwrap();
        for cut in 0..der.len() {
            let _ = PublicKey::from_spki(der.get(..cut).unwrap());
        }
    }
}
