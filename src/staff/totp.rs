//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 30-second
//! steps, six digits, as every authenticator app does by default. Pure functions; who may
//! use which step (replay) is `staff::two_factor`'s rule.

use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// Length of a step, in seconds.
pub const STEP_SECONDS: i64 = 30;
/// Steps either side of now that are still accepted (clock drift, typing time).
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a new key: 160 bits, RFC 4226's recommendation for HMAC-SHA1.
pub const KEY_BYTES: usize = 20;
const DIGITS: u32 = 6;

/// The step `now` falls in.
pub fn step_at(now: DateTime<Utc>) -> i64 {
    now.timestamp().div_euclid(STEP_SECONDS)
}

/// The six-digit code of `step` under `key`.
pub fn code_at(key: &[u8], step: i64) -> Option<String> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).ok()?;
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    // Dynamic truncation (RFC 4226 §5.3).
    let offset = usize::from(digest.last()? & 0x0f);
    let bytes: [u8; 4] = digest.get(offset..offset + 4)?.try_into().ok()?;
    let value = u32::from_be_bytes(bytes) & 0x7fff_ffff;
    Some(format!("{:06}", value % 10u32.pow(DIGITS)))
}

/// The step within `SKEW_STEPS` of `now` whose code is `typed` and that is later than
/// `last_used` (a code is accepted once); `None` when there is none. Every candidate is
/// compared in constant time.
pub fn matching_step(
    key: &[u8],
    typed: &str,
    now: DateTime<Utc>,
    last_used: Option<i64>,
) -> Option<i64> {
    use subtle::ConstantTimeEq;
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if typed.len() != DIGITS as usize || !typed.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in current - SKEW_STEPS..=current + SKEW_STEPS {
        let Some(code) = code_at(key, step) else {
            continue;
        };
        let same: bool = code.as_bytes().ct_eq(typed.as_bytes()).into();
        if same && last_used.is_none_or(|last| step > last) && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The key as people type it into an app: base32 (RFC 4648) without padding.
pub fn key_base32(key: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(key)
}

/// The `otpauth://` URI authenticator apps read from the QR code (never put in a URL of
/// ours: it holds the key).
pub fn otpauth_uri(issuer: &str, account: &str, key: &[u8]) -> String {
    let label = format!("{issuer}:{account}");
    let mut uri = url::Url::parse("otpauth://totp/").ok();
    if let Some(uri) = uri.as_mut() {
        uri.query_pairs_mut()
            .append_pair("secret", &key_base32(key))
            .append_pair("issuer", issuer)
            .append_pair("algorithm", "SHA1")
            .append_pair("digits", "6")
            .append_pair("period", "30");
    }
    let query = uri
        .as_ref()
        .and_then(|u| u.query())
        .unwrap_or_default()
        .to_string();
    let label: String = url::form_urlencoded::byte_serialize(label.as_bytes())
        .collect::<String>()
        .replace('+', "%20");
    format!("otpauth://totp/{label}?{query}")
}

/// The QR code of `text` as SVG markup (black modules on white, no style attributes).
pub fn qr_svg(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// RFC 6238 appendix B, SHA-1 rows (eight digits there; our six are the last six).
    #[test]
    fn codes_match_the_rfc_test_vectors() {
        let key = b"12345678901234567890";
        for (time, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
        ] {
            let at = Utc.timestamp_opt(time, 0).unwrap();
            let code = code_at(key, step_at(at)).unwrap();
            assert!(eight.ends_with(&code), "{time}: {code} vs {eight}");
        }
    }

    #[test]
    fn one_step_either_side_is_accepted_and_a_used_step_is_not() {
        let key = [7u8; KEY_BYTES];
        let now = Utc.timestamp_opt(1_800_000_000, 0).unwrap();
        let step = step_at(now);
        for delta in [-1, 0, 1] {
            let code = code_at(&key, step + delta).unwrap();
            assert_eq!(matching_step(&key, &code, now, None), Some(step + delta));
        }
        for delta in [-2, 2] {
            let code = code_at(&key, step + delta).unwrap();
            assert_eq!(matching_step(&key, &code, now, None), None);
        }
        let code = code_at(&key, step).unwrap();
        assert_eq!(matching_step(&key, &code, now, Some(step)), None);
        assert_eq!(matching_step(&key, "12345", now, None), None);
        assert_eq!(matching_step(&key, "abcdef", now, None), None);
    }

    #[test]
    fn the_uri_and_the_qr_code_carry_the_key() {
        let key = [1u8; KEY_BYTES];
        let uri = otpauth_uri("m2m console", "ops@acme.test", &key);
        assert!(uri.starts_with("otpauth://totp/m2m%20console%3Aops%40acme.test?secret="));
        assert!(uri.contains(&key_base32(&key)));
        let svg = qr_svg(&uri).unwrap();
        assert!(svg.contains("<svg") && !svg.contains("style="));
    }
}
