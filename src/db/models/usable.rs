//! "Usable credential" as one diesel expression over `credentials`: not revoked, not
//! disabled, not expired at `at`. Every query that needs the rule filters with it; the Rust
//! twin is `Credential::is_usable`, and the issuing statement names each part as its own check
//! (`issuance::ClientChecks`) so that a refusal says which. tests/integration/usable_rule.rs
//! checks all three agree on a matrix of credentials.

use chrono::{DateTime, Utc};
use diesel::dsl::auto_type;
use diesel::prelude::*;

use crate::db::schema::credentials;

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
