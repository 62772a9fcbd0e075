//! `POST /api/v1/leaks`: secret scanners report strings found in public, in GitHub's secret
//! scanning partner format (`[{"token": "…", "type": "…", "url": "…"}]`). No session; limited
//! per address in recognised reports; the answer is 202 whatever matched, so it tells a
//! caller nothing about our secrets. What is done about each is `credentials::leaks`.

use std::collections::HashSet;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel_async::AsyncPgConnection;
use serde_json::json;

use crate::app_state::AppState;
use crate::credentials::leaks::{self, Leaked, Outcome};
use crate::domain_error::DomainError;

/// Reports in one request; scanners batch far fewer.
const MAX_ITEMS: usize = 1000;
/// Body bound (1000 items with long URLs).
pub const BODY_LIMIT: usize = 512 * 1024;

fn problem(status: actix_web::http::StatusCode, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": "invalid_request", "error_description": description }))
}

/// Takes up to `wanted` places of the caller's allowance, which counts recognised reports
/// (a request that recognises none still costs one: it was read and checked): how many it
/// got, and when that is fewer, in how many seconds the next place frees up. The one place
/// the leak-report limiter is called.
async fn take_allowance(
    state: &AppState,
    req: &HttpRequest,
    conn: &mut AsyncPgConnection,
    wanted: usize,
) -> diesel::QueryResult<(usize, Option<u64>)> {
    let ip = state.client_ip(req);
    let wanted = u32::try_from(wanted.max(1)).unwrap_or(u32::MAX);
    let now = state.clock.now();
    let (granted, short) = state
        .leak_reports
        .take_up_to_for_address(conn, ip, wanted, now)
        .await?;
    Ok((usize::try_from(granted).unwrap_or(0), short))
}

fn unavailable() -> HttpResponse {
    problem(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly.",
    )
}

fn too_many(retry_after: u64) -> HttpResponse {
    use actix_web::http::StatusCode;
    let mut res = problem(
        StatusCode::TOO_MANY_REQUESTS,
        "Too many reports; retry later.",
    );
    if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
        res.headers_mut().insert(header::RETRY_AFTER, value);
    }
    res
}

/// The reports that name one of our secrets or tokens (our prefix and a valid checksum: no
/// query for the rest), each once, with its cleaned URL.
fn recognise(items: &[serde_json::Value]) -> Vec<(Leaked, String)> {
    let mut seen = HashSet::new();
    items
        .iter()
        .filter_map(|item| {
            let leaked = Leaked::recognise(item.get("token")?.as_str()?)?;
            let url = item.get("url").and_then(|u| u.as_str()).unwrap_or_default();
            Some((leaked, leaks::clean_url(url)))
        })
        .filter(|(leaked, _)| seen.insert(leaked.key()))
        .collect()
}

/// Acts on the first `granted` reports; how many changed something. Beyond the allowance
/// nothing is done: the scanner sends the batch again later, and what was done now is then
/// recognised as done.
async fn act_on(
    conn: &mut AsyncPgConnection,
    recognised: &[(Leaked, String)],
    granted: usize,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<usize, DomainError> {
    let mut acted = 0;
    for (leaked, url) in recognised.iter().take(granted) {
        match leaks::act_on_leak(conn, leaked, url, now).await {
            Ok(Outcome::NothingLive | Outcome::Repeated) => {}
            Ok(_) => acted += 1,
            Err(e) => {
                tracing::error!(error = %e, "could not act on a leak report");
                return Err(e);
            }
        }
    }
    Ok(acted)
}

#[tracing::instrument(skip_all)]
pub async fn report_leaks(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Ok(items) = serde_json::from_slice::<Vec<serde_json::Value>>(&body) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Expected a JSON array of {\"token\", \"type\", \"url\"} objects.",
        );
    };
    if items.len() > MAX_ITEMS {
        return problem(
            StatusCode::PAYLOAD_TOO_LARGE,
            &format!("At most {MAX_ITEMS} reports per request."),
        );
    }
    let recognised = recognise(&items);
    let Ok(mut conn) = state.pool.get().await else {
        return unavailable();
    };
    let Ok((granted, short)) = take_allowance(&state, &req, &mut conn, recognised.len()).await
    else {
        return unavailable();
    };
    if let (0, Some(retry_after)) = (granted, short) {
        return too_many(retry_after);
    }
    if !recognised.is_empty() {
        let Ok(acted) = act_on(&mut conn, &recognised, granted, state.clock.now()).await else {
            return unavailable();
        };
        tracing::warn!(
            reported = items.len(),
            recognised = recognised.len(),
            acted,
            "leak report received"
        );
    }
    if let Some(retry_after) = short {
        return too_many(retry_after);
    }
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!([]))
}
