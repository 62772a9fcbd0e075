//! Organisations: the tenants that own users, roles and credentials.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::OrgId;
use crate::db::schema::organisations;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: OrgId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl Organisation {
    /// Locks the organisation row until the transaction ends. Every transaction that changes
    /// what its credentials may use (the API catalog, roles, a credential's role, access level
    /// or selection) or how many it has takes this lock first: it serialises them, and the
    /// scope-copy triggers take it too (see the hot_path migration), so taking it up front
    /// keeps two such transactions from waiting on each other in opposite orders.
    pub async fn lock(conn: &mut AsyncPgConnection, id: OrgId) -> QueryResult<()> {
        organisations::table
            .find(id)
            .select(organisations::id)
            .for_no_key_update()
            .first::<OrgId>(conn)
            .await
            .map(|_| ())
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: OrgId) -> QueryResult<Self> {
        organisations::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Names are unique without regard to case.
    pub async fn find_by_name(
        conn: &mut AsyncPgConnection,
        name: &str,
    ) -> QueryResult<Option<Self>> {
        organisations::table
            .filter(
                diesel::dsl::sql::<diesel::sql_types::Bool>("lower(name) = lower(")
                    .bind::<diesel::sql_types::Text, _>(name)
                    .sql(")"),
            )
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    pub async fn create(
        conn: &mut AsyncPgConnection,
        name: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        let org = Self {
            id: OrgId::new_random(),
            name: name.to_string(),
            created_at: now,
        };
        diesel::insert_into(organisations::table)
            .values(&org)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }
}
