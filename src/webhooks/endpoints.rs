//! An organisation's webhook endpoints (Super Admin only): register one (its signing secret
//! is returned once), edit, delete, rotate the secret (returned once again), and send one of
//! its deliveries again. The audit log names an endpoint by `recorded_url`, never whole.

use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Deserialize;
use serde_json::json;
use url::Url;

use crate::actor::{Actor, Principal};
use crate::audit::Record;
use crate::catalog::Saved;
use crate::config::WebhookSettings;
use crate::db::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::db::models::audit_action::AuditAction;
use crate::db::models::organisation::Organisation;
use crate::db::models::webhook_delivery::{self, WebhookDelivery};
use crate::db::models::webhook_endpoint::{
    EndpointChanges, MAX_ENDPOINTS_PER_ORG, WebhookEndpoint, WebhookEvent,
};
use crate::domain_error::DomainError;
use crate::forms::FieldErrors;
use crate::sealed::Sealer;
use crate::webhooks::destination;
use crate::webhooks::require_super_admin;
use crate::webhooks::signature::SigningSecret;

/// An endpoint as the form sends it: the ticked events, and `enabled` when its box is ticked.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EndpointDraft {
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub events: Vec<String>,
    #[serde(default)]
    pub enabled: Option<String>,
}

impl EndpointDraft {
    /// The empty form: on, nothing chosen yet.
    pub fn blank() -> Self {
        Self {
            enabled: Some("on".into()),
            ..Self::default()
        }
    }

    pub fn of(endpoint: &WebhookEndpoint) -> Self {
        Self {
            url: endpoint.url.clone(),
            events: endpoint.events.clone(),
            enabled: endpoint.enabled.then(|| "on".into()),
        }
    }

    pub fn checked(&self, event: &WebhookEvent) -> bool {
        self.events.iter().any(|e| e == event.as_str())
    }

    pub fn is_enabled(&self) -> bool {
        self.enabled.is_some()
    }

    /// What a form shows again after a refusal.
    pub fn trimmed(&self) -> Self {
        Self {
            url: self.url.trim().to_string(),
            ..self.clone()
        }
    }
}

/// A draft that passed every check.
struct Checked {
    url: String,
    events: Vec<String>,
    enabled: bool,
}

impl Checked {
    fn summary(&self) -> serde_json::Value {
        json!({ "url": recorded_url(&self.url), "events": self.events, "enabled": self.enabled })
    }
}

fn summary(endpoint: &WebhookEndpoint) -> serde_json::Value {
    json!({
        "url": recorded_url(&endpoint.url),
        "events": endpoint.events,
        "enabled": endpoint.enabled,
    })
}

/// An endpoint's URL as the audit log keeps it: the scheme, host and port, and a digest of
/// the rest. Endpoint URLs often carry a secret in their path or query (chat incoming
/// webhooks do), and every Viewer reads and exports the log; the whole URL stays on the
/// Super Admin's webhook pages. The digest tells two URLs apart without revealing either.
pub fn recorded_url(url: &str) -> String {
    let Ok(parsed) = Url::parse(url) else {
        return format!("(unreadable URL, sha256:{})", digest(url));
    };
    let host = parsed.host_str().unwrap_or_default();
    let origin = match parsed.port() {
        Some(port) => format!("{}://{host}:{port}/", parsed.scheme()),
        None => format!("{}://{host}/", parsed.scheme()),
    };
    let rest = &parsed[url::Position::BeforePath..];
    if rest.is_empty() || rest == "/" {
        return origin;
    }
    format!("{origin}… (sha256:{})", digest(rest))
}

/// The first 16 hex digits of the SHA-256 of `text`.
fn digest(text: &str) -> String {
    let full = hex::encode(crate::random::sha256(text.as_bytes()));
    full.chars().take(16).collect()
}

/// Checks the draft; the URL's addresses too unless it is `unchanged` from what is saved.
async fn check(
    draft: &EndpointDraft,
    rules: &WebhookSettings,
    unchanged: Option<&str>,
) -> Result<Checked, DomainError> {
    let mut errors = FieldErrors::default();
    let url = match destination::check_url(&draft.url, rules.allow_insecure) {
        Ok(url) => Some(url),
        Err(message) => {
            errors.add("url", message);
            None
        }
    };
    if let Some(url) = &url
        && unchanged != Some(url.as_str())
        && let Err(e) = destination::resolve(url, rules.allow_private).await
    {
        errors.add("url", e.field_message());
    }
    let mut unknown = false;
    let chosen: Vec<WebhookEvent> = draft
        .events
        .iter()
        .filter_map(|raw| {
            let event = WebhookEvent::parse(raw.trim());
            unknown |= event.is_none();
            event
        })
        .collect();
    if unknown {
        errors.add("events", "Choose events from the list.");
    } else if chosen.is_empty() {
        errors.add("events", "Choose at least one event.");
    }
    errors.into_result().map_err(DomainError::Invalid)?;
    let events = WebhookEvent::ALL
        .into_iter()
        .filter(|e| chosen.contains(e))
        .map(|e| e.as_str().to_string())
        .collect();
    Ok(Checked {
        url: url.as_ref().map(Url::to_string).unwrap_or_default(),
        events,
        enabled: draft.is_enabled(),
    })
}

fn limit_message() -> String {
    format!(
        "Your organisation already has {MAX_ENDPOINTS_PER_ORG} webhook endpoints, the most it may have. Delete one to add another."
    )
}

/// An endpoint with its signing secret in clear, to be shown once.
pub struct WithSecret {
    pub endpoint: WebhookEndpoint,
    pub secret: SigningSecret,
}

fn sealed_secret(
    sealer: &Sealer,
    id: WebhookEndpointId,
) -> Result<(SigningSecret, Vec<u8>), DomainError> {
    let secret = SigningSecret::generate()?;
    let sealed = sealer
        .seal(&WebhookEndpoint::seal_label(id), secret.expose().as_bytes())
        .map_err(|e| anyhow::anyhow!("cannot seal the signing secret: {e}"))?;
    Ok((secret, sealed))
}

/// Registers an endpoint (at most 10 per organisation) with a new signing secret.
pub async fn create_endpoint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    sealer: &Sealer,
    rules: &WebhookSettings,
    draft: &EndpointDraft,
) -> Result<WithSecret, DomainError> {
    require_super_admin(actor)?;
    let checked = check(draft, rules, None).await?;
    let id = WebhookEndpointId::new_random();
    let (secret, sealed) = sealed_secret(sealer, id)?;
    let endpoint = conn
        .transaction(async |conn| {
            Organisation::lock(conn, actor.org_id()).await?;
            if WebhookEndpoint::count_in_org(conn, actor.org_id()).await? >= MAX_ENDPOINTS_PER_ORG {
                return Err(DomainError::LimitReached(limit_message()));
            }
            let endpoint = WebhookEndpoint {
                id,
                org_id: actor.org_id(),
                url: checked.url.clone(),
                events: checked.events.clone(),
                enabled: checked.enabled,
                secret_sealed: sealed,
                secret_rotated_at: None,
                created_at: actor.now,
                updated_at: actor.now,
            };
            endpoint.insert(conn).await?;
            audit(
                conn,
                actor,
                AuditAction::WebhookCreated,
                (id, &endpoint.url),
                checked.summary(),
            )
            .await?;
            Ok(endpoint)
        })
        .await?;
    tracing::info!(webhook_endpoint_id = %id, "webhook endpoint registered");
    Ok(WithSecret { endpoint, secret })
}

/// Changes an endpoint's URL, events or whether it is on.
pub async fn update_endpoint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    rules: &WebhookSettings,
    id: WebhookEndpointId,
    draft: &EndpointDraft,
) -> Result<(WebhookEndpoint, Saved), DomainError> {
    require_super_admin(actor)?;
    let saved = WebhookEndpoint::find_in_org(conn, actor.org_id(), id).await?;
    let checked = check(draft, rules, Some(&saved.url)).await?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let before = WebhookEndpoint::find_in_org(conn, actor.org_id(), id).await?;
        if before.url == checked.url
            && before.events == checked.events
            && before.enabled == checked.enabled
        {
            return Ok((before, Saved::Unchanged));
        }
        let settings = EndpointChanges {
            url: Some(&checked.url),
            events: Some(&checked.events),
            enabled: Some(checked.enabled),
            secret_sealed: None,
            secret_rotated_at: None,
            updated_at: actor.now,
        };
        let after = WebhookEndpoint::update(conn, actor.org_id(), id, &settings).await?;
        audit(
            conn,
            actor,
            AuditAction::WebhookUpdated,
            (id, &after.url),
            json!({ "before": summary(&before), "after": checked.summary() }),
        )
        .await?;
        Ok((after, Saved::Changed))
    })
    .await
}

/// The audit row of a change to the endpoint `id` at `url` (named by `recorded_url`).
async fn audit(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    action: AuditAction,
    (id, url): (WebhookEndpointId, &str),
    details: serde_json::Value,
) -> diesel::QueryResult<()> {
    actor
        .audit(action)
        .target("webhook", id, &recorded_url(url))
        .details(details)
        .record(conn)
        .await
}

/// Deletes an endpoint and its deliveries (the audit log keeps the record).
pub async fn delete_endpoint(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint, DomainError> {
    require_super_admin(actor)?;
    conn.transaction(async |conn| {
        Organisation::lock(conn, actor.org_id()).await?;
        let endpoint = WebhookEndpoint::find_in_org(conn, actor.org_id(), id).await?;
        if WebhookEndpoint::delete(conn, actor.org_id(), id).await? == 0 {
            return Err(DomainError::NotFound);
        }
        audit(
            conn,
            actor,
            AuditAction::WebhookDeleted,
            (id, &endpoint.url),
            summary(&endpoint),
        )
        .await?;
        Ok(endpoint)
    })
    .await
}

/// Replaces the signing secret: every attempt from now on is signed with the new one.
pub async fn rotate_secret(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    sealer: &Sealer,
    id: WebhookEndpointId,
) -> Result<WithSecret, DomainError> {
    require_super_admin(actor)?;
    let (secret, sealed) = sealed_secret(sealer, id)?;
    let endpoint = conn
        .transaction(async |conn| {
            let new_secret = EndpointChanges {
                url: None,
                events: None,
                enabled: None,
                secret_sealed: Some(&sealed),
                secret_rotated_at: Some(actor.now),
                updated_at: actor.now,
            };
            let endpoint = WebhookEndpoint::update(conn, actor.org_id(), id, &new_secret).await?;
            audit(
                conn,
                actor,
                AuditAction::WebhookSecretRotated,
                (id, &endpoint.url),
                json!({}),
            )
            .await?;
            Ok::<_, DomainError>(endpoint)
        })
        .await?;
    tracing::info!(webhook_endpoint_id = %id, "webhook signing secret rotated");
    Ok(WithSecret { endpoint, secret })
}

/// Sends one of the endpoint's deliveries again: the same message id, a new attempt now.
pub async fn redeliver(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    endpoint: WebhookEndpointId,
    delivery: WebhookDeliveryId,
) -> Result<WebhookDelivery, DomainError> {
    require_super_admin(actor)?;
    conn.transaction(async |conn| {
        let found = WebhookEndpoint::find_in_org(conn, actor.org_id(), endpoint).await?;
        let again =
            WebhookDelivery::redeliver(conn, actor.org_id(), endpoint, delivery, actor.now).await?;
        audit(
            conn,
            actor,
            AuditAction::WebhookRedelivered,
            (endpoint, &found.url),
            json!({ "message_id": again.message_id(), "event": again.event }),
        )
        .await?;
        Ok(again)
    })
    .await
}

/// "Send test event": a `ping` delivery to this endpoint now (an enabled one: a
/// disabled endpoint is sent nothing).
pub async fn send_test_event(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    id: WebhookEndpointId,
) -> Result<WebhookEndpoint, DomainError> {
    require_super_admin(actor)?;
    conn.transaction(async |conn| {
        let endpoint = WebhookEndpoint::find_in_org(conn, actor.org_id(), id).await?;
        if !endpoint.enabled {
            return Err(DomainError::Conflict(
                "This endpoint is disabled: enable it to send it a test event.".into(),
            ));
        }
        let sent_by = match &actor.principal {
            Principal::Staff(user) => user.email.as_str(),
            _ => "the console",
        };
        let delivery =
            webhook_delivery::enqueue_test(conn, actor.org_id(), id, sent_by, actor.now).await?;
        audit(
            conn,
            actor,
            AuditAction::WebhookTestSent,
            (id, &endpoint.url),
            json!({ "message_id": format!("msg_{}", delivery.0.simple()) }),
        )
        .await?;
        Ok(endpoint)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::recorded_url;

    #[test]
    fn the_audit_log_keeps_the_scheme_the_host_and_a_digest_of_the_rest() {
        let slack = recorded_url("https://hooks.slack.com/services/T0/B0/xoxbSecret");
        assert!(
            slack.starts_with("https://hooks.slack.com/… (sha256:"),
            "{slack}"
        );
        assert!(!slack.contains("xoxbSecret") && !slack.contains("services"));
        let other = recorded_url("https://hooks.slack.com/services/T0/B0/another");
        assert_ne!(slack, other, "the digest tells them apart");
        assert!(recorded_url("https://example.com/?token=abc").contains("sha256:"));
        assert!(!recorded_url("https://example.com/#abc").contains("abc"));
        assert_eq!(
            recorded_url("https://example.com:8443/"),
            "https://example.com:8443/"
        );
        assert_eq!(recorded_url("http://127.0.0.1"), "http://127.0.0.1/");
    }
}
