//! What an operation of the domain layer (`credentials`, `catalog`, `staff`) can answer
//! besides success. Each front end turns it into its own kind of answer: the console into a
//! page, a form with messages or a toast (`AppError`), the JSON API into a problem document.
//!
//! Database errors become domain errors here, in one place: a row that is not there is
//! `NotFound`, a constraint a race can still reach is `Conflict` (never a 500), a lost
//! connection is `Unavailable`.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::forms::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    #[error("not found")]
    NotFound,
    /// The actor may not do this; completes "Your role does not allow you to …".
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The input breaks a rule; the messages are keyed by field.
    #[error("invalid input")]
    Invalid(FieldErrors),
    /// The state of things does not allow it (revoked, in use, changed meanwhile).
    #[error("{0}")]
    Conflict(String),
    /// The same request (same form or idempotency key) was already carried out; nothing was
    /// done again, and a secret it revealed is not shown again.
    #[error("{0}")]
    Replayed(String),
    /// An organisation limit is reached (10 credentials).
    #[error("{0}")]
    LimitReached(String),
    /// The database cannot be reached: the caller may retry.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl DomainError {
    /// One message for the whole input (no particular field).
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        DomainError::Invalid(errors)
    }
}

impl From<DieselError> for DomainError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::NotFound => DomainError::NotFound,
            // Reached only by racing: operations check these rules first and say it better.
            DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _) => {
                DomainError::Conflict(
                    "Someone saved the same name or email meanwhile. Reload the page and try again."
                        .into(),
                )
            }
            DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _) => {
                DomainError::Conflict(
                    "Something this change refers to was changed or deleted meanwhile. Reload the page and try again."
                        .into(),
                )
            }
            e if crate::db::is_unavailable(&e) => {
                DomainError::Unavailable(format!("database unavailable: {e}"))
            }
            other => DomainError::Unexpected(
                anyhow::Error::new(other).context("database query failed"),
            ),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for DomainError {
    fn from(e: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        DomainError::Unavailable(format!("no database connection: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn races_on_constraints_are_conflicts_not_failures() {
        for kind in [
            DatabaseErrorKind::UniqueViolation,
            DatabaseErrorKind::ForeignKeyViolation,
        ] {
            let raced = DieselError::DatabaseError(kind, Box::new("raced".to_string()));
            assert!(matches!(DomainError::from(raced), DomainError::Conflict(_)));
        }
        assert!(matches!(
            DomainError::from(DieselError::NotFound),
            DomainError::NotFound
        ));
    }

    #[test]
    fn a_lost_connection_or_a_read_only_server_is_unavailable_not_a_failure() {
        for (kind, message) in [
            (
                DatabaseErrorKind::ReadOnlyTransaction,
                "cannot execute INSERT in a read-only transaction",
            ),
            (DatabaseErrorKind::ClosedConnection, "connection closed"),
            (
                DatabaseErrorKind::UnableToSendCommand,
                "error communicating with the server",
            ),
            (
                DatabaseErrorKind::Unknown,
                "terminating connection due to administrator command",
            ),
            (
                DatabaseErrorKind::Unknown,
                "the database system is in recovery mode",
            ),
            (
                DatabaseErrorKind::Unknown,
                "the database system is shutting down",
            ),
        ] {
            let e = DieselError::DatabaseError(kind, Box::new(message.to_string()));
            assert!(
                matches!(DomainError::from(e), DomainError::Unavailable(_)),
                "{message}"
            );
        }
        let other = DieselError::DatabaseError(
            DatabaseErrorKind::Unknown,
            Box::new("division by zero".to_string()),
        );
        assert!(matches!(
            DomainError::from(other),
            DomainError::Unexpected(_)
        ));
    }
}
