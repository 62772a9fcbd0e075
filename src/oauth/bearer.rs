//! Bearer-protected resources (RFC 6750) and `GET /api/v1/whoami`, which integrations call
//! to check their set-up.

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::app_state::AppState;
use crate::db::DbPool;
use crate::db::models::access_token::{self, ActiveToken};
use crate::oauth::REALM;
use crate::oauth::batch_queue::{Batched, Batches};
use crate::tokens::{self, Kind, PlainSecret};

#[derive(Debug, Clone, thiserror::Error)]
pub enum BearerError {
    /// No credentials at all: a bare challenge, no error code (RFC 6750 §3.1).
    #[error("missing bearer token")]
    Missing,
    #[error("malformed request: {0}")]
    InvalidRequest(&'static str),
    #[error("invalid token: {0}")]
    InvalidToken(&'static str),
    #[error("unavailable")]
    Unavailable,
}

impl ResponseError for BearerError {
    fn status_code(&self) -> StatusCode {
        match self {
            BearerError::Missing | BearerError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
            BearerError::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            BearerError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let (challenge, body) = match self {
            BearerError::Missing => (format!("Bearer realm=\"{REALM}\""), serde_json::json!({})),
            BearerError::InvalidRequest(d) | BearerError::InvalidToken(d) => {
                let code = if matches!(self, BearerError::InvalidRequest(_)) {
                    "invalid_request"
                } else {
                    "invalid_token"
                };
                (
                    format!(
                        "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{d}\""
                    ),
                    serde_json::json!({ "error": code, "error_description": d }),
                )
            }
            // RFC 6750 has no code for a failure on our side: the 503 says it.
            BearerError::Unavailable => (
                String::new(),
                serde_json::json!({
                    "error_description": "The service is temporarily unavailable. Retry shortly."
                }),
            ),
        };
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if !challenge.is_empty() {
            res.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        if matches!(self, BearerError::Unavailable) {
            res.insert_header((header::RETRY_AFTER, "2"));
        }
        res.json(body)
    }
}

impl From<diesel::result::Error> for BearerError {
    fn from(e: diesel::result::Error) -> Self {
        tracing::error!(error = %e, "database error on a bearer check");
        BearerError::Unavailable
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for BearerError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection for a bearer check");
        BearerError::Unavailable
    }
}

/// The token in `Authorization: Bearer …`. A token in the query string is refused: URLs end
/// up in logs and browser history.
fn bearer_token<'a>(headers: &'a HeaderMap, query: &str) -> Result<&'a str, BearerError> {
    if url::form_urlencoded::parse(query.as_bytes()).any(|(k, _)| k == "access_token") {
        return Err(BearerError::InvalidRequest(
            "Send the token in the Authorization header, not the URL.",
        ));
    }
    let mut values = headers.get_all(header::AUTHORIZATION);
    let Some(value) = values.next() else {
        return Err(BearerError::Missing);
    };
    if values.next().is_some() {
        return Err(BearerError::InvalidRequest(
            "More than one Authorization header.",
        ));
    }
    let value = value
        .to_str()
        .map_err(|_| BearerError::InvalidRequest("The Authorization header is malformed."))?;
    let (scheme, token) = value.split_once(' ').ok_or(BearerError::InvalidRequest(
        "The Authorization header is malformed.",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(BearerError::Missing);
    }
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let well_formed = !token.is_empty()
        && token.len() <= 512
        && token
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
    if !well_formed {
        return Err(BearerError::InvalidRequest(
            "The bearer token is malformed.",
        ));
    }
    Ok(token)
}

/// Where a bearer check's statement runs: on the request's own connection, or in the next
/// statement this worker sends for bearer checks (`BearerChecks`).
pub enum Via<'a> {
    Conn(&'a AsyncPgConnection),
    Batch(&'a Batches<BearerChecks>),
}

/// Checks a bearer token for a request from `ip`: live, within its credential's current
/// rights, and from an allowed address. One statement, with no write: the caller records the
/// use in the usage counter, which writes it with the next flush.
pub async fn verify(
    via: Via<'_>,
    headers: &HeaderMap,
    query: &str,
    ip: Option<IpAddr>,
    now: DateTime<Utc>,
) -> Result<ActiveToken, BearerError> {
    let token = presented(headers, query)?;
    let (hash, ip_text) = (token.hash(), ip.map(|ip| ip.to_string()));
    let found = match via {
        Via::Conn(conn) => {
            access_token::find_active(conn, hash.as_bytes(), now, ip_text.as_deref()).await?
        }
        Via::Batch(batches) => {
            batches
                .ask((hash.as_bytes().to_vec(), ip_text, now))
                .await?
        }
    };
    accept(found)
}

/// The access token the request presents, if it is one of ours.
fn presented(headers: &HeaderMap, query: &str) -> Result<PlainSecret, BearerError> {
    let token = bearer_token(headers, query)?;
    tokens::parse(Kind::AccessToken, token)
        .ok_or(BearerError::InvalidToken("The access token is invalid."))
}

fn accept(found: Option<ActiveToken>) -> Result<ActiveToken, BearerError> {
    let found = found.ok_or(BearerError::InvalidToken(
        "The access token is invalid, expired or revoked.",
    ))?;
    if !found.within_current_rights() {
        return Err(BearerError::InvalidToken(
            "The access token is no longer valid for this credential.",
        ));
    }
    if !found.ip_allowed {
        return Err(BearerError::InvalidToken(
            "The access token may not be used from this address.",
        ));
    }
    Ok(found)
}

/// Bearer checks share statements (`batch_queue`, `access_token::find_many_active`).
pub struct BearerChecks;

impl Batched for BearerChecks {
    /// The token's digest, the caller's address and the request's instant.
    type Ask = (Vec<u8>, Option<String>, DateTime<Utc>);
    type Answer = Option<ActiveToken>;
    type Error = BearerError;

    fn lost() -> BearerError {
        BearerError::Unavailable
    }

    async fn look_up(
        pool: &DbPool,
        asks: Vec<Self::Ask>,
    ) -> Result<Vec<Option<ActiveToken>>, BearerError> {
        let asked: Vec<_> = asks
            .iter()
            .map(|(hash, ip, now)| (hash.as_slice(), ip.as_deref(), *now))
            .collect();
        let conn = pool.get().await?;
        Ok(access_token::find_many_active(&conn, &asked).await?)
    }
}

#[tracing::instrument(skip_all)]
pub async fn whoami(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, BearerError> {
    let ip = state.client_ip(&req);
    let now = state.clock.now();
    let (headers, query) = (req.headers(), req.query_string());
    let verified = match req.app_data::<Batches<BearerChecks>>() {
        Some(batches) => verify(Via::Batch(batches), headers, query, ip, now).await,
        None => {
            let conn = state.machine_pool(&req).get().await?;
            verify(Via::Conn(&conn), headers, query, ip, now).await
        }
    };
    state.oauth.metrics.bearer_check(verified.is_ok());
    let token = verified?;
    let usage = &state.oauth.usage;
    usage.bearer_used(token.credential_id, token.token_id, ip, now);
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({
            "credential": { "name": token.credential_name, "client_id": token.client_id },
            "organisation": { "name": token.org_name },
            "scopes": token.scopes,
            "expires_at": token.expires_at.to_rfc3339(),
            "expires_in": (token.expires_at - now).num_seconds().max(0),
        })))
}
