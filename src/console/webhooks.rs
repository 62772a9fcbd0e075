//! Settings → Webhooks (Super Admin only; every other role gets 403, pages and changes
//! alike): the organisation's endpoints, each with its recent deliveries. The operations are
//! `webhooks::endpoints`; these handlers extract, call and render.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;

use crate::catalog::Saved;
use crate::console::path_id;
use crate::console::request::ConsoleRequest;
use crate::console::section::SettingsSection;
use crate::db::ids::{WebhookDeliveryId, WebhookEndpointId};
use crate::db::models::user::StaffRole;
use crate::db::models::webhook_attempt::{self, LastExchange};
use crate::db::models::webhook_delivery::WebhookDelivery;
use crate::db::models::webhook_delivery_report::{self, EndpointHealth};
use crate::db::models::webhook_endpoint::{MAX_ENDPOINTS_PER_ORG, WebhookEndpoint, WebhookEvent};
use crate::domain_error::DomainError;
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::html_form::HtmlForm;
use crate::paths;
use crate::views::{clock_time, relative_time};
use crate::webhooks::endpoints::{self, EndpointDraft, WithSecret};
use crate::webhooks::{self, signature::SigningSecret};

/// How many deliveries an endpoint's page lists.
const RECENT_DELIVERIES: i64 = 50;

fn at(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

#[derive(Template)]
#[template(path = "partials/webhooks_section.html")]
pub struct WebhooksSection {
    pub endpoints: Vec<WebhookEndpoint>,
    /// How each endpoint's deliveries stand (absent: nothing sent yet).
    pub health: HashMap<WebhookEndpointId, EndpointHealth>,
    pub now: DateTime<Utc>,
    pub events: [WebhookEvent; WebhookEvent::ALL.len()],
    pub form: EndpointDraft,
    pub errors: FieldErrors,
    pub max: i64,
    pub csrf_token: String,
}

#[derive(Template)]
#[template(path = "partials/webhook_detail.html")]
pub struct WebhookDetail {
    pub endpoint: WebhookEndpoint,
    pub deliveries: Vec<WebhookDelivery>,
    pub health: Option<EndpointHealth>,
    /// Each delivery's request and latest response, as shown (cut to a few KB).
    pub exchanges: HashMap<WebhookDeliveryId, Exchange>,
    pub now: DateTime<Utc>,
    pub csrf_token: String,
}

impl WebhookDetail {
    pub fn at(&self, t: &DateTime<Utc>) -> String {
        at(t)
    }

    pub fn failing(&self) -> Option<String> {
        failing_summary(self.health.as_ref(), self.now)
    }

    pub fn last_success(&self) -> String {
        match self.health.as_ref().and_then(|h| h.last_success_at) {
            Some(t) => format!("{} ({})", at(&t), relative_time(t, self.now)),
            None => "Never".into(),
        }
    }
}

impl WebhooksSection {
    pub fn failing(&self, id: &WebhookEndpointId) -> Option<String> {
        failing_summary(self.health.get(id), self.now)
    }
}

/// "Failing: 13 deliveries retrying since 05:58 UTC, next attempt 06:20 UTC".
fn failing_summary(health: Option<&EndpointHealth>, now: DateTime<Utc>) -> Option<String> {
    let h = health.filter(|h| h.failing())?;
    if h.retrying == 0 {
        let when = h
            .last_failure_at
            .map_or_else(String::new, |t| clock_time(t, now));
        return Some(format!(
            "Failing: the latest delivery was given up at {when}"
        ));
    }
    let plural = if h.retrying == 1 {
        "delivery"
    } else {
        "deliveries"
    };
    let mut text = format!("Failing: {} {plural} retrying", h.retrying);
    if let Some(since) = h.failing_since {
        text += &format!(" since {}", clock_time(since, now));
    }
    if let Some(next) = h.next_attempt_at {
        text += &format!(", next attempt {}", clock_time(next, now));
    }
    Some(text)
}

/// What was sent and what came back, as the page shows them.
pub struct Exchange {
    pub request: String,
    pub response: String,
}

/// How much of a request or response the page shows.
const SHOWN_BODY: usize = 4096;

fn cut(text: &str) -> String {
    if text.len() <= SHOWN_BODY {
        return text.to_string();
    }
    let mut kept: String = String::new();
    for c in text.chars() {
        if kept.len() + c.len_utf8() > SHOWN_BODY {
            break;
        }
        kept.push(c);
    }
    kept + "\n… (cut at 4 KB)"
}

fn exchange(
    endpoint: &WebhookEndpoint,
    delivery: &WebhookDelivery,
    payload: Option<&serde_json::Value>,
    last: Option<&LastExchange>,
) -> Exchange {
    let body = payload
        .and_then(|p| serde_json::to_string_pretty(p).ok())
        .unwrap_or_default();
    let request = format!(
        "POST {}\ncontent-type: application/json\nwebhook-id: {}\n\n{body}",
        endpoint.url,
        delivery.message_id()
    );
    let response = match last {
        None => "Not sent yet.".to_string(),
        Some(l) => {
            let head = match (l.status_code, &l.error) {
                (Some(code), _) => format!("HTTP {code} after {} ms", l.duration_ms),
                (None, Some(error)) => format!("No answer: {error}"),
                (None, None) => "No answer".to_string(),
            };
            match &l.response_body {
                Some(body) => format!("{head}\n\n{body}"),
                None => head,
            }
        }
    };
    Exchange {
        request: cut(&request),
        response: cut(&response),
    }
}

#[derive(Template)]
#[template(path = "partials/webhook_edit.html")]
pub struct WebhookEditForm {
    pub endpoint: WebhookEndpoint,
    pub events: [WebhookEvent; WebhookEvent::ALL.len()],
    pub form: EndpointDraft,
    pub errors: FieldErrors,
    pub csrf_token: String,
}

/// "Delete this endpoint?" or "Rotate its signing secret?".
#[derive(Template)]
#[template(path = "partials/webhook_confirm.html")]
pub struct WebhookConfirm {
    pub endpoint: WebhookEndpoint,
    pub rotate: bool,
    pub csrf_token: String,
}

/// The signing secret, shown once (the console answers `no-store`).
#[derive(Template)]
#[template(path = "partials/webhook_secret.html")]
pub struct WebhookSecretReveal {
    pub endpoint: WebhookEndpoint,
    pub secret: SigningSecret,
    pub rotated: bool,
}

impl SettingsSection for WebhooksSection {
    const TITLE: &'static str = "Webhooks";
    const PATH: &'static str = paths::WEBHOOKS;

    async fn load(conn: &mut AsyncPgConnection, rq: &ConsoleRequest) -> Result<Self, AppError> {
        Ok(WebhooksSection {
            health: webhook_delivery_report::health(conn, rq.user.org_id).await?,
            now: rq.now,
            endpoints: WebhookEndpoint::list_for_org(conn, rq.user.org_id).await?,
            events: WebhookEvent::ALL,
            form: EndpointDraft::blank(),
            errors: FieldErrors::default(),
            max: MAX_ENDPOINTS_PER_ORG,
            csrf_token: rq.csrf_token()?,
        })
    }
}

async fn detail(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    endpoint: WebhookEndpoint,
) -> Result<WebhookDetail, AppError> {
    let org = rq.user.org_id;
    let deliveries = WebhookDelivery::recent(conn, org, endpoint.id, RECENT_DELIVERIES).await?;
    let ids: Vec<WebhookDeliveryId> = deliveries.iter().map(|d| d.id).collect();
    let payloads = webhook_delivery_report::payloads(conn, org, &ids).await?;
    let last: HashMap<WebhookDeliveryId, LastExchange> =
        webhook_attempt::latest_exchanges(conn, &ids)
            .await?
            .into_iter()
            .map(|l| (l.delivery_id, l))
            .collect();
    let exchanges = deliveries
        .iter()
        .map(|d| {
            let shown = exchange(&endpoint, d, payloads.get(&d.id), last.get(&d.id));
            (d.id, shown)
        })
        .collect();
    let mut health = webhook_delivery_report::health(conn, org).await?;
    Ok(WebhookDetail {
        health: health.remove(&endpoint.id),
        endpoint,
        deliveries,
        exchanges,
        now: rq.now,
        csrf_token: rq.csrf_token()?,
    })
}

/// The endpoint in the path, for a Super Admin of its organisation (404 for another's).
async fn endpoint_for(
    conn: &mut AsyncPgConnection,
    rq: &ConsoleRequest,
    raw_id: &str,
) -> Result<WebhookEndpoint, AppError> {
    rq.require(StaffRole::SuperAdmin, webhooks::MANAGE)?;
    Ok(WebhookEndpoint::find_in_org(conn, rq.user.org_id, path_id(raw_id)?).await?)
}

fn reveal(
    rq: &ConsoleRequest,
    WithSecret { endpoint, secret }: WithSecret,
    rotated: bool,
) -> Result<HttpResponse, AppError> {
    let content = WebhookSecretReveal {
        endpoint,
        secret,
        rotated,
    };
    WebhooksSection::page(rq, StatusCode::OK, Some("Signing secret"), content)
}

#[tracing::instrument(skip_all)]
pub async fn list_webhooks(rq: ConsoleRequest) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::SuperAdmin, webhooks::MANAGE)?;
    let mut conn = rq.conn().await?;
    let content = WebhooksSection::load(&mut conn, &rq).await?;
    WebhooksSection::page(&rq, StatusCode::OK, None, content)
}

#[tracing::instrument(skip_all)]
pub async fn create_webhook(
    rq: ConsoleRequest,
    HtmlForm(draft): HtmlForm<EndpointDraft>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let state = &rq.state;
    let created = endpoints::create_endpoint(
        &mut conn,
        &rq.actor(),
        &state.sealer,
        &state.settings.webhooks,
        &draft,
    )
    .await;
    match created {
        Ok(created) => reveal(&rq, created, false),
        Err(DomainError::Invalid(errors)) => {
            let mut content = WebhooksSection::load(&mut conn, &rq).await?;
            content.form = draft.trimmed();
            content.errors = errors;
            WebhooksSection::page(&rq, StatusCode::UNPROCESSABLE_ENTITY, None, content)
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn show_webhook(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let endpoint = endpoint_for(&mut conn, &rq, &path).await?;
    // A URL may be 2,000 characters: the title and breadcrumb show its start.
    let here = crate::input::truncate(&endpoint.url, 80);
    let content = detail(&mut conn, &rq, endpoint).await?;
    WebhooksSection::page(&rq, StatusCode::OK, Some(&here), content)
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn edit_webhook_form(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = rq.conn().await?;
    let endpoint = endpoint_for(&mut conn, &rq, &path).await?;
    let form = EndpointDraft::of(&endpoint);
    let content = WebhookEditForm {
        endpoint,
        events: WebhookEvent::ALL,
        form,
        errors: FieldErrors::default(),
        csrf_token: rq.csrf_token()?,
    };
    WebhooksSection::page(&rq, StatusCode::OK, Some("Edit endpoint"), content)
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn update_webhook(
    rq: ConsoleRequest,
    path: web::Path<String>,
    HtmlForm(draft): HtmlForm<EndpointDraft>,
) -> Result<HttpResponse, AppError> {
    let id: WebhookEndpointId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    let rules = &rq.state.settings.webhooks;
    match endpoints::update_endpoint(&mut conn, &rq.actor(), rules, id, &draft).await {
        Ok((endpoint, saved)) => {
            let message = match saved {
                Saved::Changed => "Saved the endpoint.",
                Saved::Unchanged => "No changes to the endpoint.",
            };
            rq.changed(message, &paths::webhook(id), async || {
                detail(&mut conn, &rq, endpoint).await
            })
            .await
        }
        Err(DomainError::Invalid(errors)) => {
            let endpoint = WebhookEndpoint::find_in_org(&mut conn, rq.user.org_id, id).await?;
            let content = WebhookEditForm {
                endpoint,
                events: WebhookEvent::ALL,
                form: draft.trimmed(),
                errors,
                csrf_token: rq.csrf_token()?,
            };
            WebhooksSection::page(
                &rq,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("Edit endpoint"),
                content,
            )
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all)]
pub async fn confirm_webhook_action(
    rq: ConsoleRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (raw_id, action) = path.into_inner();
    let mut conn = rq.conn().await?;
    let endpoint = endpoint_for(&mut conn, &rq, &raw_id).await?;
    let rotate = action == "rotate";
    let here = if rotate {
        "Rotate signing secret"
    } else {
        "Delete endpoint"
    };
    let content = WebhookConfirm {
        endpoint,
        rotate,
        csrf_token: rq.csrf_token()?,
    };
    WebhooksSection::page(&rq, StatusCode::OK, Some(here), content)
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn delete_webhook(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: WebhookEndpointId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    endpoints::delete_endpoint(&mut conn, &rq.actor(), id).await?;
    WebhooksSection::changed(&rq, &mut conn, "Deleted the endpoint.").await
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn rotate_webhook_secret(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: WebhookEndpointId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    let rotated = endpoints::rotate_secret(&mut conn, &rq.actor(), &rq.state.sealer, id).await?;
    reveal(&rq, rotated, true)
}

#[tracing::instrument(skip_all)]
pub async fn redeliver_webhook(
    rq: ConsoleRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (raw_id, raw_delivery) = path.into_inner();
    let id: WebhookEndpointId = path_id(&raw_id)?;
    let delivery: WebhookDeliveryId = path_id(&raw_delivery)?;
    let mut conn = rq.conn().await?;
    let again = endpoints::redeliver(&mut conn, &rq.actor(), id, delivery).await?;
    let message = format!("{} will be sent again in a moment.", again.message_id());
    rq.changed(&message, &paths::webhook(id), async || {
        let endpoint = WebhookEndpoint::find_in_org(&mut conn, rq.user.org_id, id).await?;
        detail(&mut conn, &rq, endpoint).await
    })
    .await
}

#[tracing::instrument(skip_all, fields(webhook = %path))]
pub async fn send_test_webhook(
    rq: ConsoleRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id: WebhookEndpointId = path_id(&path)?;
    let mut conn = rq.conn().await?;
    endpoints::send_test_event(&mut conn, &rq.actor(), id).await?;
    let message = "A test event is on its way: its answer shows under Recent deliveries.";
    rq.changed(message, &paths::webhook(id), async || {
        let endpoint = WebhookEndpoint::find_in_org(&mut conn, rq.user.org_id, id).await?;
        detail(&mut conn, &rq, endpoint).await
    })
    .await
}
