//! A typed view of the actix session: who is signed in, and the CSRF token.

use actix_session::{Session, SessionExt};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use std::future::{Ready, ready};

use chrono::{DateTime, Utc};

use crate::db::ids::UserId;
use crate::random;
use crate::staff::sessions::{ORIGIN_KEY, SignInOrigin};

/// The signed-in user (`UserId`); the session store mirrors it into the row.
pub const USER_ID_KEY: &str = "user_id";
const CSRF_KEY: &str = "csrf";
const FLASH_KEY: &str = "flash";
/// The pending sign-in (`PendingSignIn`); the session store mirrors its user into the row, so
/// ending the user's sessions ends it too.
pub const PENDING_KEY: &str = "two_factor_pending";
/// When the user last proved who they are (Unix seconds): at sign-in, or "Confirm it's you".
const AUTHENTICATED_AT_KEY: &str = "authenticated_at";

/// A sign-in halfway: the password was right, the second factor is still to come. Nobody is
/// signed in by it. It is tied to its user: ending the user's sessions (a password change,
/// sign out everywhere, disabling, a role change, a two-factor reset) deletes its row too.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct PendingSignIn {
    /// Random, for counting this sign-in's code attempts (`staff::throttle`).
    pub id: String,
    pub user_id: UserId,
    /// When the password step passed (Unix seconds).
    pub at: i64,
    /// Where to go once signed in (already checked by `safe_next`).
    pub next: String,
}

impl PendingSignIn {
    pub fn new(user_id: UserId, at: DateTime<Utc>, next: String) -> Result<Self, anyhow::Error> {
        Ok(Self {
            id: hex::encode(random::os_random::<16>()?),
            user_id,
            at: at.timestamp(),
            next,
        })
    }
}

pub struct TypedSession(Session);

impl TypedSession {
    pub fn user_id(&self) -> Option<UserId> {
        self.0.get::<UserId>(USER_ID_KEY).ok().flatten()
    }

    /// Signs `user` in under a brand-new session key and a new CSRF token, so nothing an
    /// attacker may have planted before sign-in (session fixation) survives it. Signing in
    /// counts as a fresh authentication.
    pub fn log_in(&self, user: UserId, origin: &SignInOrigin) -> Result<(), anyhow::Error> {
        self.0.renew();
        self.0.remove(PENDING_KEY);
        self.0
            .insert(USER_ID_KEY, user)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.0
            .insert(CSRF_KEY, random::token_256()?)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.0
            .insert(ORIGIN_KEY, origin)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        self.0
            .insert(AUTHENTICATED_AT_KEY, origin.at)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    /// Where this session was signed in, if it was signed in since sessions kept that.
    pub fn origin(&self) -> Option<SignInOrigin> {
        self.0.get::<SignInOrigin>(ORIGIN_KEY).ok().flatten()
    }

    /// When the user last proved who they are in this session.
    pub fn authenticated_at(&self) -> Option<i64> {
        self.0.get::<i64>(AUTHENTICATED_AT_KEY).ok().flatten()
    }

    /// Records a fresh authentication ("Confirm it's you" passed).
    pub fn reauthenticated(&self, now: DateTime<Utc>) -> Result<(), anyhow::Error> {
        self.0
            .insert(AUTHENTICATED_AT_KEY, now.timestamp())
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// Remembers a correct password of `pending.user_id` under a new session key, without
    /// signing anyone in.
    pub fn begin_second_factor(&self, pending: &PendingSignIn) -> Result<(), anyhow::Error> {
        self.0.renew();
        self.0.remove(USER_ID_KEY);
        self.0
            .insert(PENDING_KEY, pending)
            .map_err(|e| anyhow::anyhow!("{e}"))
    }

    /// The sign-in waiting for its second factor, if any.
    pub fn pending_sign_in(&self) -> Option<PendingSignIn> {
        self.0.get::<PendingSignIn>(PENDING_KEY).ok().flatten()
    }

    pub fn clear_pending_sign_in(&self) {
        self.0.remove(PENDING_KEY);
    }

    /// Ends this session: its row is deleted and the cookie removed.
    pub fn log_out(&self) {
        self.0.purge();
    }

    /// The session's CSRF token, created on first use.
    pub fn csrf_token(&self) -> Result<String, anyhow::Error> {
        if let Some(token) = self.0.get::<String>(CSRF_KEY).ok().flatten() {
            return Ok(token);
        }
        let token = random::token_256()?;
        self.0
            .insert(CSRF_KEY, &token)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(token)
    }

    /// A one-line notice for the next page (post/redirect/get without JavaScript).
    pub fn set_flash(&self, message: &str) {
        let _ = self.0.insert(FLASH_KEY, message);
    }

    /// The notice, removed; a session without one is left untouched (so that showing the
    /// sign-in page to a stranger still stores nothing).
    pub fn take_flash(&self) -> Option<String> {
        self.0.get::<String>(FLASH_KEY).ok().flatten()?;
        self.0.remove_as::<String>(FLASH_KEY).and_then(Result::ok)
    }
}

impl FromRequest for TypedSession {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self(req.get_session())))
    }
}
