//! Secrets shared by every server instance, created once and kept in the database.

use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::schema::server_secrets;

/// The stored value for `name`, inserting `candidate` first when there is none yet; when
/// several instances start at once, all of them end up with the first one's value.
pub async fn get_or_init(
    conn: &mut AsyncPgConnection,
    name: &str,
    candidate: &[u8],
) -> QueryResult<Vec<u8>> {
    diesel::insert_into(server_secrets::table)
        .values((
            server_secrets::name.eq(name),
            server_secrets::value.eq(candidate),
        ))
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .first(conn)
        .await
}

/// The stored value for `name`, if any.
pub async fn find(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<Vec<u8>>> {
    server_secrets::table
        .find(name)
        .select(server_secrets::value)
        .first(conn)
        .await
        .optional()
}
