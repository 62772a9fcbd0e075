//! Issue 22: "usable credential" is one rule. Its Rust form (`Credential::is_usable`, what the
//! console and the API show), its SQL form (`db::models::usable::usable_at`, what token checks
//! and the jobs filter with) and the issuing statement's checks (not revoked, enabled,
//! unexpired) agree on every state a credential can be in, at the instant of expiry included.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use m2m_console::db::models::client_lookup::find_client;
use m2m_console::db::models::credential::{AccessLevel, Credential};
use m2m_console::db::models::usable::usable_at;
use m2m_console::db::schema::credentials;

use crate::fixtures::*;

/// (what it is, revoked, disabled, expires at, relative to now)
type State = (&'static str, bool, bool, Option<Duration>);

const STATES: [State; 10] = [
    ("never expires", false, false, None),
    ("expires tomorrow", false, false, Some(Duration::days(1))),
    (
        "expires in a second",
        false,
        false,
        Some(Duration::seconds(1)),
    ),
    ("expires this instant", false, false, Some(Duration::zero())),
    (
        "expired a second ago",
        false,
        false,
        Some(Duration::seconds(-1)),
    ),
    ("disabled", false, true, None),
    (
        "disabled and expired",
        false,
        true,
        Some(Duration::days(-1)),
    ),
    ("revoked", true, false, None),
    ("revoked and disabled", true, true, Some(Duration::days(1))),
    ("revoked and expired", true, false, Some(Duration::days(-1))),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rust_sql_and_the_issuing_statement_agree_on_usable() {
    let s = setup().await;
    let now: DateTime<Utc> = s.app.clock.now();
    let mut conn = s.app.conn().await;
    let mut usable_states = 0;
    for (what, revoked, disabled, expires) in STATES {
        let c =
            insert_credential(&s.app, s.org, s.catalog.role, what, AccessLevel::Full, &[]).await;
        let c: Credential = diesel::update(credentials::table.find(c.id))
            .set((
                credentials::revoked_at.eq(revoked.then_some(now - Duration::hours(1))),
                credentials::disabled_at.eq(disabled.then_some(now - Duration::hours(1))),
                credentials::expires_at.eq(expires.map(|d| now + d)),
            ))
            .returning(Credential::as_returning())
            .get_result(&mut *conn)
            .await
            .unwrap();

        let in_rust = c.is_usable(now);
        // Typed nullable (a comparison with a nullable column), never NULL: the IS NULL branch.
        let in_sql: Option<bool> = credentials::table
            .find(c.id)
            .select(usable_at(now))
            .first(&mut *conn)
            .await
            .unwrap();
        let in_sql = in_sql.unwrap_or_else(|| panic!("{what}: usable_at is NULL"));
        let lookup = find_client(&conn, presented(&c.client_id, &[7u8; 32], None, now))
            .await
            .unwrap();
        let checks = lookup.client.unwrap().checks;
        assert!(checks.secret, "{what}: the fixture's secret");
        let at_issuance = checks.not_revoked && checks.enabled && checks.unexpired;

        assert_eq!(in_rust, in_sql, "{what}: Rust and usable_at disagree");
        assert_eq!(
            in_rust, at_issuance,
            "{what}: Rust and the issuing statement disagree"
        );
        usable_states += usize::from(in_rust);
    }
    // The matrix holds both answers: three usable states, seven that are not.
    assert_eq!(usable_states, 3);
}
