//! `POST /oauth/introspect` (RFC 7662): a credential of the same organisation asks whether a
//! token is active. Anything unknown, expired, revoked, beyond its credential's current
//! rights, or of another organisation is just `{"active": false}`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::app_state::AppState;
use crate::db::DbPool;
use crate::metrics::Introspection;
use crate::oauth::client_auth::{self, Attempt, Conn};
use crate::oauth::error::OAuthError;
use crate::oauth::form::OAuthForm;
use crate::oauth::introspect_batch::{self, IntrospectionBatches, Looked};
use crate::tokens::{self, HashedSecret, Kind};

const PATH: &str = "/oauth/introspect";

fn answer(body: serde_json::Value) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}

#[tracing::instrument(skip_all)]
pub async fn introspect_token(
    req: HttpRequest,
    state: web::Data<AppState>,
    form: OAuthForm,
) -> Result<HttpResponse, OAuthError> {
    let answer = introspect(&req, &state, form).await;
    let outcome = match &answer {
        Ok((_, true)) => Introspection::Active,
        Ok((_, false)) => Introspection::Inactive,
        Err(_) => Introspection::Refused,
    };
    state.oauth.metrics.introspection(outcome);
    answer.map(|(res, _)| res)
}

/// The caller's lookup and the token's, in the next statement this worker sends for
/// introspections (shared with those that arrive with this one).
async fn look_up(
    req: &HttpRequest,
    pool: &DbPool,
    attempt: Attempt,
    token_hash: Option<&HashedSecret>,
) -> Result<Looked, OAuthError> {
    match (token_hash, req.app_data::<IntrospectionBatches>()) {
        (Some(hash), Some(batches)) => {
            introspect_batch::lookup(batches, attempt, hash.as_bytes()).await
        }
        (Some(hash), None) => {
            let conn = pool.get().await?;
            let (caller, found) = attempt.lookup_with_token(&conn, hash.as_bytes()).await?;
            Ok((attempt, caller, found))
        }
        (None, _) => {
            let caller = attempt.lookup(&*pool.get().await?).await?;
            Ok((attempt, caller, None))
        }
    }
}

/// The answer, and whether the token was active.
async fn introspect(
    req: &HttpRequest,
    state: &AppState,
    form: OAuthForm,
) -> Result<(HttpResponse, bool), OAuthError> {
    let presented = client_auth::presented(req, &form)?;
    let ip = state.client_ip(req);
    let now = state.clock.now();
    let mut attempt = client_auth::Attempt::begin(presented, ip, now)?;
    let token = form.get("token");
    let token_hash = token
        .and_then(|t| tokens::parse(Kind::AccessToken, t))
        .map(|t| t.hash());

    let pool = state.machine_pool(req);
    if attempt.needs_proof() {
        let mut conn = pool.get().await?;
        attempt.prove(&mut conn, &state.settings, PATH).await?;
    }
    // The caller's credential and the token are looked up in one statement; the token's
    // answer is used only once the caller has authenticated.
    let (attempt, caller, found) = look_up(req, pool, attempt, token_hash.as_ref()).await?;
    let calls = caller.as_ref().and_then(|lookup| lookup.calls);
    let client_id = attempt.client_id().to_owned();
    let (caller, _) = attempt
        .finish(Conn::Pool(pool), &state.oauth, caller)
        .await?;
    client_auth::admit_call(&state.oauth, &client_id, calls, now)?;
    if token.is_none() {
        return Err(OAuthError::invalid_request(
            "The token parameter is missing.",
        ));
    }

    let Some(found) = found else {
        return Ok((answer(serde_json::json!({ "active": false })), false));
    };
    if found.org_id != caller.org_id || !found.within_current_rights() {
        return Ok((answer(serde_json::json!({ "active": false })), false));
    }
    state.oauth.usage.introspected(found.credential_id, now);
    let issuer = state.settings.issuer();
    let active = answer(serde_json::json!({
        "active": true,
        "scope": found.scopes.join(" "),
        "client_id": found.client_id,
        "token_type": "Bearer",
        "exp": found.expires_at.timestamp(),
        "iat": found.issued_at.timestamp(),
        "sub": found.client_id,
        "iss": issuer,
    }));
    Ok((active, true))
}
