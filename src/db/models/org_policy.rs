//! An organisation's credential policy (see the org_policy migration).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::OrgId;
use crate::db::schema::org_policies;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = org_policies, treat_none_as_null = true)]
pub struct OrgPolicy {
    pub org_id: OrgId,
    pub default_lifetime_days: Option<i32>,
    pub max_lifetime_days: Option<i32>,
    pub expires_soon_days: i32,
    pub stale_after_days: i32,
    pub stale_action: String,
    pub updated_at: DateTime<Utc>,
    /// Super Admins and Admins must sign in with a second factor (issue 14).
    pub require_two_factor: bool,
    /// No credential's tokens live longer (issue 23).
    pub max_token_lifetime_seconds: i32,
}

impl OrgPolicy {
    pub async fn find(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Option<Self>> {
        org_policies::table
            .find(org)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Every stored policy (organisations without one have the defaults).
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        org_policies::table
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn save(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(org_policies::table)
            .values(self)
            .on_conflict(org_policies::org_id)
            .do_update()
            .set(self)
            .execute(conn)
            .await
            .map(|_| ())
    }
}

impl OrgPolicy {
    /// The policies that disable stale credentials.
    pub async fn disabling_stale(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        org_policies::table
            .filter(org_policies::stale_action.eq("disable"))
            .select(Self::as_select())
            .load(conn)
            .await
    }
}
