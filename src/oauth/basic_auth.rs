//! HTTP Basic client credentials (RFC 6749 §2.3.1, RFC 7617): the scheme, the base64 and the
//! form-urlencoded client ID and secret. Everything here is a stranger's input: bounded,
//! never sliced, refused rather than guessed at.

use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Longest Authorization header we decode; anything longer cannot hold a valid pair.
const MAX_BASIC_LEN: usize = 1024;

/// The credentials after `Basic ` (the scheme name is case-insensitive).
pub(super) fn strip_basic_scheme(value: &[u8]) -> Option<&[u8]> {
    let (scheme, rest) = value.split_at_checked(6)?;
    (scheme.eq_ignore_ascii_case(b"basic ") && !rest.is_empty()).then_some(rest)
}

/// Standard base64 with or without its `=` padding: RFC 7617 asks for padding, but common
/// clients leave it off, and nothing is ambiguous without it.
const BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// `base64(urlencode(id) ":" urlencode(secret))`, split on the first colon.
pub(super) fn decode_basic(encoded: &[u8]) -> Option<(String, String)> {
    let encoded = encoded.trim_ascii();
    if encoded.is_empty() || encoded.len() > MAX_BASIC_LEN {
        return None;
    }
    let decoded = BASE64.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((form_decode(id)?, form_decode(secret)?))
}

/// application/x-www-form-urlencoded decoding of one value (`+` is a space); a malformed
/// percent escape or non-UTF-8 result is refused rather than guessed at.
fn form_decode(s: &str) -> Option<String> {
    let mut bytes = s.bytes();
    let mut out = Vec::with_capacity(s.len());
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let high = hex_digit(bytes.next()?)?;
                let low = hex_digit(bytes.next()?)?;
                out.push(high << 4 | low);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

fn hex_digit(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn b64(s: &str) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(s)
            .into_bytes()
    }

    #[test]
    fn basic_credentials_are_form_decoded_and_split_on_the_first_colon() {
        assert_eq!(
            decode_basic(&b64("m2m_ci_x:m2m_sk_y")).unwrap(),
            ("m2m_ci_x".into(), "m2m_sk_y".into())
        );
        assert_eq!(
            decode_basic(&b64("a%3Ab+c:d%25e:f")).unwrap(),
            ("a:b c".into(), "d%e:f".into())
        );
    }

    #[test]
    fn basic_credentials_without_padding_are_accepted() {
        let padded = String::from_utf8(b64("m2m_ci_x:m2m_sk_y")).unwrap();
        assert!(padded.ends_with('='));
        let unpadded = padded.trim_end_matches('=');
        assert_eq!(
            decode_basic(unpadded.as_bytes()).unwrap(),
            ("m2m_ci_x".into(), "m2m_sk_y".into())
        );
    }

    #[test]
    fn a_truncated_percent_escape_is_refused_without_a_panic() {
        for bad in ["a%", "a%4", "%é1", "é%"] {
            assert!(form_decode(bad).is_none(), "{bad:?}");
        }
        assert_eq!(form_decode("%C3%A9+x").unwrap(), "é x");
    }

    #[test]
    fn malformed_basic_credentials_are_refused() {
        assert!(decode_basic(&b64("no-colon")).is_none());
        assert!(decode_basic(b"***not base64***").is_none());
        assert!(decode_basic(&b64("a%zz:b")).is_none());
        assert!(
            decode_basic(&b64("a%ff:b")).is_none(),
            "percent-decodes to non-UTF-8"
        );
        assert!(decode_basic(&[b'Q'; 8192]).is_none());
        assert!(decode_basic(b"").is_none());
    }
}
