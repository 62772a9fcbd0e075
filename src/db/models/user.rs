//! Staff users of the console, their roles, and the last-Super-Admin rule.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{OrgId, UserId};
use crate::db::schema::users;
use crate::input::normalise_email;

text_enum! {
    /// What a staff member may do; checked on the server for every request. Ordered by
    /// power (`Viewer < Admin < SuperAdmin`); stored as `viewer`, `admin`, `super_admin`.
    #[derive(PartialOrd, Ord)]
    pub enum StaffRole ("role") {
        Viewer = "viewer",
        Admin = "admin",
        SuperAdmin = "super_admin",
    }
}

impl StaffRole {
    /// As the console lists them: the most powerful first.
    pub const BY_POWER: [StaffRole; 3] =
        [StaffRole::SuperAdmin, StaffRole::Admin, StaffRole::Viewer];

    pub fn label(self) -> &'static str {
        match self {
            StaffRole::SuperAdmin => "Super Admin",
            StaffRole::Admin => "Admin",
            StaffRole::Viewer => "Viewer",
        }
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

impl FromStr for StaffRole {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // The command line's spelling (`super-admin`) as well as the stored one.
        StaffRole::parse(&s.trim().replace('-', "_"))
            .ok_or_else(|| format!("unknown role {s:?} (super-admin, admin or viewer)"))
    }
}

#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: String,
    pub role: StaffRole,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

#[derive(Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: &'a str,
    pub role: StaffRole,
    pub password_hash: &'a str,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a Super Admin may change of a user; `None` leaves a field as it is.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub role: Option<StaffRole>,
    pub disabled: Option<bool>,
    pub updated_at: DateTime<Utc>,
}

impl User {
    pub async fn any_exists(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
        diesel::select(diesel::dsl::exists(users::table.select(users::id)))
            .get_result(conn)
            .await
    }

    pub async fn find_by_email(
        conn: &mut AsyncPgConnection,
        email: &str,
    ) -> QueryResult<Option<Self>> {
        users::table
            .filter(users::email.eq(normalise_email(email)))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Any user by id, whatever the organisation: only for the session guard.
    pub async fn find_any(conn: &mut AsyncPgConnection, id: UserId) -> QueryResult<Option<Self>> {
        users::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    org_scoped!(users, UserId, list_in_org ordered by users::email.asc());

    pub async fn insert(conn: &mut AsyncPgConnection, new: &NewUser<'_>) -> QueryResult<Self> {
        diesel::insert_into(users::table)
            .values(new)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The addresses of the organisation's enabled Admins and Super Admins: who is told when
    /// a credential needs attention.
    pub async fn manager_emails(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<Vec<String>> {
        Self::emails_with_roles(conn, org, &[StaffRole::Admin, StaffRole::SuperAdmin]).await
    }

    /// The addresses of the organisation's enabled users with one of `roles`, sorted.
    pub async fn emails_with_roles(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        roles: &[StaffRole],
    ) -> QueryResult<Vec<String>> {
        users::table
            .filter(users::org_id.eq(org))
            .filter(users::role.eq_any(roles))
            .filter(users::disabled.eq(false))
            .order(users::email.asc())
            .select(users::email)
            .load(conn)
            .await
    }

    /// Locks the organisation's enabled Super Admins (call inside a transaction) and counts
    /// them, so two concurrent demotions cannot both pass the last-Super-Admin check.
    pub async fn lock_active_super_admins(
        conn: &mut AsyncPgConnection,
        org: OrgId,
    ) -> QueryResult<usize> {
        users::table
            .filter(users::org_id.eq(org))
            .filter(users::role.eq(StaffRole::SuperAdmin))
            .filter(users::disabled.eq(false))
            .select(users::id)
            .for_update()
            .load::<UserId>(conn)
            .await
            .map(|ids| ids.len())
    }

    /// Changes a user's role or disabled flag (what a Super Admin may change).
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: UserId,
        changes: &UserChanges,
    ) -> QueryResult<Self> {
        diesel::update(
            users::table
                .filter(users::org_id.eq(org))
                .filter(users::id.eq(id)),
        )
        .set(changes)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    pub async fn set_password_hash(
        conn: &mut AsyncPgConnection,
        id: UserId,
        hash: &str,
        now: DateTime<Utc>,
    ) -> QueryResult<()> {
        diesel::update(users::table.find(id))
            .set((users::password_hash.eq(hash), users::updated_at.eq(now)))
            .execute(conn)
            .await
            .map(|_| ())
    }
}
