//! `Idempotency-Key` on POST (draft-ietf-httpapi-idempotency-key-header): a retry with the
//! same key and the same request within 24 hours gets the first answer again, marked
//! `Idempotent-Replayed: true`, and nothing is done twice. A secret is never revealed twice:
//! the kept answer is the one without it, saying it was already shown. The same key with
//! another request is refused with 422.
//!
//! The key is claimed in the transaction of the change itself, so a crash leaves either
//! nothing or both, and a concurrent retry waits for the first to commit.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use diesel_async::AsyncPgConnection;
use sha2::{Digest, Sha256};

use crate::api::v1::call::{ApiCall, Reply};
use crate::api::v1::problem::{Kind, Problem};
use crate::db::models::idempotency_key;

/// How long an answer is kept.
pub const KEPT_FOR: chrono::Duration = chrono::Duration::hours(24);
pub const HEADER: &str = "idempotency-key";
const MAX_KEY: usize = 255;

/// The request's key: absent, or 1 to 255 visible ASCII characters.
fn key_of(req: &HttpRequest) -> Result<Option<String>, Problem> {
    let mut values = req.headers().get_all(HEADER);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let bad = || {
        Problem::bad_request(
            "Send one Idempotency-Key of 1 to 255 visible ASCII characters, such as a UUID.",
        )
    };
    if values.next().is_some() {
        return Err(bad());
    }
    let key = value.to_str().map_err(|_| bad())?.trim();
    // Structured-field strings arrive quoted; the value inside is the key.
    let key = key
        .strip_prefix('"')
        .and_then(|k| k.strip_suffix('"'))
        .unwrap_or(key);
    if key.is_empty() || key.len() > MAX_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(key.to_string()))
}

/// What makes two requests "the same": method, path and body.
fn digest(req: &HttpRequest, body: &[u8]) -> Vec<u8> {
    let mut hash = Sha256::new();
    hash.update(req.method().as_str().as_bytes());
    hash.update(b"\n");
    hash.update(req.path().as_bytes());
    hash.update(b"\n");
    hash.update(body);
    hash.finalize().to_vec()
}

/// The kept answer, as a reply.
fn replay(status: i32, body: serde_json::Value) -> Result<Reply, Problem> {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut reply = Reply::json(status, &body);
    reply.replayed = true;
    Ok(reply)
}

/// Runs `operation` once per Idempotency-Key (or simply, without one).
pub async fn once<F>(
    req: &HttpRequest,
    call: &ApiCall,
    conn: &mut AsyncPgConnection,
    body: &[u8],
    operation: F,
) -> Result<Reply, Problem>
where
    F: AsyncFnOnce(&ApiCall, &mut AsyncPgConnection) -> Result<Reply, Problem>,
{
    let (Some(key), Some(caller)) = (key_of(req)?, call.caller_id()) else {
        return operation(call, conn).await;
    };
    let digest = digest(req, body);
    let now = call.actor.now;
    let outcome = crate::db::transaction(conn, async |conn| {
        if let Some(kept) = idempotency_key::find(conn, caller, &key).await? {
            if kept.created_at > now - KEPT_FOR {
                return Ok(Err(kept));
            }
            idempotency_key::forget(conn, caller, &key).await?;
        }
        if !idempotency_key::claim(conn, caller, &key, &digest, now).await? {
            // Claimed by a concurrent request that has committed since: read its answer.
            let kept = idempotency_key::find(conn, caller, &key)
                .await?
                .ok_or_else(|| Problem::new(Kind::Conflict, "Retry this request."))?;
            return Ok(Err(kept));
        }
        let (status, kept_body, result) = match operation(call, conn).await {
            Ok(reply) => {
                let kept = reply.replay_body.clone().unwrap_or(reply.body.clone());
                (reply.status.as_u16(), kept, Ok(reply))
            }
            // Our failures are not answers: nothing is kept, and a retry runs again.
            Err(problem) if problem.status().is_server_error() => return Err(problem),
            Err(problem) => (problem.status().as_u16(), problem.to_json(), Err(problem)),
        };
        idempotency_key::complete(conn, caller, &key, i32::from(status), &kept_body).await?;
        Ok::<_, Problem>(Ok(result))
    })
    .await?;
    match outcome {
        Ok(result) => result,
        Err(kept) if kept.request_digest != digest => Err(Problem::new(
            Kind::IdempotencyKeyReused,
            "This Idempotency-Key was already used with a different request; use a new key for a new request.",
        )),
        Err(kept) => replay(kept.status, kept.body),
    }
}
