//! Roles: named sets of catalog entries. A credential is bound to one role and may use what
//! the role allows now; a role still bound to a credential cannot be deleted.

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;

use crate::actor::Actor;
use crate::audit::Record;
use crate::catalog::{CHANGE_ROLES, MAX_DESCRIPTION, MAX_NAME, Saved};
use crate::db::ids::{ApiId, CredentialId, RoleId};
use crate::db::models::api::Api;
use crate::db::models::api_role::ApiRole;
use crate::db::models::audit_action::AuditAction;
use crate::db::models::organisation::Organisation;
use crate::db::models::user::StaffRole;
use crate::domain_error::DomainError;
use crate::forms::{self, FieldErrors};
use crate::input::Lines;

/// A role as a form or a request gives it: API ids as sent (one per ticked checkbox).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RoleDraft {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub apis: Vec<String>,
}

impl RoleDraft {
    pub fn of(role: &ApiRole, apis: &[Api]) -> Self {
        Self {
            name: role.name.clone(),
            description: role.description.clone(),
            apis: apis.iter().map(|a| a.id.to_string()).collect(),
        }
    }

    /// Whether the checkbox of `id` is ticked.
    pub fn checked(&self, id: &ApiId) -> bool {
        self.apis
            .iter()
            .any(|raw| raw.parse::<ApiId>().ok().as_ref() == Some(id))
    }

    /// The name and description trimmed, the APIs as sent: what a form shows again.
    pub fn trimmed(&self) -> Self {
        Self {
            name: self.name.trim().to_string(),
            description: self.description.trim().to_string(),
            apis: self.apis.clone(),
        }
    }
}

/// The scope strings of `apis`, in their order.
pub fn scopes(apis: &[Api]) -> Vec<String> {
    apis.iter().map(|a| a.scope.clone()).collect()
}

fn summary(role: &ApiRole, apis: &[Api]) -> serde_json::Value {
    json!({ "name": role.name, "description": role.description, "apis": scopes(apis) })
}

/// A draft that passed every check: its values and the catalog entries it names.
struct Checked {
    name: String,
    description: String,
    apis: Vec<Api>,
}

/// Checks the draft under the organisation lock (so a name still free and APIs still in the
/// catalog stay so until commit), `except` the role being edited.
async fn checked(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &RoleDraft,
    except: Option<RoleId>,
) -> Result<Checked, DomainError> {
    let org = actor.org_id();
    let mut errors = FieldErrors::default();
    let name = forms::text(
        &mut errors,
        "name",
        &draft.name,
        true,
        MAX_NAME,
        Lines::Single,
    );
    let description = forms::text(
        &mut errors,
        "description",
        &draft.description,
        false,
        MAX_DESCRIPTION,
        Lines::Multi,
    );
    if errors.get("name").is_none() && ApiRole::name_taken(conn, org, &name, except).await? {
        errors.add("name", "A role with this name already exists.");
    }
    let mut ids: Vec<ApiId> = Vec::new();
    let mut unknown = false;
    for raw in &draft.apis {
        match raw.trim().parse::<ApiId>() {
            Ok(id) if !ids.contains(&id) => ids.push(id),
            Ok(_) => {}
            Err(_) => unknown = true,
        }
    }
    let apis = Api::find_many_in_org(conn, org, &ids).await?;
    if unknown || apis.len() != ids.len() {
        errors.add("apis", "Choose APIs from this organisation's catalog.");
    }
    errors.into_result().map_err(DomainError::Invalid)?;
    Ok(Checked {
        name,
        description,
        apis,
    })
}

fn ids(apis: &[Api]) -> Vec<ApiId> {
    apis.iter().map(|a| a.id).collect()
}

pub async fn create_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    draft: &RoleDraft,
) -> Result<ApiRole, DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_ROLES)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let values = checked(conn, actor, draft, None).await?;
        let role = ApiRole {
            id: RoleId::new_random(),
            org_id: actor.org_id(),
            name: values.name,
            description: values.description,
            created_at: actor.now,
            updated_at: actor.now,
        };
        role.insert(conn).await?;
        ApiRole::set_apis(conn, role.id, &ids(&values.apis)).await?;
        actor
            .audit(AuditAction::RoleCreated)
            .target("role", role.id, &role.name)
            .details(summary(&role, &values.apis))
            .record(conn)
            .await?;
        Ok(role)
    })
    .await
}

pub async fn update_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: RoleId,
    draft: &RoleDraft,
) -> Result<(ApiRole, Saved), DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_ROLES)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let before = ApiRole::find_in_org(conn, actor.org_id(), id).await?;
        let before_apis = ApiRole::apis(conn, id).await?;
        let values = checked(conn, actor, draft, Some(id)).await?;
        // Both lists are ordered by scope, so equal sets compare equal.
        if before.name == values.name
            && before.description == values.description
            && scopes(&before_apis) == scopes(&values.apis)
        {
            return Ok((before, Saved::Unchanged));
        }
        let after = ApiRole::update(
            conn,
            actor.org_id(),
            id,
            &values.name,
            &values.description,
            actor.now,
        )
        .await?;
        ApiRole::set_apis(conn, id, &ids(&values.apis)).await?;
        actor
            .audit(AuditAction::RoleUpdated)
            .target("role", id, &after.name)
            .details(json!({
                "before": summary(&before, &before_apis),
                "after": summary(&after, &values.apis),
            }))
            .record(conn)
            .await?;
        Ok((after, Saved::Changed))
    })
    .await
}

/// Why a role cannot go yet, naming the credentials that still use it.
fn still_in_use(role: &str, credentials: &[(CredentialId, String)]) -> DomainError {
    let names: Vec<&str> = credentials.iter().map(|(_, name)| name.as_str()).collect();
    let whom = if names.is_empty() {
        "a credential".to_string()
    } else {
        format!("credentials {}", names.join(", "))
    };
    DomainError::Conflict(format!(
        "The role \"{role}\" is still assigned to {whom}: reassign them first."
    ))
}

pub async fn delete_role(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: RoleId,
) -> Result<ApiRole, DomainError> {
    actor.require(StaffRole::SuperAdmin, CHANGE_ROLES)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let role = ApiRole::find_in_org(conn, actor.org_id(), id).await?;
        let using = ApiRole::credentials_using(conn, id).await?;
        if !using.is_empty() {
            return Err(still_in_use(&role.name, &using));
        }
        let apis = ApiRole::apis(conn, id).await?;
        match ApiRole::delete(conn, actor.org_id(), id).await {
            Ok(0) => return Err(DomainError::NotFound),
            Ok(_) => {}
            // A credential was bound to it since we looked (the foreign key restricts).
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                return Err(still_in_use(&role.name, &[]));
            }
            Err(e) => return Err(e.into()),
        }
        actor
            .audit(AuditAction::RoleDeleted)
            .target("role", id, &role.name)
            .details(json!({ "name": role.name, "apis": scopes(&apis) }))
            .record(conn)
            .await?;
        Ok(role)
    })
    .await
}
