//! Introspections share statements (`batch_queue`): the caller's lookup and the token's of
//! every introspection in a batch, in one statement (`client_lookup::find_clients_and_tokens`).

use crate::db::DbPool;
use crate::db::models::access_token::ActiveToken;
use crate::db::models::client_lookup;
use crate::db::models::issuance::Lookup;
use crate::oauth::batch_queue::{Batched, Batches};
use crate::oauth::client_auth::Attempt;
use crate::oauth::error::OAuthError;

/// What a lookup gives back: the attempt (to finish it), the caller's lookup and the token.
pub type Looked = (Attempt, Option<Lookup>, Option<ActiveToken>);

/// A worker's queue of introspections waiting for a statement.
pub type IntrospectionBatches = Batches<Introspections>;

pub struct Introspections;

impl Batched for Introspections {
    /// The caller's attempt, and the digest of the token it asks about.
    type Ask = (Attempt, Vec<u8>);
    type Answer = Looked;
    type Error = OAuthError;

    fn lost() -> OAuthError {
        OAuthError::unavailable()
    }

    async fn look_up(pool: &DbPool, asks: Vec<Self::Ask>) -> Result<Vec<Looked>, OAuthError> {
        let found = {
            let asked = asks
                .iter()
                .map(|(attempt, token_hash)| Some((attempt.checkable()?, token_hash.as_slice())))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    // `lookup` queues only attempts that are checkable.
                    tracing::error!("an introspection was queued that cannot be looked up");
                    OAuthError::unavailable()
                })?;
            let conn = pool.get().await?;
            client_lookup::find_clients_and_tokens(&conn, &asked).await?
        };
        Ok(asks
            .into_iter()
            .zip(found)
            .map(|((attempt, _), (lookup, token))| (attempt, Some(lookup), token))
            .collect())
    }
}

/// The caller's lookup and the live token with this digest, in the next statement this
/// worker sends. A caller that is already a "no" (`Attempt::lookup_with_token`) waits for
/// nothing.
pub async fn lookup(
    batches: &IntrospectionBatches,
    attempt: Attempt,
    token_hash: &[u8],
) -> Result<Looked, OAuthError> {
    if attempt.checkable().is_none() {
        return Ok((attempt, None, None));
    }
    batches.ask((attempt, token_hash.to_vec())).await
}
