//! What a caller reads besides credentials: the API catalog, the roles and the audit log
//! (with the console's filters, cursor-paginated newest first).

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::v1::call::{self, Reply};
use crate::api::v1::problem::Problem;
use crate::api::v1::views::{ApiList, ApiView, RoleList, RoleView};
use crate::api::v1::{cursor, input};
use crate::app_state::AppState;
use crate::credentials::management::{AUDIT_READ, CREDENTIALS_READ};
use crate::db::ids::{AuditEventId, CredentialId};
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRole;
use crate::db::models::audit_event::{AuditEvent, AuditFilter, CredentialFilter, Window};

#[utoipa::path(get, path = "/api/v1/apis", tag = "catalog",
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = ApiList), crate::api::v1::doc_parts::Errors))]
pub async fn list_apis(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let apis = Api::list_for_org(conn, call.actor.org_id()).await?;
        Ok(Reply::ok(&ApiList {
            items: apis.iter().map(ApiView::from).collect(),
        }))
    })
    .await
}

#[utoipa::path(get, path = "/api/v1/roles", tag = "catalog",
    security(("bearer" = ["m2m.credentials:read"])),
    responses((status = 200, body = RoleList), crate::api::v1::doc_parts::Errors))]
pub async fn list_roles(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, CREDENTIALS_READ, async |call, conn| {
        let roles = ApiRole::list_with_apis(conn, call.actor.org_id()).await?;
        Ok(Reply::ok(&RoleList {
            items: roles.iter().map(RoleView::from).collect(),
        }))
    })
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Events about this credential (its id), or about credentials whose name contains this.
    pub credential: Option<String>,
    /// Events whose actor's email or client ID contains this.
    pub actor: Option<String>,
    /// Exactly this action, such as `credential.secret_rotated`.
    pub action: Option<String>,
    /// Events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Events strictly before this time.
    pub before: Option<DateTime<Utc>>,
    #[param(pattern = "^[A-Za-z0-9_-]*$", max_length = 200)]
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

/// A filter text: bounded, no control characters.
fn filter_text(field: &str, text: Option<String>) -> Result<Option<String>, Problem> {
    let Some(text) = text.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > 200 || text.chars().any(char::is_control) {
        return Err(Problem::invalid(
            field,
            "Use at most 200 characters, without control characters.",
        ));
    }
    Ok(Some(text))
}

impl AuditQuery {
    fn filter(self) -> Result<(AuditFilter, Option<String>, Option<u32>), Problem> {
        let credential = filter_text("credential", self.credential)?.map(|text| match text
            .parse::<CredentialId>(
        ) {
            Ok(id) => CredentialFilter::Id(id),
            Err(_) => CredentialFilter::Name(text),
        });
        if let (Some(since), Some(before)) = (self.since, self.before)
            && since >= before
        {
            return Err(Problem::invalid("before", "Choose a time after `since`."));
        }
        let filter = AuditFilter {
            credential,
            actor: filter_text("actor", self.actor)?,
            action: filter_text("action", self.action)?,
            since: self.since,
            before: self.before,
        };
        Ok((filter, self.cursor, self.limit))
    }
}

/// Who did it: a person, a calling credential, or the server applying the policy.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditActor {
    pub email: Option<String>,
    pub client_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditTarget {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
    pub label: Option<String>,
}

/// One event of the audit log.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEventView {
    #[schema(value_type = i64)]
    pub id: AuditEventId,
    pub action: String,
    pub actor: AuditActor,
    pub target: AuditTarget,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// What changed, as `{"before": …, "after": …}` or the action's facts; never a secret.
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEventView>,
    pub next_cursor: Option<String>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        Self {
            id: e.id,
            action: e.action,
            actor: AuditActor {
                email: e.actor_email,
                client_id: e.actor_client_id,
            },
            target: AuditTarget {
                kind: e.target_type,
                id: e.target_id,
                label: e.target_label,
            },
            ip: e.ip,
            user_agent: e.user_agent,
            details: e.details,
            created_at: e.created_at,
        }
    }
}

#[utoipa::path(get, path = "/api/v1/audit-events", tag = "audit",
    params(AuditQuery),
    security(("bearer" = ["m2m.audit:read"])),
    responses((status = 200, body = AuditPage), crate::api::v1::doc_parts::Errors))]
pub async fn list_audit_events(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    call::run(&req, &state, AUDIT_READ, async |call, conn| {
        let q: AuditQuery = input::query(&req)?;
        let (filter, after, limit) = q.filter()?;
        let limit = cursor::limit(limit)?;
        let window = match after.filter(|c| !c.is_empty()) {
            None => Window::Offset(0),
            Some(text) => {
                let (at, id) = cursor::decode::<i64>(&text)?;
                Window::After(at, AuditEventId(id))
            }
        };
        let fetch = i64::try_from(limit).unwrap_or(100) + 1;
        let mut events =
            AuditEvent::search(conn, call.actor.org_id(), &filter, window, fetch).await?;
        let more = events.len() > limit;
        events.truncate(limit);
        let next_cursor = match events.last() {
            Some(last) if more => Some(cursor::encode(last.created_at, last.id)),
            _ => None,
        };
        Ok(Reply::ok(&AuditPage {
            items: events.into_iter().map(AuditEventView::from).collect(),
            next_cursor,
        }))
    })
    .await
}
