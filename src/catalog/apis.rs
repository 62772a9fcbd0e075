//! Entries of the API catalog: one scope string (`orders:read`) with a name and description.
//! Deleting an entry takes it from every role and credential in the same transaction, and
//! the audit row names the credentials that lost it.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::Record;
use crate::catalog::{CHANGE_CATALOG, MAX_DESCRIPTION, MAX_NAME, Saved};
use crate::db::ids::ApiId;
use crate::db::models::api::{self, Api};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::credential::Credential;
use crate::db::models::organisation::Organisation;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::forms::{self, FieldErrors};
use crate::input::Lines;

const MAX_SCOPE: usize = 64;
const SCOPE_TAKEN: &str = "This scope is already in the catalog.";

/// An entry as a form or a request gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct ApiDraft {
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
}

impl ApiDraft {
    pub fn of(api: &Api) -> Self {
        Self {
            scope: api.scope.clone(),
            name: api.name.clone(),
            description: api.description.clone(),
        }
    }

    /// Checked field by field; returns the values trimmed, and the messages.
    pub fn check(&self) -> (ApiDraft, FieldErrors) {
        let mut errors = FieldErrors::default();
        let scope = self.scope.trim().to_string();
        if scope.is_empty() {
            errors.add("scope", "This field is required.");
        } else if scope.chars().count() > MAX_SCOPE {
            errors.add("scope", format!("Use at most {MAX_SCOPE} characters."));
        } else if scope.starts_with(crate::credentials::management::RESERVED_PREFIX) {
            errors.add(
                "scope",
                "Scopes starting with m2m. are kept for management access, which a Super Admin gives on the credential itself.",
            );
        } else if !api::is_valid_scope(&scope) {
            errors.add(
                "scope",
                "Use only lowercase letters, digits and _ - . : (for example orders:read).",
            );
        }
        let values = ApiDraft {
            scope,
            name: forms::text(
                &mut errors,
                "name",
                &self.name,
                true,
                MAX_NAME,
                Lines::Single,
            ),
            description: forms::text(
                &mut errors,
                "description",
                &self.description,
                false,
                MAX_DESCRIPTION,
                Lines::Multi,
            ),
        };
        (values, errors)
    }
}

fn details(api: &Api) -> serde_json::Value {
    json!({ "scope": api.scope, "name": api.name, "description": api.description })
}

/// The draft checked under the organisation lock, `except` the entry being edited.
async fn checked(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &ApiDraft,
    except: Option<ApiId>,
) -> Result<ApiDraft, DomainError> {
    let (values, mut errors) = draft.check();
    if errors.get("scope").is_none()
        && Api::scope_taken(conn, actor.org_id(), &values.scope, except).await?
    {
        errors.add("scope", SCOPE_TAKEN);
    }
    errors.into_result().map_err(DomainError::Invalid)?;
    Ok(values)
}

pub async fn create_api(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &ApiDraft,
) -> Result<Api, DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_CATALOG)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let values = checked(conn, actor, draft, None).await?;
        let new = Api {
            id: ApiId::new_random(),
            org_id: actor.org_id(),
            scope: values.scope,
            name: values.name,
            description: values.description,
            created_at: actor.now,
            updated_at: actor.now,
        };
        new.insert(conn).await?;
        actor
            .audit(AuditAction::ApiCreated)
            .target("api", new.id, &new.scope)
            .details(details(&new))
            .record(conn)
            .await?;
        Ok(new)
    })
    .await
}

pub async fn update_api(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: ApiId,
    draft: &ApiDraft,
) -> Result<(Api, Saved), DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_CATALOG)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let before = Api::find_in_org(conn, actor.org_id(), id).await?;
        let values = checked(conn, actor, draft, Some(id)).await?;
        if ApiDraft::of(&before) == values {
            return Ok((before, Saved::Unchanged));
        }
        let after = Api::update(
            conn,
            actor.org_id(),
            id,
            &values.scope,
            &values.name,
            &values.description,
            actor.now,
        )
        .await?;
        actor
            .audit(AuditAction::ApiUpdated)
            .target("api", id, &after.scope)
            .details(json!({ "before": details(&before), "after": details(&after) }))
            .record(conn)
            .await?;
        Ok((after, Saved::Changed))
    })
    .await
}

pub async fn delete_api(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: ApiId,
) -> Result<Api, DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_CATALOG)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let api = Api::find_in_org(conn, actor.org_id(), id).await?;
        // Asked before the delete: the cascade takes the grants with the entry.
        let losing = Credential::holding_api(conn, actor.org_id(), id).await?;
        if Api::delete(conn, actor.org_id(), id).await? == 0 {
            return Err(DomainError::NotFound);
        }
        let credentials: Vec<_> = losing
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        actor
            .audit(AuditAction::ApiDeleted)
            .target("api", id, &api.scope)
            .details(json!({ "scope": api.scope, "name": api.name, "credentials": credentials }))
            .record(conn)
            .await?;
        Ok(api)
    })
    .await
}
