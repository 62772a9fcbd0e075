//! Who performs an operation of the domain layer, from where and when: what its permission
//! check and its audit row need. A staff member signed in to the console, the background
//! jobs acting on a policy a Super Admin set, or a calling credential of the management API.

use chrono::{DateTime, Utc};

use crate::audit::payload::{Details, Payload};
use crate::client_ip::RequestMeta;
use crate::db::ids::{CredentialId, OrgId};
use crate::db::models::audit_action::AuditAction;
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
    /// A credential calling the management API with a bearer token.
    Credential(Caller),
}

/// A calling credential, as its verified bearer token says.
#[derive(Debug, Clone)]
pub struct Caller {
    pub credential_id: CredentialId,
    pub org_id: OrgId,
    pub client_id: String,
    /// The token's scopes (never more than the credential may use now).
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn has(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }
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

    /// A credential calling the management API.
    pub fn credential(caller: Caller, meta: RequestMeta, now: DateTime<Utc>) -> Self {
        Self {
            principal: Principal::Credential(caller),
            meta,
            now,
        }
    }

    /// The organisation the actor acts in: it sees and changes nothing of another.
    pub fn org_id(&self) -> OrgId {
        match &self.principal {
            Principal::Staff(user) => user.org_id,
            Principal::System(org) => *org,
            Principal::Credential(caller) => caller.org_id,
        }
    }

    /// Refuses unless the actor's role is at least `role`; `action` completes the sentence
    /// "Your role does not allow you to …". A calling credential does only what its scopes
    /// name (`require_or_scope`), never what is kept for people.
    pub fn require(&self, role: StaffRole, action: &'static str) -> Result<(), DomainError> {
        match &self.principal {
            Principal::Staff(user) if user.role >= role => Ok(()),
            Principal::Staff(_) | Principal::Credential(_) => Err(DomainError::Forbidden(action)),
            // It only carries out what the organisation's policy already decided.
            Principal::System(_) => Ok(()),
        }
    }

    /// As `require` for staff; a calling credential needs the management scope `scope`.
    pub fn require_or_scope(
        &self,
        role: StaffRole,
        scope: &'static str,
        action: &'static str,
    ) -> Result<(), DomainError> {
        match &self.principal {
            Principal::Credential(caller) if caller.has(scope) => Ok(()),
            _ => self.require(role, action),
        }
    }

    /// Whether the actor is a Super Admin (or the server applying the policy): the only ones
    /// who may give or change management scopes.
    pub fn is_super_admin(&self) -> bool {
        match &self.principal {
            Principal::Staff(user) => user.role >= StaffRole::SuperAdmin,
            Principal::System(_) => true,
            Principal::Credential(_) => false,
        }
    }

    /// The calling credential, if the management API acts.
    pub fn caller(&self) -> Option<&Caller> {
        match &self.principal {
            Principal::Credential(caller) => Some(caller),
            _ => None,
        }
    }

    /// The audit row of `action`, done by this actor in its organisation.
    pub fn audit(&self, action: AuditAction) -> NewAuditEvent {
        // An action that is a webhook event goes through `audit_event`, with typed details.
        debug_assert!(action.webhook().is_none(), "{action:?} needs audit_event");
        self.audit_row(action)
    }

    /// The audit row of a change that is also a webhook event: its details are the event's.
    pub fn audit_event<P: Payload>(&self, details: &P) -> NewAuditEvent {
        self.audit_row(P::ACTION)
            .details(details.to_json())
            .webhook(details.event())
    }

    fn audit_row(&self, action: AuditAction) -> NewAuditEvent {
        let event = NewAuditEvent::new(action, &self.meta, self.now);
        match &self.principal {
            Principal::Staff(user) => event.by(user),
            Principal::System(org) => event.org(*org),
            Principal::Credential(caller) => event.by_client(caller.org_id, &caller.client_id),
        }
    }

    /// The staff member acting, if it is one.
    pub fn staff_user(&self) -> Option<&User> {
        match &self.principal {
            Principal::Staff(user) => Some(user),
            Principal::System(_) | Principal::Credential(_) => None,
        }
    }
}
