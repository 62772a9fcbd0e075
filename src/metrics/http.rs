//! Request latency and database statements by route: a middleware around the whole app that
//! observes each request's duration and counts the statements it sent (`db::statements`)
//! under its route pattern (`/settings/integrations/machine-to-machine/{id}`, never the path
//! itself, so the label values stay bounded).

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::web;

use crate::app_state::AppState;

/// Methods outside the standard ones are one label value.
fn method_label(method: &Method) -> &'static str {
    [
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::HEAD,
        Method::OPTIONS,
    ]
    .into_iter()
    .zip(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
    .find_map(|(m, label)| (m == method).then_some(label))
    .unwrap_or("other")
}

/// The status class: its index (1xx is 0) and its label.
fn status_class(status: u16) -> (usize, &'static str) {
    match status {
        100..=199 => (0, "1xx"),
        200..=299 => (1, "2xx"),
        300..=399 => (2, "3xx"),
        400..=499 => (3, "4xx"),
        _ => (4, "5xx"),
    }
}

pub async fn observe_latency(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = method_label(req.method());
    let (res, statements) = crate::db::statements::counted(next.call(req)).await;
    let res = res?;
    if let Some(state) = state {
        let metrics = &state.oauth.metrics;
        let (class, status) = status_class(res.status().as_u16());
        let seconds = started.elapsed().as_secs_f64();
        if let Some(hot) = metrics.hot_route(res.request().path(), method) {
            hot.observe(class, seconds, statements);
        } else {
            let route = res.request().match_pattern();
            let route = route.as_deref().unwrap_or("unmatched");
            metrics.observe(route, method, status, seconds, statements);
        }
    }
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"BREW").unwrap_or(Method::GET)),
            "other"
        );
        assert_eq!(status_class(503), (4, "5xx"));
        assert_eq!(status_class(99), (4, "5xx"));
        assert_eq!(status_class(204), (1, "2xx"));
    }
}
