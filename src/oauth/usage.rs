//! How many token requests each secret served, counted in memory on the hot path (a map
//! increment, no write) and added to the database every few seconds by `flush`. A crash
//! loses at most the counts since the last flush; with several instances, each adds its own.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use diesel_async::AsyncPgConnection;

use crate::db::ids::CredentialId;
use crate::db::models::access_token;

/// Token requests per (credential, secret version) since the last flush.
#[derive(Debug, Default)]
pub struct SecretUses {
    counts: Mutex<HashMap<(CredentialId, i32), i64>>,
}

impl SecretUses {
    fn counts(&self) -> MutexGuard<'_, HashMap<(CredentialId, i32), i64>> {
        self.counts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// One token request authenticated with the secret of `version`.
    pub fn record(&self, credential: CredentialId, version: i32) {
        *self.counts().entry((credential, version)).or_default() += 1;
    }

    /// Adds the counts to the database; what could not be written is kept for next time.
    pub async fn flush(&self, conn: &mut AsyncPgConnection) -> diesel::QueryResult<usize> {
        let pending: Vec<_> = self.counts().drain().collect();
        let mut written = 0;
        let mut failed = None;
        for ((credential, version), uses) in pending {
            if failed.is_some() {
                self.add_back(credential, version, uses);
                continue;
            }
            match access_token::count_secret_uses(conn, credential, version, uses).await {
                Ok(()) => written += 1,
                Err(e) => {
                    self.add_back(credential, version, uses);
                    failed = Some(e);
                }
            }
        }
        failed.map_or(Ok(written), Err)
    }

    fn add_back(&self, credential: CredentialId, version: i32, uses: i64) {
        *self.counts().entry((credential, version)).or_default() += uses;
    }
}
