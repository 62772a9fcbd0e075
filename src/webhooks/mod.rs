//! Webhooks: an organisation's Super Admin registers endpoints, and every change to its
//! credentials (and their expiry) is sent to the endpoints subscribed to it, signed per
//! Standard Webhooks. The event rows are written with the audit row of the change, in its
//! transaction (`db::models::webhook_delivery`), and a background job in every instance
//! sends them (`deliver`).
//!
//! Operations on endpoints (`endpoints`) follow the domain layer's rule: one function each,
//! taking the actor, a connection and typed input; permission, limit, lock and audit row
//! inside one transaction.

pub(crate) mod deliver;
pub(crate) mod destination;
pub mod endpoints;
pub(crate) mod expiry;
pub(crate) mod signature;

use crate::actor::Actor;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;

/// Completes "Your role does not allow you to …".
pub const MANAGE: &str = "manage webhooks";

/// Only Super Admins see or change webhooks.
pub fn require_super_admin(actor: &Actor) -> Result<(), DomainError> {
    actor.require(StaffRole::SuperAdmin, MANAGE)
}
