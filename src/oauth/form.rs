//! The `application/x-www-form-urlencoded` bodies of the OAuth endpoints, read strictly:
//! another content type, or any parameter sent twice, is `invalid_request` (RFC 6749 §3.2).

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header::CONTENT_TYPE;

use crate::oauth::error::OAuthError;

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
