//! Roles: named sets of catalog entries. A credential is bound to one role.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{ApiId, CredentialId, OrgId, RoleId};
use crate::db::models::api::Api;
use crate::db::schema::{apis, credentials, role_apis, roles};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = roles)]
pub struct ApiRole {
    pub id: RoleId,
    pub org_id: OrgId,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A role with the catalog entries it grants.
#[derive(Debug, Clone)]
pub struct ApiRoleWithApis {
    pub role: ApiRole,
    pub apis: Vec<Api>,
}

impl ApiRole {
    org_scoped!(roles, RoleId, list_for_org ordered by roles::name.asc());

    /// Every role of `org` with its APIs, in two queries.
    pub async fn list_with_apis(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<Vec<ApiRoleWithApis>> {
        let roles = Self::list_for_org(conn, org).await?;
        let ids: Vec<RoleId> = roles.iter().map(|r| r.id).collect();
        let pairs: Vec<(RoleId, Api)> = role_apis::table
            .inner_join(apis::table)
            .filter(role_apis::role_id.eq_any(&ids))
            .order(apis::scope.asc())
            .select((role_apis::role_id, Api::as_select()))
            .load(conn)
            .await?;
        let mut by_role: HashMap<RoleId, Vec<Api>> = HashMap::new();
        for (role_id, api) in pairs {
            by_role.entry(role_id).or_default().push(api);
        }
        Ok(roles
            .into_iter()
            .map(|role| ApiRoleWithApis {
                apis: by_role.remove(&role.id).unwrap_or_default(),
                role,
            })
            .collect())
    }

    pub async fn apis(conn: &mut AsyncPgConnection, role: RoleId) -> QueryResult<Vec<Api>> {
        role_apis::table
            .inner_join(apis::table)
            .filter(role_apis::role_id.eq(role))
            .order(apis::scope.asc())
            .select(Api::as_select())
            .load(conn)
            .await
    }

    pub async fn name_taken(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        name: &str,
        except: Option<RoleId>,
    ) -> QueryResult<bool> {
        let lowered = name.to_lowercase();
        let mut query = roles::table
            .filter(roles::org_id.eq(org))
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) = ")
                    .bind::<diesel::sql_types::Text, _>(lowered),
            )
            .into_boxed();
        if let Some(id) = except {
            query = query.filter(roles::id.ne(id));
        }
        diesel::select(diesel::dsl::exists(query.select(roles::id)))
            .get_result(conn)
            .await
    }

    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(roles::table)
            .values(self)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: RoleId,
        name: &str,
        description: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            roles::table
                .filter(roles::org_id.eq(org))
                .filter(roles::id.eq(id)),
        )
        .set((
            roles::name.eq(name),
            roles::description.eq(description),
            roles::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Replaces the role's APIs with `api_ids` (already checked to belong to the organisation).
    pub async fn set_apis(
        conn: &mut AsyncPgConnection,
        role: RoleId,
        api_ids: &[ApiId],
    ) -> QueryResult<()> {
        diesel::delete(role_apis::table.filter(role_apis::role_id.eq(role)))
            .execute(conn)
            .await?;
        let rows: Vec<_> = api_ids
            .iter()
            .map(|api| (role_apis::role_id.eq(role), role_apis::api_id.eq(*api)))
            .collect();
        diesel::insert_into(role_apis::table)
            .values(rows)
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Credentials still bound to the role: (id, name), for "reassign these first".
    pub async fn credentials_using(
        conn: &mut AsyncPgConnection,
        role: RoleId,
    ) -> QueryResult<Vec<(CredentialId, String)>> {
        credentials::table
            .filter(credentials::role_id.eq(role))
            .order(credentials::name.asc())
            .select((credentials::id, credentials::name))
            .load(conn)
            .await
    }

    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: RoleId,
    ) -> QueryResult<usize> {
        diesel::delete(
            roles::table
                .filter(roles::org_id.eq(org))
                .filter(roles::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
