//! `POST /oauth/token`: the client credentials grant (RFC 6749 §4.4).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app_state::AppState;
use crate::db::models::issuance::{ClientRecord, Granted};
use crate::oauth::client_auth;
use crate::oauth::error::{ErrorCode, OAuthError};
use crate::oauth::form::OAuthForm;
use crate::oauth::token_batch;
use crate::tokens::{self, Kind, PlainSecret};
use crate::usage::{RefusalReason, UsageCounter};

const GRANT_TYPE: &str = "client_credentials";
const TOKEN_PATH: &str = "/oauth/token";

/// RFC 6749 appendix A.4: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b))
}

/// The `scope` parameter as a sorted list without repeats; `None` when absent (the client
/// asks for everything its credential may use). Malformed or empty: `invalid_scope`.
pub fn parse_scope(requested: Option<&str>) -> Result<Option<Vec<String>>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(None);
    };
    let mut scopes = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !is_scope_token(scope) {
            return Err(OAuthError::new(
                ErrorCode::InvalidScope,
                "The scope parameter is malformed.",
            ));
        }
        scopes.push(scope.to_string());
    }
    if scopes.is_empty() {
        return Err(OAuthError::new(
            ErrorCode::InvalidScope,
            "The scope parameter is empty.",
        ));
    }
    scopes.sort();
    scopes.dedup();
    Ok(Some(scopes))
}

/// The answer to a token request whose credential authenticated but may not have the scopes
/// asked for (the issuing statement's scope check failed): everything it may use, when it may
/// use nothing, or a subset it does not have.
fn scope_refused(requested: Option<&[String]>) -> OAuthError {
    let message = match requested {
        None => "This credential is not allowed any API.",
        Some(_) => "A requested scope is not allowed for this client.",
    };
    OAuthError::new(ErrorCode::InvalidScope, message)
}

fn unsupported_grant_type() -> OAuthError {
    OAuthError::new(
        ErrorCode::UnsupportedGrantType,
        "Only the client_credentials grant is supported.",
    )
}

#[tracing::instrument(skip_all)]
pub async fn issue_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let answer = issue(&req, &state, form).await;
    match &answer {
        Ok(_) => state.oauth.metrics.token_issued(),
        Err(e) => state.oauth.metrics.token_refused(e.metric_reason()),
    }
    answer
}

async fn issue(
    req: &HttpRequest,
    state: &AppState,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let presented = client_auth::presented(req, &form)?;
    let grant_type = form.get("grant_type").ok_or(OAuthError::invalid_request(
        "The grant_type parameter is missing.",
    ))?;

    let ip = state.client_ip(req);
    let now = state.clock.now();
    let mut attempt = client_auth::Attempt::begin(presented, ip, now)?;
    let requested = parse_scope(form.get("scope"));
    let token = tokens::generate(Kind::AccessToken)?;

    // One statement reads the caller's throttle, looks the client up and, when every check
    // passes, stores the token (shared with the requests that arrive with this one). A request
    // that cannot get a token anyway only looks the client up, to answer in the order the
    // checks go: client authentication, grant type, scope.
    let pool = state.machine_pool(req);
    if attempt.needs_proof() {
        let mut conn = pool.get().await?;
        attempt
            .prove(&mut conn, &state.settings, TOKEN_PATH)
            .await?;
    }
    let (attempt, found, granted) = match &requested {
        Ok(scopes) if grant_type == GRANT_TYPE => {
            let hash = token.hash();
            token_batch::issue(req, pool, attempt, hash.as_bytes(), scopes.clone()).await?
        }
        _ => {
            let found = attempt.lookup(&*pool.get().await?).await?;
            (attempt, found, None)
        }
    };
    let by_key = attempt.by_key();
    let (client, basic) = attempt
        .finish(client_auth::Conn::Pool(pool), &state.oauth, found)
        .await?;
    if grant_type != GRANT_TYPE {
        return Err(unsupported_grant_type());
    }
    let requested = requested?;
    if !client.checks.scope {
        let reason = RefusalReason::ScopeNotAllowed;
        state.oauth.usage.refuse(client.id, reason, ip, now);
        return Err(scope_refused(requested.as_deref()).because("scope_not_allowed"));
    }
    let Some(granted) = granted else {
        // Every check passed, so the statement stored the token: this cannot happen.
        tracing::error!("a token request passed every check but no token was stored");
        return Err(OAuthError::invalid_client(basic));
    };
    count_issued(&state.oauth.usage, &client, by_key, ip, now);
    Ok(token_response(&token, &granted, now))
}

/// Counts a token issued, by the key or the secret version it was asked with.
fn count_issued(
    usage: &UsageCounter,
    client: &ClientRecord,
    by_key: bool,
    ip: Option<std::net::IpAddr>,
    now: chrono::DateTime<chrono::Utc>,
) {
    if by_key {
        usage.token_issued_by_key(client.id, ip, now);
    } else {
        usage.token_issued(client.id, client.secret_version, ip, now);
    }
}

/// RFC 6749 §5.1: the token, never to be cached. `expires_in` is its credential's token
/// lifetime, as stored with it.
fn token_response(
    token: &PlainSecret,
    granted: &Granted,
    now: chrono::DateTime<chrono::Utc>,
) -> HttpResponse {
    // Rounded: the stored time has microseconds, the clock nanoseconds.
    let expires_in = ((granted.expires_at - now).num_milliseconds() + 500) / 1000;
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(serde_json::json!({
            "access_token": token.expose(),
            "token_type": "Bearer",
            "expires_in": expires_in,
            "scope": granted.scopes.join(" "),
        }))
}

/// Anything but POST on an OAuth endpoint.
pub async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header((header::ALLOW, "POST"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(serde_json::json!({ "error": "invalid_request", "error_description": "Use POST." }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_scope_asks_for_everything_allowed() {
        assert_eq!(parse_scope(None).unwrap(), None);
        assert_eq!(scope_refused(None).code, ErrorCode::InvalidScope);
    }

    #[test]
    fn scopes_are_sorted_without_repeats_and_malformed_ones_refused() {
        let allowed: Vec<String> = vec!["orders:read".into(), "orders:write".into()];
        assert_eq!(
            parse_scope(Some("orders:write orders:read  orders:read")).unwrap(),
            Some(allowed)
        );
        assert_eq!(
            parse_scope(Some("orders:\"read")).unwrap_err().code,
            ErrorCode::InvalidScope
        );
        assert_eq!(
            parse_scope(Some("   ")).unwrap_err().code,
            ErrorCode::InvalidScope
        );
    }
}
