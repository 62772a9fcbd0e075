//! "Usable credential" as one diesel expression over `credentials`: not revoked, not
//! disabled, not expired at `at`. Every query that needs the rule filters with it; the Rust
//! twin is `Credential::is_usable`, and the issuing statement names each part as its own check
//! (`issuance::ClientChecks`) so that a refusal says which. tests/integration/usable_rule.rs
//! checks all three agree on a matrix of credentials.
//!
//! "Live token" likewise: unrevoked, unexpired, of a live secret of its credential (the
//! token lookup and the list of a credential's live tokens; being pushed out is theirs to add).

use chrono::{DateTime, Utc};
use diesel::dsl::auto_type;
use diesel::prelude::*;

use crate::db::schema::{access_tokens, credentials, secret_version_live};

/// The credential can authenticate and its tokens work at `at`.
#[auto_type]
pub fn usable_at(at: DateTime<Utc>) -> _ {
    credentials::revoked_at
        .is_null()
        .and(credentials::disabled_at.is_null())
        .and(
            credentials::expires_at
                .is_null()
                .or(credentials::expires_at.gt(at)),
        )
}

/// The token is unrevoked and unexpired at `at`, and was issued under a secret of its
/// credential that is live then (the current one, or the previous one while it overlaps); for
/// queries joining `access_tokens` with `credentials`.
#[auto_type]
pub fn token_live_at(at: DateTime<Utc>) -> _ {
    access_tokens::revoked_at
        .is_null()
        .and(access_tokens::expires_at.gt(at))
        .and(secret_version_live(
            access_tokens::secret_version,
            credentials::secret_version,
            credentials::previous_secret_retires_at,
            at,
        ))
}
