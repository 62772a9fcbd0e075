//! The `application/x-www-form-urlencoded` bodies of the OAuth endpoints, read strictly:
//! another content type, any parameter sent twice, or a value holding a control character
//! is `invalid_request` (RFC 6749 §3.2), and a body over the limit is a JSON 413.

use std::collections::HashMap;

use actix_web::dev::Payload;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::BytesMut;
use actix_web::{FromRequest, HttpRequest};
use futures_util::StreamExt;
use futures_util::future::LocalBoxFuture;

use crate::input::{self, Lines};
use crate::oauth::error::OAuthError;

/// Nothing legitimate sent to these endpoints is more than a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;
/// A larger body is still read (and dropped) up to this size before the 413 goes out, so the
/// client sees the answer instead of a connection reset with its upload unread.
const MAX_DRAINED: usize = 1024 * 1024;

pub struct OAuthForm(HashMap<String, String>);

impl OAuthForm {
    pub fn parse(req: &HttpRequest, body: &[u8]) -> Result<Self, OAuthError> {
        let is_form = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| {
                mime.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Err(OAuthError::invalid_request(
                "The body must be application/x-www-form-urlencoded.",
            ));
        }
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::invalid_request("The body is not valid UTF-8."));
        }
        let mut params = HashMap::new();
        for (name, value) in url::form_urlencoded::parse(body) {
            if input::has_control(&name, Lines::Single) || input::has_control(&value, Lines::Single)
            {
                return Err(OAuthError::invalid_request(
                    "A parameter holds a control character.",
                ));
            }
            if params
                .insert(name.into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::invalid_request(
                    "A parameter was sent more than once.",
                ));
            }
        }
        Ok(Self(params))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Reads the body (at most `MAX_BODY` bytes kept) and parses it.
impl FromRequest for OAuthForm {
    type Error = OAuthError;
    type Future = LocalBoxFuture<'static, Result<Self, OAuthError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let declared = req
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<usize>().ok());
            if declared.is_some_and(|len| len > MAX_DRAINED) {
                return Err(OAuthError::too_large());
            }
            let mut body = BytesMut::new();
            let mut seen = 0usize;
            while let Some(chunk) = payload.next().await {
                let chunk = chunk
                    .map_err(|_| OAuthError::invalid_request("The body could not be read."))?;
                seen = seen.saturating_add(chunk.len());
                if seen > MAX_DRAINED {
                    return Err(OAuthError::too_large());
                }
                if seen <= MAX_BODY {
                    body.extend_from_slice(&chunk);
                }
            }
            if seen > MAX_BODY {
                return Err(OAuthError::too_large());
            }
            Self::parse(&req, &body)
        })
    }
}
