//! "Confirm it's you", deny by default: every state-changing console route is declared in
//! `routes::console_writes` with a [`StepUp`], and registered behind [`gate`]. A route that
//! asks ([`StepUp::Ask`]) answers a Super Admin or Admin who has not authenticated within
//! `step_up::WINDOW` with the dialog instead of running its handler; the dialog's proof,
//! posted back to the same route, lets the request go on with its form intact. A route that
//! does not ask says why ([`StepUp::Exempt`]). `ConsoleRequest` refuses any state-changing
//! request that came through no gate, so a route added outside the table fails its first
//! test rather than going through unasked.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Path, Payload, ServiceRequest, ServiceResponse, Url};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, web};

use crate::console::request::{ConsoleRequest, Gated};
use crate::console::step_up::{Interrupted, Sensitive};
use crate::db::models::user::StaffRole;

/// What "Confirm it's you" does about a state-changing route.
#[derive(Clone, Copy)]
pub enum StepUp {
    /// Asks a Super Admin or Admin first. `what` completes "To …, enter your password";
    /// `cancel` gives where Cancel leads from the route's path parameters.
    Ask {
        what: &'static str,
        cancel: fn(&Path<Url>) -> String,
    },
    /// Goes on without asking, for the reason given.
    Exempt(&'static str),
}

impl StepUp {
    pub fn ask(what: &'static str, cancel: fn(&Path<Url>) -> String) -> Self {
        StepUp::Ask { what, cancel }
    }
}

/// The middleware in front of one state-changing route.
pub async fn gate<B: MessageBody + 'static>(
    step_up: StepUp,
    mut req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    req.extensions_mut().insert(Gated);
    let StepUp::Ask { what, cancel } = step_up else {
        return pass(req, next).await;
    };
    let (http, payload) = req.parts_mut();
    // Not signed in, or held back by the two-factor enrolment guard: the handler answers
    // that as it always does.
    let Ok(rq) = ConsoleRequest::from_request(http, &mut Payload::None).await else {
        return pass(req, next).await;
    };
    // Viewers change only their own account, which is theirs to manage as they signed in.
    if !rq.can(StaffRole::Admin) || rq.recently_authenticated() {
        drop(rq);
        return pass(req, next).await;
    }
    let bytes = match web::Bytes::from_request(http, payload).await {
        Ok(bytes) => bytes,
        Err(e) => return Ok(req.error_response(e).map_into_right_body()),
    };
    let mut interrupted = Interrupted::read(http, &bytes);
    let cancel = cancel(req.match_info());
    let sensitive = Sensitive {
        what,
        cancel: &cancel,
    };
    match rq.confirm(&mut interrupted, sensitive).await {
        Ok(Some(dialog)) => Ok(req.into_response(dialog).map_into_right_body()),
        Ok(None) => {
            drop(rq);
            // Proven: the handler reads the form as it was sent.
            req.set_payload(Payload::from(bytes));
            pass(req, next).await
        }
        Err(e) => Ok(req.error_response(e).map_into_right_body()),
    }
}

async fn pass<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The path parameter `name` of the route, for building where Cancel leads.
pub fn param<'a>(path: &'a Path<Url>, name: &str) -> &'a str {
    path.get(name).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test, web};

    use crate::console::request::ConsoleRequest;

    async fn changes_something(_rq: ConsoleRequest) -> HttpResponse {
        HttpResponse::Ok().finish()
    }

    #[actix_web::test]
    async fn a_state_changing_route_registered_without_its_gate_refuses_every_request() {
        let app = test::init_service(
            App::new().route("/settings/forgotten", web::post().to(changes_something)),
        )
        .await;
        let req = test::TestRequest::post()
            .uri("/settings/forgotten")
            .to_request();
        let res = test::call_service(&app, req).await;
        assert_eq!(res.status(), 500);
    }
}
