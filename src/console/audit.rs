//! Settings → Audit log: the organisation's events, newest first, 50 to a page, narrowed by
//! credential (ID or name), actor, action and date, and exported as CSV or NDJSON. Every
//! staff role may read it. Filter values that make no sense (a date that is not one,
//! `page=abc`) are ignored with a note rather than refused.

mod details;
mod export;
pub(crate) mod labels;
mod query;
pub(crate) mod user_agent;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

pub use self::details::DetailItem;
pub use self::export::{export_audit_csv, export_audit_ndjson};
pub use self::query::AuditQuery;

use crate::console::request::ConsoleRequest;
use crate::db::models::audit_event::{AuditEvent, Window};
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::paths;

pub const PAGE_SIZE: i64 = 50;

/// One event as the table shows it.
pub struct AuditRow {
    pub time: String,
    pub time_iso: String,
    pub actor: String,
    pub action: String,
    pub action_label: String,
    pub target_type: String,
    pub target_label: String,
    /// For credential targets: the link that narrows the log to that credential.
    pub target_filter: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub user_agent_short: String,
    pub details: Vec<DetailItem>,
}

impl AuditRow {
    fn of(event: AuditEvent) -> Self {
        let user_agent = event.user_agent.unwrap_or_default();
        let target_filter = match (event.target_type.as_deref(), &event.target_id) {
            (Some("credential"), Some(id)) => Some(
                AuditQuery {
                    credential: id.clone(),
                    ..AuditQuery::default()
                }
                .href(1),
            ),
            _ => None,
        };
        Self {
            time: event.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            time_iso: event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            // A person, a credential calling the management API, or else the server itself
            // (a policy, a leak report).
            actor: match (event.actor_email, event.actor_client_id) {
                (Some(email), _) => email,
                (None, Some(client_id)) => format!("API: {client_id}"),
                (None, None) => "System".into(),
            },
            action_label: labels::label(&event.action).to_string(),
            action: event.action,
            target_type: event.target_type.unwrap_or_default(),
            target_label: event.target_label.or(event.target_id).unwrap_or_default(),
            target_filter,
            ip: event.ip.unwrap_or_default(),
            user_agent_short: user_agent::shorten(&user_agent),
            user_agent,
            details: details::items(&event.details),
        }
    }

    /// Whether the label says more than the raw action (an unknown action is its own label).
    pub fn has_label(&self) -> bool {
        self.action_label != self.action
    }
}

/// One option of the action filter.
pub struct ActionOption {
    pub action: &'static str,
    pub label: &'static str,
}

#[derive(Template)]
#[template(path = "partials/audit_section.html")]
pub struct AuditSection {
    pub query: AuditQuery,
    pub rows: Vec<AuditRow>,
    pub previous: Option<String>,
    pub next: Option<String>,
    pub actions: Vec<ActionOption>,
}

impl AuditSection {
    /// The filtered action, when it is one this build has no label for (an old row's, or
    /// typed into the address): offered as an extra option so the filter shows it back.
    pub fn unlisted_action(&self) -> Option<&str> {
        let action = self.query.action.as_str();
        (!action.is_empty() && !labels::is_known(action)).then_some(action)
    }

    pub fn export_csv_href(&self) -> String {
        self.query.export_href(paths::AUDIT_EXPORT_CSV)
    }

    pub fn export_ndjson_href(&self) -> String {
        self.query.export_href(paths::AUDIT_EXPORT_NDJSON)
    }
}

#[tracing::instrument(skip_all)]
pub async fn list_audit_events(
    rq: ConsoleRequest,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Viewer, "read the audit log")?;
    let query = AuditQuery::parse(req.query_string());
    let offset = i64::from(query.page.saturating_sub(1)) * PAGE_SIZE;
    let filter = query.filter();
    // One more than a page tells whether there is a next one.
    let mut events = AuditEvent::search(
        &mut *rq.conn().await?,
        rq.user.org_id,
        &filter,
        Window::Offset(offset),
        PAGE_SIZE + 1,
    )
    .await?;
    let has_next = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    let content = AuditSection {
        previous: (query.page > 1).then(|| query.href(query.page - 1)),
        next: has_next.then(|| query.href(query.page + 1)),
        rows: events.into_iter().map(AuditRow::of).collect(),
        actions: labels::by_label()
            .into_iter()
            .map(|(action, label)| ActionOption { action, label })
            .collect(),
        query,
    };
    rq.settings_page(StatusCode::OK, ("Audit log", paths::AUDIT), None, content)
}
