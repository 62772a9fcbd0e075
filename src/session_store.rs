//! actix-session's `SessionStore` over PostgreSQL, so that any instance can end any session
//! on the next request (logout, role change, disabled user) and no state lives in a process.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration as CookieDuration;
use chrono::Duration;

use crate::clock::Clock;
use crate::db::DbPool;
use crate::db::ids::UserId;
use crate::db::models::session::{self, NewSession};
use crate::random;
use crate::session::{PENDING_KEY, PendingSignIn, USER_ID_KEY};

/// The session-state entry that names the signed-in user; mirrored into its own column so
/// a user's sessions can be found and ended.

#[derive(Clone)]
pub struct PgSessionStore {
    pool: DbPool,
    clock: Clock,
    idle: Duration,
    absolute: Duration,
}

type State = HashMap<String, String>;

impl PgSessionStore {
    pub fn new(pool: DbPool, clock: Clock, idle: Duration, absolute: Duration) -> Self {
        Self {
            pool,
            clock,
            idle,
            absolute,
        }
    }

    async fn conn(&self) -> Result<crate::db::DbConn, anyhow::Error> {
        self.pool
            .get()
            .await
            .map_err(|e| anyhow::anyhow!("session store: no database connection: {e}"))
    }

    async fn insert_new(&self, state: State) -> Result<SessionKey, anyhow::Error> {
        let key = random::token_256()?;
        let now = self.clock.now();
        let mut conn = self.conn().await?;
        session::insert(
            &mut conn,
            &NewSession {
                key_hash: &random::sha256(key.as_bytes()),
                user_id: user_id_of(&state),
                pending_user_id: pending_user_of(&state),
                state: to_json(&state),
                created_at: now,
                idle_expires_at: now + self.idle,
                absolute_expires_at: now + self.absolute,
            },
        )
        .await?;
        SessionKey::try_from(key).map_err(|e| anyhow::anyhow!("{e}"))
    }
}

fn user_id_of(state: &State) -> Option<UserId> {
    state
        .get(USER_ID_KEY)
        .and_then(|raw| serde_json::from_str(raw).ok())
}

/// The user of the sign-in waiting for its code, if any.
fn pending_user_of(state: &State) -> Option<UserId> {
    state
        .get(PENDING_KEY)
        .and_then(|raw| serde_json::from_str::<PendingSignIn>(raw).ok())
        .map(|pending| pending.user_id)
}

fn to_json(state: &State) -> serde_json::Value {
    serde_json::Value::Object(
        state
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
            .collect(),
    )
}

fn from_json(value: serde_json::Value) -> Option<State> {
    match value {
        serde_json::Value::Object(map) => Some(
            map.into_iter()
                .filter_map(|(k, v)| match v {
                    serde_json::Value::String(s) => Some((k, s)),
                    _ => None,
                })
                .collect(),
        ),
        _ => None,
    }
}

fn key_hash(key: &SessionKey) -> Vec<u8> {
    random::sha256(key.as_ref().as_bytes())
}

impl SessionStore for PgSessionStore {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        let mut conn = self.conn().await.map_err(LoadError::Other)?;
        let state = session::load_live(&mut conn, &key_hash(session_key), self.clock.now())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        Ok(state.and_then(from_json))
    }

    async fn save(&self, state: State, _ttl: &CookieDuration) -> Result<SessionKey, SaveError> {
        self.insert_new(state).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        session_key: SessionKey,
        state: State,
        _ttl: &CookieDuration,
    ) -> Result<SessionKey, UpdateError> {
        let now = self.clock.now();
        let mut conn = self.conn().await.map_err(UpdateError::Other)?;
        let found = session::update_state(
            &mut conn,
            &key_hash(&session_key),
            (user_id_of(&state), pending_user_of(&state)),
            to_json(&state),
            now,
            now + self.idle,
        )
        .await
        .map_err(|e| UpdateError::Other(e.into()))?;
        if found {
            return Ok(session_key);
        }
        // The row was deleted while this request ran (logout elsewhere, user disabled):
        // start a fresh anonymous session rather than bring the sign-in (or the pending one)
        // back to life.
        drop(conn);
        let mut state = state;
        state.remove(USER_ID_KEY);
        state.remove(PENDING_KEY);
        self.insert_new(state).await.map_err(UpdateError::Other)
    }

    async fn update_ttl(
        &self,
        session_key: &SessionKey,
        _ttl: &CookieDuration,
    ) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        session::touch(
            &mut conn,
            &key_hash(session_key),
            self.clock.now() + self.idle,
        )
        .await?;
        Ok(())
    }

    async fn delete(&self, session_key: &SessionKey) -> Result<(), anyhow::Error> {
        let mut conn = self.conn().await?;
        session::delete(&mut conn, &key_hash(session_key)).await?;
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::staff::sessions::{ORIGIN_KEY, SignInOrigin, origin_in};

    #[test]
    fn the_origin_is_read_back_from_a_saved_state_and_junk_is_none() {
        let origin = SignInOrigin {
            id: "ab12".into(),
            user_agent: "curl/8.5.0".into(),
            ip: Some("192.0.2.7".into()),
            at: 1_700_000_000,
        };
        let mut state = State::new();
        state.insert(ORIGIN_KEY.into(), serde_json::to_string(&origin).unwrap());
        let read = origin_in(&to_json(&state)).unwrap();
        assert_eq!((read.id.as_str(), read.at), ("ab12", 1_700_000_000));
        assert!(origin_in(&serde_json::json!({})).is_none());
        assert!(origin_in(&serde_json::json!({ "origin": "{not json" })).is_none());
        assert!(origin_in(&serde_json::json!({ "origin": { "id": "x" } })).is_none());
        assert!(origin_in(&serde_json::json!([1, 2])).is_none());
    }
}
