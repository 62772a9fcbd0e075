//! One management API call from start to answer: the bearer token checked (our own OAuth
//! tokens), the caller's allowance taken before any work, the scope the operation needs
//! checked, then the operation; every answer, error or not, carries the rate-limit headers.
//! POSTs may carry an `Idempotency-Key` (see `idempotency`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use diesel_async::AsyncPgConnection;
use serde::Serialize;

use crate::actor::{Actor, Caller};
use crate::api::v1::problem::{Kind, Problem};
use crate::app_state::AppState;
use crate::client_ip::RequestMeta;
use crate::oauth::bearer::{self, BearerError};
use crate::rate_limit::Left;

/// The name of the one allowance every calling credential has (RateLimit-Policy).
const POLICY: &str = "per-credential";

/// An authenticated call: who calls, as the domain layer's actor.
pub struct ApiCall {
    pub actor: Actor,
}

impl ApiCall {
    pub fn caller(&self) -> Option<&Caller> {
        self.actor.caller()
    }

    /// The calling credential's row id (the idempotency records' owner).
    pub fn caller_id(&self) -> Option<crate::db::ids::CredentialId> {
        self.caller().map(|c| c.credential_id)
    }
}

/// A successful answer: status, JSON body and the resource's version.
pub struct Reply {
    pub status: StatusCode,
    pub body: serde_json::Value,
    pub etag: Option<String>,
    pub location: Option<String>,
    /// What a replay of this answer (same Idempotency-Key) shows instead of `body`: the
    /// same without the secret it revealed.
    pub replay_body: Option<serde_json::Value>,
    /// A stored answer given again for the same Idempotency-Key.
    pub replayed: bool,
}

impl Reply {
    pub fn json(status: StatusCode, body: &impl Serialize) -> Self {
        Self {
            status,
            body: serde_json::to_value(body).unwrap_or(serde_json::Value::Null),
            etag: None,
            location: None,
            replay_body: None,
            replayed: false,
        }
    }

    pub fn ok(body: &impl Serialize) -> Self {
        Self::json(StatusCode::OK, body)
    }

    pub fn with_etag(mut self, etag: String) -> Self {
        self.etag = Some(etag);
        self
    }

    pub fn with_location(mut self, location: String) -> Self {
        self.location = Some(location);
        self
    }

    pub fn into_response(self) -> HttpResponse {
        let mut res = HttpResponse::build(self.status);
        res.insert_header((header::CACHE_CONTROL, "no-store"));
        if let Some(etag) = &self.etag {
            res.insert_header((header::ETAG, etag.as_str()));
        }
        if let Some(location) = &self.location {
            res.insert_header((header::LOCATION, location.as_str()));
        }
        if self.replayed {
            res.insert_header(("idempotent-replayed", "true"));
        }
        if self.status == StatusCode::NO_CONTENT {
            return res.finish();
        }
        let content_type = if self.status.is_client_error() {
            crate::api::v1::problem::CONTENT_TYPE
        } else {
            "application/json"
        };
        res.insert_header((header::CONTENT_TYPE, content_type))
            .body(self.body.to_string())
    }
}

fn bearer_problem(e: BearerError) -> Problem {
    let challenge = |error: Option<&str>, description: &str| match error {
        None => format!("Bearer realm=\"{}\"", crate::oauth::REALM),
        Some(code) => format!(
            "Bearer realm=\"{}\", error=\"{code}\", error_description=\"{description}\"",
            crate::oauth::REALM
        ),
    };
    match e {
        BearerError::Missing => Problem::new(
            Kind::Unauthorized,
            "Send an access token from /oauth/token in the Authorization header: Bearer <token>.",
        )
        .with_challenge(challenge(None, "")),
        BearerError::InvalidToken(d) => {
            Problem::new(Kind::Unauthorized, d).with_challenge(challenge(Some("invalid_token"), d))
        }
        BearerError::InvalidRequest(d) => {
            Problem::new(Kind::BadRequest, d).with_challenge(challenge(Some("invalid_request"), d))
        }
        BearerError::Unavailable => Problem::new(
            Kind::Unavailable,
            "The service is temporarily unavailable; retry shortly.",
        )
        .with_retry_after(2),
    }
}

/// Checks the token and takes one place of the caller's allowance; the caller's scope is
/// checked after, so a caller out of allowance learns nothing more.
async fn authenticate(
    req: &HttpRequest,
    state: &AppState,
    conn: &mut AsyncPgConnection,
) -> Result<(ApiCall, Left), (Problem, Option<Left>)> {
    let ip = state.client_ip(req);
    let now = state.clock.now();
    let verified = bearer::verify(
        bearer::Via::Conn(conn),
        req.headers(),
        req.query_string(),
        ip,
        now,
    )
    .await;
    state.oauth.metrics.bearer_check(verified.is_ok());
    let token = verified.map_err(|e| (bearer_problem(e), None))?;
    let usage = &state.oauth.usage;
    usage.bearer_used(token.credential_id, token.token_id, ip, now);
    let subject = token.credential_id.to_string();
    let taken = state.api_calls.take(conn, &subject, 1, now).await;
    let taken = taken.map_err(|e| (Problem::from(e), None))?;
    let left = taken.map_err(|retry| {
        let problem = Problem::new(
            Kind::RateLimited,
            format!(
                "This credential may make {} requests a minute; retry in {retry} s.",
                state.api_calls.allowance()
            ),
        )
        .with_retry_after(retry);
        let exhausted = Left {
            remaining: 0,
            reset_after: retry,
        };
        (problem, Some(exhausted))
    })?;
    let caller = Caller {
        credential_id: token.credential_id,
        org_id: token.org_id,
        client_id: token.client_id,
        scopes: token.scopes,
    };
    let meta = RequestMeta::from_request(req, &state.settings.trusted_proxies);
    Ok((
        ApiCall {
            actor: Actor::credential(caller, meta, now),
        },
        left,
    ))
}

/// The IETF RateLimit headers (draft-ietf-httpapi-ratelimit-headers).
fn rate_headers(state: &AppState, res: &mut HttpResponse, left: Left) {
    let window = state.api_calls.window_secs();
    let policy = format!("\"{POLICY}\";q={};w={window}", state.api_calls.allowance());
    let now = format!("\"{POLICY}\";r={};t={}", left.remaining, left.reset_after);
    for (name, value) in [("ratelimit-policy", policy), ("ratelimit", now)] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            res.headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
}

/// Runs `operation` for an authenticated caller holding `scope`.
pub async fn run<F>(req: &HttpRequest, state: &AppState, scope: &str, operation: F) -> HttpResponse
where
    F: AsyncFnOnce(&ApiCall, &mut AsyncPgConnection) -> Result<Reply, Problem>,
{
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(e) => return Problem::from(e).error_response(),
    };
    let (call, left) = match authenticate(req, state, &mut conn).await {
        Ok(done) => done,
        Err((problem, left)) => {
            let mut res = problem.error_response();
            if let Some(left) = left {
                rate_headers(state, &mut res, left);
            }
            return res;
        }
    };
    let result = if call.caller().is_some_and(|c| c.has(scope)) {
        operation(&call, &mut conn).await
    } else {
        Err(Problem::insufficient_scope(scope))
    };
    let mut res = match result {
        Ok(reply) => reply.into_response(),
        Err(problem) => problem.error_response(),
    };
    rate_headers(state, &mut res, left);
    res
}
