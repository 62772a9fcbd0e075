//! Token requests share statements and commits (`batch_queue`): each request of a batch is one
//! row of the issuing statement (`token_issue::issue_many`), and each is answered only once
//! the commit that stored its token is done, so nothing acknowledged can be lost.

use actix_web::HttpRequest;

use crate::db::DbPool;
use crate::db::models::issuance::{Granted, IssueOutcome, Lookup, TokenRequest};
use crate::db::models::token_issue;
use crate::oauth::batch_queue::{Batched, Batches};
use crate::oauth::client_auth::Attempt;
use crate::oauth::error::OAuthError;

/// What an issue gives back: the attempt (to finish it), the caller's lookup, and the token
/// stored if every check passed.
pub type Issued = (Attempt, Option<Lookup>, Option<Granted>);

/// A worker's queue of token requests waiting for a statement.
pub type TokenBatches = Batches<TokenIssues>;

/// One token request: the caller's attempt, the new token's digest and the scopes asked for
/// (`None`: everything allowed).
pub struct Ask {
    attempt: Attempt,
    token_hash: Vec<u8>,
    scopes: Option<Vec<String>>,
}

pub struct TokenIssues;

impl Batched for TokenIssues {
    type Ask = Ask;
    type Answer = (Attempt, IssueOutcome);
    type Error = OAuthError;

    fn lost() -> OAuthError {
        OAuthError::unavailable()
    }

    async fn look_up(
        pool: &DbPool,
        asks: Vec<Ask>,
    ) -> Result<Vec<(Attempt, IssueOutcome)>, OAuthError> {
        let outcomes = {
            let requests = asks
                .iter()
                .map(|ask| {
                    Some(TokenRequest {
                        presented: ask.attempt.checkable()?,
                        token_hash: &ask.token_hash,
                        scopes: ask.scopes.as_deref(),
                    })
                })
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    // `issue` queues only attempts that are checkable.
                    tracing::error!("a token request was queued that cannot be looked up");
                    OAuthError::unavailable()
                })?;
            let mut conn = pool.get().await?;
            token_issue::issue_many(&mut conn, &requests).await?
        };
        Ok(asks
            .into_iter()
            .map(|ask| ask.attempt)
            .zip(outcomes)
            .collect())
    }
}

/// The caller's lookup and, when every check passes, its token stored, in the next statement
/// this worker sends for token requests (or one of its own where the worker has no queue). A
/// caller that is already a "no" (`Attempt::checkable`) waits for nothing.
pub async fn issue(
    req: &HttpRequest,
    pool: &DbPool,
    attempt: Attempt,
    token_hash: &[u8],
    scopes: Option<Vec<String>>,
) -> Result<Issued, OAuthError> {
    let Some(presented) = attempt.checkable() else {
        return Ok((attempt, None, None));
    };
    let (attempt, (lookup, granted)) = match req.app_data::<TokenBatches>() {
        Some(batches) => {
            let token_hash = token_hash.to_vec();
            let ask = Ask {
                attempt,
                token_hash,
                scopes,
            };
            batches.ask(ask).await?
        }
        None => {
            let request = TokenRequest {
                presented,
                token_hash,
                scopes: scopes.as_deref(),
            };
            let outcome = token_issue::issue_for_client(&mut *pool.get().await?, request).await?;
            (attempt, outcome)
        }
    };
    Ok((attempt, Some(lookup), granted))
}
