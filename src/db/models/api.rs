//! The API catalog: one entry per scope string an organisation's credentials may be granted.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{ApiId, OrgId};
use crate::db::schema::apis;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable)]
#[diesel(table_name = apis)]
pub struct Api {
    pub id: ApiId,
    pub org_id: OrgId,
    pub scope: String,
    pub name: String,
    pub description: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Lowercase letters, digits and `_ - . :`, 1 to 64 characters (`orders:read`).
pub fn is_valid_scope(scope: &str) -> bool {
    (1..=64).contains(&scope.len())
        && scope
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.:".contains(&b))
}

impl Api {
    org_scoped!(apis, ApiId, list_for_org ordered by apis::scope.asc());

    /// Those of `ids` that belong to `org`; anything else is silently dropped by the caller's
    /// length check.
    pub async fn find_many_in_org(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        ids: &[ApiId],
    ) -> QueryResult<Vec<Self>> {
        apis::table
            .filter(apis::org_id.eq(org))
            .filter(apis::id.eq_any(ids))
            .order(apis::scope.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn scope_taken(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        scope: &str,
        except: Option<ApiId>,
    ) -> QueryResult<bool> {
        let mut query = apis::table
            .filter(apis::org_id.eq(org))
            .filter(apis::scope.eq(scope))
            .into_boxed();
        if let Some(id) = except {
            query = query.filter(apis::id.ne(id));
        }
        diesel::select(diesel::dsl::exists(query.select(apis::id)))
            .get_result(conn)
            .await
    }

    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(apis::table)
            .values(self)
            .execute(conn)
            .await
            .map(|_| ())
    }

    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: ApiId,
        scope: &str,
        name: &str,
        description: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<Self> {
        diesel::update(
            apis::table
                .filter(apis::org_id.eq(org))
                .filter(apis::id.eq(id)),
        )
        .set((
            apis::scope.eq(scope),
            apis::name.eq(name),
            apis::description.eq(description),
            apis::updated_at.eq(now),
        ))
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Removes the entry; role and credential grants of it go with it (foreign-key cascade).
    pub async fn delete(conn: &mut AsyncPgConnection, org: OrgId, id: ApiId) -> QueryResult<usize> {
        diesel::delete(
            apis::table
                .filter(apis::org_id.eq(org))
                .filter(apis::id.eq(id)),
        )
        .execute(conn)
        .await
    }
}
