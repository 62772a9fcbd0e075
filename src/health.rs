//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::{HttpResponse, web};

use crate::app_state::AppState;

/// The process is up and serving.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// The database answers and the instance is not stopping: it can serve real requests. While
/// it drains before a stop (`shutdown`), this says so and the load balancer moves traffic
/// away, though the instance still answers everything else.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    if state.readiness.is_draining() {
        return HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("draining");
    }
    let ready = match state.pool.get().await {
        Ok(mut conn) => crate::db::ping(&mut conn).await.is_ok(),
        Err(_) => false,
    };
    if ready {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
