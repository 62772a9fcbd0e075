//! `POST /api/v1/leaks`: secret scanners report strings found in public, in GitHub's secret
//! scanning partner format (`[{"token": "…", "type": "…", "url": "…"}]`). No session; limited
//! per address; the answer is 202 whatever matched, so it tells a caller nothing about our
//! secrets. What is done about each is `credentials::leaks`.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::app_state::AppState;
use crate::credentials::leaks::{self, Leaked, Outcome};

/// Reports in one request; scanners batch far fewer.
const MAX_ITEMS: usize = 1000;
/// Body bound (1000 items with long URLs).
pub const BODY_LIMIT: usize = 512 * 1024;

fn unavailable() -> HttpResponse {
    problem(
        actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
        "Try again shortly.",
    )
}

fn problem(status: actix_web::http::StatusCode, description: &str) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!({ "error": "invalid_request", "error_description": description }))
}

#[tracing::instrument(skip_all)]
pub async fn report_leaks(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Ok(mut conn) = state.pool.get().await else {
        return unavailable();
    };
    let now = state.clock.now();
    let ip = state.client_ip(&req);
    let taken = state
        .leak_reports
        .take_for_address(&mut conn, ip, 1, now)
        .await;
    let Ok(taken) = taken else {
        return unavailable();
    };
    if let Err(retry_after) = taken {
        let mut res = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many reports; retry later.",
        );
        if let Ok(value) = header::HeaderValue::from_str(&retry_after.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return res;
    }
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
    // Only strings with our prefix and a valid checksum go further: no query for the rest.
    let recognised: Vec<(Leaked, String)> = items
        .iter()
        .filter_map(|item| {
            let leaked = Leaked::recognise(item.get("token")?.as_str()?)?;
            let url = item.get("url").and_then(|u| u.as_str()).unwrap_or_default();
            Some((leaked, leaks::clean_url(url)))
        })
        .collect();
    if !recognised.is_empty() {
        let mut acted = 0;
        for (leaked, url) in &recognised {
            match leaks::act_on_leak(&mut conn, leaked, url, now).await {
                Ok(Outcome::NothingLive) => {}
                Ok(_) => acted += 1,
                Err(e) => {
                    tracing::error!(error = %e, "could not act on a leak report");
                    return problem(StatusCode::SERVICE_UNAVAILABLE, "Try again shortly.");
                }
            }
        }
        tracing::warn!(reported = items.len(), acted, "leak report received");
    }
    HttpResponse::Accepted()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(json!([]))
}
