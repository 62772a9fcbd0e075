//! A credential's tokens on its page: the live ones, "Generate token" (shown once), and
//! revoking one or all.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::console::credentials::views::{TokenReveal, TokensSection};
use crate::console::credentials::{can_manage, crumbs, locked, no_store, page_behind};
use crate::console::request::{ConsoleRequest, render_error};
use crate::credentials::access_tokens;
use crate::db::ids::{CredentialId, TokenId};
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::db::schema::ip_allowed;
use crate::error::AppError;
use crate::htmx::html;
use crate::paths;
use crate::views::absolute_time;

pub(super) async fn section(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    credential: &Credential,
) -> Result<TokensSection, AppError> {
    let can_generate = credential.is_usable(rq.now);
    let can_manage = can_manage(rq) && !locked(rq, credential);
    let outside_allow_list = if can_manage && can_generate {
        outside_allow_list(conn, rq, credential).await?
    } else {
        None
    };
    Ok(TokensSection {
        id: credential.id,
        tokens: access_token::list_live(conn, credential.id, rq.now).await?,
        can_manage,
        can_generate,
        outside_allow_list,
        csrf_token: rq.csrf_token()?,
        now: rq.now,
    })
}

/// The admin's own address (as the server sees it, through trusted proxies) when the
/// credential's allowed IPs leave it out. The database judges with the token endpoint's own
/// `ip_allowed` rule rather than a copy of it, so the hint cannot disagree with the refusal
/// the token would then meet.
async fn outside_allow_list(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    credential: &Credential,
) -> Result<Option<String>, AppError> {
    // No address: nothing useful to say. An empty list lets every address through.
    let Some(ip) = rq.meta.ip.map(|ip| ip.to_string()) else {
        return Ok(None);
    };
    if credential.allowed_ips.is_empty() {
        return Ok(None);
    }
    let allowed: bool = diesel::select(ip_allowed(Some(&ip), &credential.allowed_ips))
        .get_result(conn)
        .await?;
    Ok((!allowed).then_some(ip))
}

/// After revoking tokens: htmx gets the refreshed token list, a plain form the detail page.
async fn changed(
    rq: &ConsoleRequest,
    conn: &mut AsyncPgConnection,
    credential: &Credential,
    message: &str,
) -> Result<HttpResponse, AppError> {
    rq.changed(message, &paths::credential(credential.id), async || {
        section(conn, rq, credential).await
    })
    .await
}

/// "Generate token": a test access token for the credential, shown once like a secret.
#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn generate_token(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let id = path.into_inner();
    let mut conn = rq.conn().await?;
    let issued = access_tokens::generate_token(&mut conn, &rq.actor(), id).await?;
    let name = issued.credential.name.clone();
    let outside_allow_list = outside_allow_list(&mut conn, &rq, &issued.credential).await?;
    let reveal = TokenReveal {
        modal: rq.hx.0,
        name: name.clone(),
        id: issued.credential.id,
        token: issued.token.expose().to_string(),
        scopes: issued.scopes,
        expires_at: absolute_time(issued.expires_at),
        whoami_url: format!("{}/api/v1/whoami", rq.state.settings.issuer()),
        outside_allow_list,
    };
    let res = if rq.hx.0 {
        // From the credential's page, its token list behind the dialog shows the new one.
        let body = reveal.render().map_err(render_error)?
            + &page_behind(&mut conn, &rq, &issued.credential).await?;
        html(StatusCode::OK, body)
    } else {
        let crumbs = crumbs(Some(&name));
        rq.page(StatusCode::OK, "Test access token", crumbs, reveal)?
    };
    Ok(no_store(res))
}

#[tracing::instrument(skip_all)]
pub async fn revoke_access_token(
    rq: ConsoleRequest,
    path: web::Path<(CredentialId, TokenId)>,
) -> Result<HttpResponse, AppError> {
    let (id, token) = path.into_inner();
    let mut conn = rq.conn().await?;
    let credential = access_tokens::revoke_token(&mut conn, &rq.actor(), id, token).await?;
    changed(&rq, &mut conn, &credential, "Token revoked.").await
}

#[tracing::instrument(skip_all, fields(credential_id = %path))]
pub async fn revoke_all_access_tokens(
    rq: ConsoleRequest,
    path: web::Path<CredentialId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let (credential, count) =
        access_tokens::revoke_all_tokens(&mut conn, &rq.actor(), path.into_inner()).await?;
    let plural = if count == 1 { "" } else { "s" };
    changed(
        &rq,
        &mut conn,
        &credential,
        &format!("Revoked {count} token{plural}."),
    )
    .await
}
