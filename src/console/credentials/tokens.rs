//! A credential's tokens on its page: the live ones, "Generate token" (shown once), and
//! revoking one or all.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use diesel_async::AsyncPgConnection;

use crate::console::credentials::views::{TokenReveal, TokensSection};
use crate::console::credentials::{can_manage, crumbs, no_store};
use crate::console::request::ConsoleRequest;
use crate::credentials::access_tokens;
use crate::db::ids::{CredentialId, TokenId};
use crate::db::models::access_token;
use crate::db::models::credential::Credential;
use crate::error::AppError;
use crate::paths;
use crate::views::absolute_time;

pub(super) async fn section(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    credential: &Credential,
) -> Result<TokensSection, AppError> {
    Ok(TokensSection {
        id: credential.id,
        tokens: access_token::list_live(conn, credential.id, rq.now).await?,
        can_manage: can_manage(rq),
        can_generate: credential.status(rq.now).is_usable(),
        csrf_token: rq.csrf_token()?,
        now: rq.now,
    })
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
    let mut conn = rq.conn().await?;
    let issued = access_tokens::generate_token(&mut conn, &rq.actor(), path.into_inner()).await?;
    let name = issued.credential.name.clone();
    let reveal = TokenReveal {
        modal: rq.hx.0,
        name: name.clone(),
        id: issued.credential.id,
        token: issued.token.expose().to_string(),
        scopes: issued.scopes,
        expires_at: absolute_time(issued.expires_at),
    };
    let res = rq.page(
        StatusCode::OK,
        "Test access token",
        crumbs(Some(&name)),
        reveal,
    )?;
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
