//! Liveness and readiness probes for load balancers and orchestrators.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::ConnectionType;
use actix_web::middleware::Next;
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

/// While draining, every answer closes its connection: a client or load balancer holding a
/// kept-alive connection opens its next one elsewhere instead of finding this one gone.
pub async fn close_while_draining(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let draining = req
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.readiness.is_draining());
    let mut res = next.call(req).await?;
    if draining {
        res.response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(res)
}
