//! The append-only audit log: who did what, to what, from where. A database trigger refuses
//! UPDATE and DELETE, so the application cannot rewrite history even by mistake.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{AuditEventId, CredentialId, OrgId, UserId};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::webhook_endpoint::WebhookEvent;
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
    /// The calling credential, when the management API acted.
    pub actor_client_id: Option<String>,
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
    /// The calling credential, when the management API acted.
    pub actor_client_id: Option<String>,
    /// The webhook event this row stands for: set only with typed details (the audit
    /// module's `Payload`), so every event's payload has one shape.
    #[diesel(skip_insertion)]
    pub webhook: Option<WebhookEvent>,
}

impl NewAuditEvent {
    /// Appends the row and returns its id. Only the audit module's `Record` calls it: an audit row
    /// is written together with the webhook deliveries it stands for.
    pub async fn append(&self, conn: &mut AsyncPgConnection) -> QueryResult<i64> {
        diesel::insert_into(audit_events::table)
            .values(self)
            .returning(audit_events::id)
            .get_result(conn)
            .await
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

impl AuditEvent {
    /// When each user of `org` last signed in (their latest `user.login`), for the users
    /// page; users who never did are absent.
    pub async fn last_sign_ins(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<std::collections::HashMap<UserId, DateTime<Utc>>> {
        let rows: Vec<(Option<UserId>, Option<DateTime<Utc>>)> = audit_events::table
            .filter(audit_events::org_id.eq(org))
            .filter(audit_events::action.eq(AuditAction::UserLogin.as_str()))
            .filter(audit_events::actor_user_id.is_not_null())
            .group_by(audit_events::actor_user_id)
            .select((
                audit_events::actor_user_id,
                diesel::dsl::max(audit_events::created_at),
            ))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(user, at)| Some((user?, at?)))
            .collect())
    }
}

/// How the audit log narrows events to one credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialFilter {
    /// Events whose target is exactly this credential (the links in the log's rows).
    Id(CredentialId),
    /// Events about credentials whose recorded name contains this text (case-insensitive);
    /// the name as it was at the time, since the log outlives renames and deletions.
    Name(String),
}

/// What the audit log page narrows the organisation's events to; `None` means any.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub credential: Option<CredentialFilter>,
    /// Events whose actor's email contains this text (case-insensitive).
    pub actor: Option<String>,
    /// Events with exactly this action (`api.created`).
    pub action: Option<String>,
    /// Events at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// Events strictly before this instant.
    pub before: Option<DateTime<Utc>>,
}

/// Where a page of events starts when reading the log from newest to oldest.
#[derive(Debug, Clone, Copy)]
pub enum Window {
    /// Skip this many matches (the console's numbered pages).
    Offset(i64),
    /// Only events older than this one, by `(created_at, id)`: the export reads page after
    /// page this way, so a long export costs the same per page and never skips or repeats
    /// a row when new events arrive meanwhile.
    After(DateTime<Utc>, AuditEventId),
}

impl AuditEvent {
    /// Up to `limit` of `org`'s events matching `filter`, newest first, from `window`.
    pub async fn search(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        filter: &AuditFilter,
        window: Window,
        limit: i64,
    ) -> QueryResult<Vec<Self>> {
        let mut query = audit_events::table
            .filter(audit_events::org_id.eq(org))
            .into_boxed();
        match &filter.credential {
            Some(CredentialFilter::Id(credential)) => {
                query = query
                    .filter(audit_events::target_type.eq("credential"))
                    .filter(audit_events::target_id.eq(credential.to_string()));
            }
            Some(CredentialFilter::Name(name)) => {
                query = query
                    .filter(audit_events::target_type.eq("credential"))
                    .filter(audit_events::target_label.ilike(format!("%{}%", escape_like(name))));
            }
            None => {}
        }
        if let Some(actor) = &filter.actor {
            let pattern = format!("%{}%", escape_like(actor));
            query = query.filter(
                audit_events::actor_email
                    .ilike(pattern.clone())
                    .or(audit_events::actor_client_id.ilike(pattern)),
            );
        }
        if let Some(action) = &filter.action {
            query = query.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(since) = filter.since {
            query = query.filter(audit_events::created_at.ge(since));
        }
        if let Some(before) = filter.before {
            query = query.filter(audit_events::created_at.lt(before));
        }
        query = match window {
            Window::Offset(offset) => query.offset(offset),
            Window::After(at, id) => query.filter(
                audit_events::created_at
                    .lt(at)
                    .or(audit_events::created_at.eq(at).and(audit_events::id.lt(id))),
            ),
        };
        query
            .order((audit_events::created_at.desc(), audit_events::id.desc()))
            .limit(limit)
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
    pub fn new(
        action: AuditAction,
        meta: &crate::client_ip::RequestMeta,
        now: DateTime<Utc>,
    ) -> Self {
        Self::unlisted(action.as_str(), meta, now)
    }

    /// A row of an action this build does not write: what another version left in the log,
    /// which the console and the API must still show (the tests write such rows). The code
    /// itself only writes `AuditAction`s, through `new`.
    #[doc(hidden)]
    pub fn unlisted(
        action: &str,
        meta: &crate::client_ip::RequestMeta,
        now: DateTime<Utc>,
    ) -> Self {
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
            actor_client_id: None,
            webhook: None,
        }
    }

    /// Done by `user`, within `user`'s organisation.
    pub fn by(mut self, user: &crate::db::models::user::User) -> Self {
        self.org_id = Some(user.org_id);
        self.actor_user_id = Some(user.id);
        self.actor_email = Some(user.email.clone());
        self
    }

    /// Done through the management API by the credential `client_id` of `org`.
    pub fn by_client(mut self, org: OrgId, client_id: &str) -> Self {
        self.org_id = Some(org);
        self.actor_client_id = Some(client_id.into());
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

    /// The webhook event the row stands for (queued with it by the audit module).
    pub fn webhook(mut self, event: Option<WebhookEvent>) -> Self {
        self.webhook = event;
        self
    }
}
