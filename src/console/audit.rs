//! Settings → Audit log: the organisation's events, newest first, 50 to a page, narrowed by
//! credential, actor or action. Every staff role may read it. Filter values that make no
//! sense (a credential id that is not a UUID, `page=abc`) are ignored rather than refused.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;

use crate::console::request::ConsoleRequest;
use crate::db::ids::CredentialId;
use crate::db::models::audit_event::{AuditEvent, AuditFilter};
use crate::db::models::user::StaffRole;
use crate::error::AppError;
use crate::input::{self, Lines};
use crate::paths;

pub const PAGE_SIZE: i64 = 50;
/// Far beyond any real log; keeps the offset arithmetic small.
const MAX_PAGE: u32 = 1_000_000;
const MAX_FILTER_CHARS: usize = 254;
const USER_AGENT_CHARS: usize = 40;

/// The query string as typed: shown back in the filter form and kept by the page links.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub credential: String,
    pub actor: String,
    pub action: String,
    pub page: u32,
    /// Filters refused for holding control characters (shown as such, never searched for).
    pub refused: Vec<&'static str>,
}

impl AuditQuery {
    /// Reads `credential`, `actor`, `action` and `page`; the first value of each wins and
    /// nothing here can fail.
    pub fn parse(query: &str) -> Self {
        let mut out = Self {
            page: 1,
            ..Self::default()
        };
        let (mut seen_credential, mut seen_actor, mut seen_action, mut seen_page) =
            (false, false, false, false);
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let mut value = input::truncate(value.trim(), MAX_FILTER_CHARS);
            if input::has_control(&value, Lines::Single) {
                if let Some(field) = ["credential", "actor", "action"]
                    .into_iter()
                    .find(|f| *f == key)
                    && !out.refused.contains(&field)
                {
                    out.refused.push(field);
                }
                value = String::new();
            }
            match key.as_ref() {
                "credential" if !seen_credential => {
                    (out.credential, seen_credential) = (value, true)
                }
                "actor" if !seen_actor => (out.actor, seen_actor) = (value, true),
                "action" if !seen_action => (out.action, seen_action) = (value, true),
                "page" if !seen_page => {
                    seen_page = true;
                    out.page = value
                        .parse::<u32>()
                        .ok()
                        .filter(|p| (1..=MAX_PAGE).contains(p))
                        .unwrap_or(1);
                }
                _ => {}
            }
        }
        out
    }

    /// The credential filter, when it is a UUID at all.
    pub fn credential_id(&self) -> Option<CredentialId> {
        self.credential.parse().ok()
    }

    /// Whether the `field` filter was refused for holding control characters.
    pub fn is_refused(&self, field: &'static str) -> bool {
        self.refused.contains(&field)
    }

    pub fn credential_ignored(&self) -> bool {
        !self.credential.is_empty() && self.credential_id().is_none()
    }

    pub fn filter(&self) -> AuditFilter {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        AuditFilter {
            credential: self.credential_id(),
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
        }
    }

    pub fn is_filtered(&self) -> bool {
        !(self.credential.is_empty()
            && self.actor.is_empty()
            && self.action.is_empty()
            && self.refused.is_empty())
    }

    /// The link to `page` with the same filters.
    pub fn href(&self, page: u32) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in [
            ("credential", &self.credential),
            ("actor", &self.actor),
            ("action", &self.action),
        ] {
            if !value.is_empty() {
                query.append_pair(key, value);
            }
        }
        query.append_pair("page", &page.to_string());
        format!("{}?{}", paths::AUDIT, query.finish())
    }
}

/// One event as the table shows it.
pub struct AuditRow {
    pub time: String,
    pub time_iso: String,
    pub actor: String,
    pub action: String,
    pub target_type: String,
    pub target_label: String,
    /// For credential targets: the link that narrows the log to that credential.
    pub target_filter: Option<String>,
    pub ip: String,
    pub user_agent: String,
    pub user_agent_short: String,
    pub details: String,
}

impl AuditRow {
    fn of(event: AuditEvent) -> Self {
        let user_agent = event.user_agent.unwrap_or_default();
        let user_agent_short = if user_agent.chars().count() > USER_AGENT_CHARS {
            format!(
                "{}…",
                user_agent
                    .chars()
                    .take(USER_AGENT_CHARS)
                    .collect::<String>()
            )
        } else {
            user_agent.clone()
        };
        let target_filter = match (event.target_type.as_deref(), &event.target_id) {
            (Some("credential"), Some(id)) => Some(
                AuditQuery {
                    credential: id.clone(),
                    page: 1,
                    ..AuditQuery::default()
                }
                .href(1),
            ),
            _ => None,
        };
        let details = match &event.details {
            serde_json::Value::Object(map) if map.is_empty() => String::new(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        Self {
            time: event.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
            time_iso: event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            // No email: the server itself acted (a policy, a leak report).
            actor: event.actor_email.unwrap_or_else(|| "System".into()),
            action: event.action,
            target_type: event.target_type.unwrap_or_default(),
            target_label: event.target_label.or(event.target_id).unwrap_or_default(),
            target_filter,
            ip: event.ip.unwrap_or_default(),
            user_agent,
            user_agent_short,
            details,
        }
    }
}

#[derive(Template)]
#[template(path = "partials/audit_section.html")]
pub struct AuditSection {
    pub query: AuditQuery,
    pub rows: Vec<AuditRow>,
    pub previous: Option<String>,
    pub next: Option<String>,
}

#[tracing::instrument(skip_all)]
pub async fn list_audit_events(
    rq: ConsoleRequest,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Viewer, "read the audit log")?;
    let query = AuditQuery::parse(req.query_string());
    let offset = i64::from(query.page - 1) * PAGE_SIZE;
    // One more than a page tells whether there is a next one.
    let filter = query.filter();
    let mut events = AuditEvent::search(
        &mut *rq.conn().await?,
        rq.user.org_id,
        &filter,
        PAGE_SIZE + 1,
        offset,
    )
    .await?;
    let has_next = events.len() as i64 > PAGE_SIZE;
    events.truncate(PAGE_SIZE as usize);
    let content = AuditSection {
        previous: (query.page > 1).then(|| query.href(query.page - 1)),
        next: has_next.then(|| query.href(query.page + 1)),
        rows: events.into_iter().map(AuditRow::of).collect(),
        query,
    };
    rq.settings_page(StatusCode::OK, ("Audit log", paths::AUDIT), None, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonsense_query_values_fall_back_to_defaults() {
        for raw in ["page=abc", "page=0", "page=-3", "page=99999999999", ""] {
            assert_eq!(AuditQuery::parse(raw).page, 1, "{raw}");
        }
        let q = AuditQuery::parse(
            "credential=nope&actor=+ops%40acme.test+&action=api.created&page=3&page=9",
        );
        assert_eq!(q.page, 3);
        assert_eq!(q.actor, "ops@acme.test");
        assert!(q.credential_ignored());
        assert!(q.filter().credential.is_none());
        assert_eq!(
            q.href(4),
            "/settings/audit?credential=nope&actor=ops%40acme.test&action=api.created&page=4"
        );
    }

    #[test]
    fn filters_with_control_characters_are_refused_not_searched() {
        let q = AuditQuery::parse("actor=ops%00x&action=a%0Ab&credential=%01");
        assert!(q.actor.is_empty() && q.action.is_empty() && q.credential.is_empty());
        assert!(q.is_refused("actor") && q.is_refused("action") && q.is_refused("credential"));
        assert!(q.filter().actor.is_none());
    }
}
