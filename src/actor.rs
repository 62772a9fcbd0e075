//! Who performs an operation of the domain layer, from where and when: what its permission
//! check and its audit row need. A staff member signed in to the console today; a calling
//! the background jobs acting on a policy a Super Admin set; a calling credential of the
//! management API later.

use chrono::{DateTime, Utc};

use crate::client_ip::RequestMeta;
use crate::db::ids::OrgId;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;

/// The party acting.
#[derive(Debug, Clone)]
pub enum Principal {
    Staff(User),
    /// The server itself, applying the organisation's policy (a stale credential disabled,
    /// a leaked secret reported by a scanner).
    System(OrgId),
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    /// The caller's address and user agent, for the audit row.
    pub meta: RequestMeta,
    /// The moment the operation happens, from the injectable clock.
    pub now: DateTime<Utc>,
}

impl Actor {
    pub fn staff(user: User, meta: RequestMeta, now: DateTime<Utc>) -> Self {
        Self {
            principal: Principal::Staff(user),
            meta,
            now,
        }
    }

    /// The server acting in `org`, with no caller behind it.
    pub fn system(org: OrgId, now: DateTime<Utc>) -> Self {
        Self {
            principal: Principal::System(org),
            meta: RequestMeta::default(),
            now,
        }
    }

    /// The organisation the actor acts in: it sees and changes nothing of another.
    pub fn org_id(&self) -> OrgId {
        match &self.principal {
            Principal::Staff(user) => user.org_id,
            Principal::System(org) => *org,
        }
    }

    /// Refuses unless the actor's role is at least `role`; `action` completes the sentence
    /// "Your role does not allow you to …".
    pub fn require(&self, role: StaffRole, action: &'static str) -> Result<(), DomainError> {
        match &self.principal {
            Principal::Staff(user) if user.role >= role => Ok(()),
            Principal::Staff(_) => Err(DomainError::Forbidden(action)),
            // It only carries out what the organisation's policy already decided.
            Principal::System(_) => Ok(()),
        }
    }

    /// The audit row of `action`, done by this actor in its organisation.
    pub fn audit(&self, action: &str) -> NewAuditEvent {
        let event = NewAuditEvent::new(action, &self.meta, self.now);
        match &self.principal {
            Principal::Staff(user) => event.by(user),
            Principal::System(org) => event.org(*org),
        }
    }

    /// The staff member acting, if it is one.
    pub fn staff_user(&self) -> Option<&User> {
        match &self.principal {
            Principal::Staff(user) => Some(user),
            Principal::System(_) => None,
        }
    }
}
