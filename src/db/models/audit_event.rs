//! The append-only audit log: who did what, to what, from where. A database trigger refuses
//! UPDATE and DELETE, so the application cannot rewrite history even by mistake.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{AuditEventId, CredentialId, OrgId, UserId};
use crate::db::schema::audit_events;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: AuditEventId,
    pub org_id: Option<OrgId>,
    pub actor_user_id: Option<UserId>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// One event to append. Callers must never put a secret, token, hash or password in it.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_events)]
pub struct NewAuditEvent {
    pub org_id: Option<OrgId>,
    pub actor_user_id: Option<UserId>,
    pub actor_email: Option<String>,
    pub action: String,
    pub target_type: Option<String>,
    pub target_id: Option<String>,
    pub target_label: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl NewAuditEvent {
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(audit_events::table)
            .values(self)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

impl AuditEvent {
    /// Newest first.
    pub async fn list_for_org(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        audit_events::table
            .filter(audit_events::org_id.eq(org))
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// The latest events about one target (`("credential", id)`), newest first.
    pub async fn list_for_target(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        target_type: &str,
        target_id: &str,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        audit_events::table
            .filter(audit_events::org_id.eq(org))
            .filter(audit_events::target_type.eq(target_type))
            .filter(audit_events::target_id.eq(target_id))
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .limit(limit)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}

/// What the audit log page narrows the organisation's events to; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Events whose target is this credential.
    pub credential: Option<CredentialId>,
    /// Events whose actor's email contains this text (case-insensitive).
    pub actor: Option<String>,
    /// Events with exactly this action (`api.created`).
    pub action: Option<String>,
}

impl AuditEvent {
    /// One page of `org`'s events matching `filter`, newest first.
    pub async fn search(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        filter: &AuditFilter,
        limit: i64,
        offset: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut query = audit_events::table
            .filter(audit_events::org_id.eq(org))
            .into_boxed();
        if let Some(credential) = filter.credential {
            query = query
                .filter(audit_events::target_type.eq("credential"))
                .filter(audit_events::target_id.eq(credential.to_string()));
        }
        if let Some(actor) = &filter.actor {
            query =
                query.filter(audit_events::actor_email.ilike(format!("%{}%", escape_like(actor))));
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
        query
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .limit(limit)
            .offset(offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}

/// `text` matched literally inside a LIKE pattern (whose default escape character is `\`).
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl NewAuditEvent {
    /// An event with no actor yet (sign-in failures, first-run setup).
    pub fn new(action: &str, meta: &crate::client_ip::RequestMeta, now: DateTime<Utc>) -> Self {
        Self {
            org_id: None,
            actor_user_id: None,
            actor_email: None,
            action: action.into(),
            target_type: None,
            target_id: None,
            target_label: None,
            ip: meta.ip_string(),
            user_agent: meta.user_agent.clone(),
            details: serde_json::json!({}),
            created_at: now,
        }
    }

    /// Done by `user`, within `user`'s organisation.
    pub fn by(mut self, user: &crate::db::models::user::User) -> Self {
        self.org_id = Some(user.org_id);
        self.actor_user_id = Some(user.id);
        self.actor_email = Some(user.email.clone());
        self
    }

    pub fn org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org);
        self
    }

    pub fn actor_email(mut self, email: &str) -> Self {
        self.actor_email = Some(email.into());
        self
    }

    pub fn target(mut self, kind: &str, id: impl ToString, label: &str) -> Self {
        self.target_type = Some(kind.into());
        self.target_id = Some(id.to_string());
        self.target_label = Some(label.into());
        self
    }

    pub fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}
