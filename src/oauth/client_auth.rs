//! Client authentication (RFC 6749 §2.3.1): HTTP Basic with the form-urlencoded client ID
//! and secret, or `client_id` + `client_secret` in the body, or a signed assertion
//! (`private_key_jwt`, RFC 7523 §2.2); never two at once. Every check of a credential
//! happens in `authenticate` (or an `Attempt`), and every failure looks the same.

use std::net::IpAddr;

use actix_web::HttpRequest;
use actix_web::http::header::AUTHORIZATION;
use chrono::{DateTime, Utc};
use diesel::QueryResult;
use diesel_async::AsyncPgConnection;

use crate::config::Settings;
use crate::credentials::public_key::PublicKey;
use crate::db::DbPool;
use crate::db::models::access_token::ActiveToken;
use crate::db::models::issuance::{self, ClientRecord, Lookup, Refusal, ThrottleCheck};
use crate::db::models::{client_lookup, credential_key};
use crate::oauth::assertion::{self, Flaw};
use crate::oauth::basic_auth::{decode_basic, strip_basic_scheme};
use crate::oauth::error::OAuthError;
use crate::oauth::form::OAuthForm;
use crate::oauth::state::OAuthState;
use crate::oauth::throttle;
use crate::tokens::{self, HashedSecret, Kind};
use crate::usage::RefusalReason;

/// What the client presented.
pub struct Presented {
    pub client_id: String,
    proof: Proof,
    /// Sent with HTTP Basic (failures then carry a Basic challenge).
    pub basic: bool,
}

/// How the client proves it is who it says.
enum Proof {
    Secret(String),
    /// A JWT signed with one of the credential's keys (`oauth::assertion`).
    Assertion(String),
}

/// Reads the client's credentials from the request. `Ok(None)`: none were presented.
pub fn presented(req: &HttpRequest, form: &OAuthForm) -> Result<Option<Presented>, OAuthError> {
    let asserted =
        form.get("client_assertion").is_some() || form.get("client_assertion_type").is_some();
    let in_body = form.get("client_id").is_some() || form.get("client_secret").is_some();
    let mut headers = req.headers().get_all(AUTHORIZATION);
    let header = headers.next();
    if headers.next().is_some() {
        return Err(OAuthError::invalid_request(
            "Send one Authorization header, not several.",
        ));
    }
    let basic = match header {
        None => None,
        Some(value) => {
            let Some(encoded) = strip_basic_scheme(value.as_bytes()) else {
                // Another scheme is not client authentication at this endpoint.
                return Err(OAuthError::invalid_client(true));
            };
            Some(decode_basic(encoded).ok_or_else(|| OAuthError::invalid_client(true))?)
        }
    };
    if asserted {
        return if basic.is_some() || form.get("client_secret").is_some() {
            Err(OAuthError::invalid_request(
                "Use one client authentication method, not two.",
            ))
        } else {
            presented_assertion(form).map(Some)
        };
    }
    match (basic, in_body) {
        (Some(_), true) => Err(OAuthError::invalid_request(
            "Use one client authentication method, not two.",
        )),
        (Some((client_id, secret)), false) => Ok(Some(Presented {
            client_id,
            proof: Proof::Secret(secret),
            basic: true,
        })),
        (None, true) => Ok(Some(Presented {
            client_id: form.get("client_id").unwrap_or_default().to_string(),
            proof: Proof::Secret(form.get("client_secret").unwrap_or_default().to_string()),
            basic: false,
        })),
        (None, false) => Ok(None),
    }
}

/// `client_assertion_type` and `client_assertion` (RFC 7521 §4.2): the client is the one the
/// assertion names as its subject; a `client_id` sent with it must be that one.
fn presented_assertion(form: &OAuthForm) -> Result<Presented, OAuthError> {
    let Some(text) = form.get("client_assertion") else {
        return Err(OAuthError::invalid_request(
            "The client_assertion parameter is missing.",
        ));
    };
    if form.get("client_assertion_type") != Some(assertion::ASSERTION_TYPE) {
        return Err(OAuthError::invalid_client(false).because("assertion_type"));
    }
    let claimed = assertion::claimed_client_id(text).unwrap_or_default();
    if form.get("client_id").is_some_and(|id| id != claimed) {
        return Err(OAuthError::invalid_client(false).because("assertion_other_client"));
    }
    Ok(Presented {
        client_id: claimed,
        proof: Proof::Assertion(text.to_string()),
        basic: false,
    })
}

/// Admits one introspection or revocation of an authenticated caller against its limit
/// (`introspection_limit`), whose shared window its lookup read as `calls`; 429 with
/// `Retry-After` beyond it.
pub fn admit_call(
    oauth: &OAuthState,
    client_id: &str,
    calls: Option<crate::db::models::limit_window::Window>,
    now: DateTime<Utc>,
) -> Result<(), OAuthError> {
    oauth
        .introspections
        .admit(client_id, calls, now)
        .map_err(|secs| {
            tracing::info!(client_id, "introspection limit reached");
            OAuthError::rate_limited(secs)
        })
}

/// Where `finish` takes a connection for a failure's one write: the request's own, or its
/// pool when the request holds none (its lookup ran in a statement shared with others).
pub enum Conn<'a> {
    Held(&'a mut AsyncPgConnection),
    Pool(&'a DbPool),
}

/// A client authentication in two halves around the database work, so that an endpoint can
/// do that work in its own statement: the lookup joined with the token's (introspection), or
/// the lookup and the token insert (the token endpoint).
pub struct Attempt {
    presented: Presented,
    /// The presented client ID has the shape of ours (`tokens::is_client_id`).
    well_formed_id: bool,
    /// The presented secret's digest (`None`: malformed, or the client signed an assertion).
    secret: Option<HashedSecret>,
    /// For an assertion: the key that proved it (`prove`), or why it did not.
    key: Result<uuid::Uuid, Flaw>,
    ip: Option<IpAddr>,
    ip_text: Option<String>,
    now: DateTime<Utc>,
    throttle: ThrottleCheck,
}

impl Attempt {
    /// Reads what the caller presented; a caller that presented nothing is refused here.
    pub fn begin(
        presented: Option<Presented>,
        ip: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Self, OAuthError> {
        let Some(presented) = presented else {
            return Err(OAuthError::invalid_client(false));
        };
        let well_formed_id = tokens::is_client_id(&presented.client_id);
        let secret = match &presented.proof {
            Proof::Secret(secret) => tokens::parse(Kind::ClientSecret, secret).map(|s| s.hash()),
            Proof::Assertion(_) => None,
        };
        Ok(Self {
            presented,
            well_formed_id,
            secret,
            key: Err(Flaw::Unchecked),
            ip,
            ip_text: ip.map(|ip| ip.to_string()),
            now,
            throttle: throttle::check(ip, now),
        })
    }

    /// For a signed assertion: reads it (for `endpoint`, a path such as `/oauth/token`),
    /// checks its signature against the credential's keys and notes its `jti` (a replay is
    /// refused on every instance). Nothing to do for a secret. Two round trips, on this path
    /// only; a failure is named and counted by `finish`.
    pub async fn prove(
        &mut self,
        conn: &mut AsyncPgConnection,
        settings: &Settings,
        endpoint: &str,
    ) -> QueryResult<()> {
        let Proof::Assertion(text) = &self.presented.proof else {
            return Ok(());
        };
        if !self.well_formed_id {
            self.key = Err(Flaw::Invalid);
            return Ok(());
        }
        let issuer = settings.issuer();
        let audiences = [
            issuer.clone(),
            format!("{issuer}/oauth/token"),
            format!("{issuer}{endpoint}"),
        ];
        let client_id = &self.presented.client_id;
        let read = match assertion::read(text, client_id, &audiences, self.now) {
            Ok(read) => read,
            Err(flaw) => {
                self.key = Err(flaw);
                return Ok(());
            }
        };
        let keys = credential_key::verifying_keys(&*conn, client_id, self.now).await?;
        let named: Vec<_> = keys
            .iter()
            .filter(|k| read.kid.as_deref().is_none_or(|kid| kid == k.thumbprint))
            .collect();
        if named.is_empty() {
            self.key = Err(Flaw::UnknownKey);
            return Ok(());
        }
        let signer = named.into_iter().find(|k| {
            PublicKey::stored(k.algorithm, &k.jwk).is_some_and(|key| read.signed_by(&key))
        });
        let Some(signer) = signer else {
            self.key = Err(Flaw::Invalid);
            return Ok(());
        };
        let ip = self.ip_text.as_deref();
        let fresh = credential_key::accept_assertion(
            conn,
            signer,
            &read.jti,
            read.expires_at,
            ip,
            self.now,
        )
        .await?;
        self.key = if fresh {
            Ok(signer.key_id)
        } else {
            Err(Flaw::Replayed)
        };
        Ok(())
    }

    /// Why the caller's proof failed before any lookup: a malformed secret, or an assertion
    /// that did not prove a key.
    fn unproven(&self) -> Option<(RefusalReason, &'static str)> {
        match (&self.presented.proof, &self.key) {
            (Proof::Secret(_), _) if self.secret.is_none() => {
                Some((RefusalReason::WrongSecret, "malformed_secret"))
            }
            (Proof::Secret(_), _) | (Proof::Assertion(_), Ok(_)) => None,
            (Proof::Assertion(_), Err(flaw)) => Some((flaw.reason(), flaw.as_str())),
        }
    }

    /// Whether the caller is throttled, and the presented client's credential with its
    /// checks. A client ID that is not one of ours, or a secret with a bad prefix or checksum,
    /// is already a "no" and is not looked up (`None`).
    pub async fn lookup(&self, conn: &AsyncPgConnection) -> QueryResult<Option<Lookup>> {
        match self.checkable() {
            Some(presented) => client_lookup::find_client(conn, presented).await.map(Some),
            None => Ok(None),
        }
    }

    /// The lookup, and the live token with this digest in the same statement (introspection);
    /// the token is not looked up when the caller is already a "no".
    pub async fn lookup_with_token(
        &self,
        conn: &AsyncPgConnection,
        token_hash: &[u8],
    ) -> QueryResult<(Option<Lookup>, Option<ActiveToken>)> {
        let Some(presented) = self.checkable() else {
            return Ok((None, None));
        };
        let (lookup, token) =
            client_lookup::find_client_and_token(conn, presented, token_hash).await?;
        Ok((Some(lookup), token))
    }

    /// What to check a credential against, unless the presented pair is already a "no".
    pub(super) fn checkable(&self) -> Option<issuance::Presented<'_>> {
        if !self.well_formed_id || self.unproven().is_some() {
            return None;
        }
        Some(issuance::Presented {
            client_id: &self.presented.client_id,
            secret_hash: self.secret.as_ref().map_or(&[], |s| s.as_bytes()),
            key_id: self.key.ok(),
            ip: self.ip_text.as_deref(),
            now: self.now,
            throttle: self.throttle,
            calls_network: crate::db::models::limit_window::any_network(),
            calls_since: self.now - crate::oauth::introspection_limit::WINDOW,
        })
    }

    /// Whether the caller signed an assertion, which `prove` checks against its keys.
    pub fn needs_proof(&self) -> bool {
        matches!(self.presented.proof, Proof::Assertion(_))
    }

    /// The caller proved one of the credential's keys (not a secret).
    pub fn by_key(&self) -> bool {
        self.key.is_ok()
    }

    /// The client ID as presented (of our shape or not).
    pub fn client_id(&self) -> &str {
        &self.presented.client_id
    }

    /// Names the outcome of the lookup: the credential when it authenticated (its scope check
    /// is the token endpoint's to answer), `slow_down` when the caller is throttled, and
    /// `invalid_client` otherwise, counted (the one write of a failure) and logged with the
    /// failing check.
    pub async fn finish(
        self,
        conn: Conn<'_>,
        oauth: &OAuthState,
        found: Option<Lookup>,
    ) -> Result<(ClientRecord, bool), OAuthError> {
        let throttle_id = self
            .well_formed_id
            .then_some(self.presented.client_id.as_str());
        if let Some(lookup) = &found
            && lookup.retry_after > 0
        {
            return Err(self.throttled(oauth, lookup.retry_after));
        }
        let looked_up = found.is_some();
        let client = found.and_then(|lookup| lookup.client);
        let unproven = self.unproven();
        let reason = match (client, unproven) {
            _ if !self.well_formed_id => "malformed_client_id",
            (_, Some((refusal, word))) => {
                let id = &self.presented.client_id;
                oauth.usage.refuse_client_id(id, refusal, self.ip, self.now);
                word
            }
            (None, None) => "unknown_client",
            (Some(client), None) => match client.checks.refusal() {
                None | Some(Refusal::ScopeNotAllowed) => return Ok((client, self.presented.basic)),
                Some(refusal) => {
                    oauth
                        .usage
                        .refuse(client.id, refusal.into(), self.ip, self.now);
                    refusal.as_str()
                }
            },
        };
        let already = match conn {
            Conn::Held(conn) => {
                throttle::record_failure(conn, throttle_id, self.ip, self.now).await?
            }
            Conn::Pool(pool) => {
                let mut conn = pool.get().await?;
                throttle::record_failure(&mut conn, throttle_id, self.ip, self.now).await?
            }
        };
        if let Some(secs) = already.filter(|_| !looked_up) {
            // Not checked by a lookup (malformed), and over its allowance before this one.
            return Err(self.throttled(oauth, secs));
        }
        tracing::info!(
            reason,
            ip = self.ip_text.as_deref().unwrap_or("-"),
            "client authentication failed"
        );
        Err(OAuthError::invalid_client(self.presented.basic).because(reason))
    }

    /// `slow_down`, counted for the credential (by client ID) when the ID has our shape.
    fn throttled(&self, oauth: &OAuthState, secs: u64) -> OAuthError {
        if self.well_formed_id {
            let reason = RefusalReason::Throttled;
            let id = &self.presented.client_id;
            oauth.usage.refuse_client_id(id, reason, self.ip, self.now);
        }
        OAuthError::throttled(secs)
    }
}
