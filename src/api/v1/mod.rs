//! The JSON management API under `/api/v1`: credentials, their lifecycle and tokens, the
//! catalog and the audit log, for callers holding a bearer token from our own `/oauth/token`
//! with management scopes. Thin handlers: they read and check the request, call the domain
//! functions the console calls, and answer JSON or an RFC 9457 problem.

pub(crate) mod call;
pub(crate) mod credentials;
pub(crate) mod cursor;
pub(crate) mod doc;
pub(crate) mod doc_parts;
pub(crate) mod examples;
pub(crate) mod idempotency;
pub(crate) mod input;
pub(crate) mod keys;
pub(crate) mod lifecycle;
pub(crate) mod problem;
pub(crate) mod read;
pub(crate) mod reference;
pub(crate) mod tokens;
pub(crate) mod views;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, Route, web};

use crate::api::v1::problem::{Kind, Problem};

/// A resource with its methods; any other method is a 405 problem naming the allowed ones.
fn resource(path: &str, routes: Vec<(&'static str, Route)>) -> actix_web::Resource {
    let allowed: Vec<&str> = routes.iter().map(|(m, _)| *m).collect();
    let allow = allowed.join(", ");
    let mut resource = web::resource(path);
    for (_, route) in routes {
        resource = resource.route(route);
    }
    resource.default_service(web::to(move || {
        let allow = allow.clone();
        async move {
            let mut res = Problem::new(
                Kind::MethodNotAllowed,
                format!("This resource answers {allow}."),
            )
            .error_response();
            if let Ok(value) = header::HeaderValue::from_str(&allow) {
                res.headers_mut().insert(header::ALLOW, value);
            }
            res
        }
    }))
}

/// The management API's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource(
        "/api/v1/credentials",
        vec![
            ("GET", web::get().to(credentials::list_credentials)),
            ("POST", web::post().to(credentials::create_credential)),
        ],
    ))
    .service(resource(
        "/api/v1/credentials/{id}",
        vec![
            ("GET", web::get().to(credentials::get_credential)),
            ("PATCH", web::patch().to(credentials::update_credential)),
            ("DELETE", web::delete().to(credentials::delete_credential)),
        ],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/rotate",
        vec![("POST", web::post().to(lifecycle::rotate_secret))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/retire-previous-secret",
        vec![("POST", web::post().to(lifecycle::retire_previous_secret))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/disable",
        vec![("POST", web::post().to(lifecycle::disable_credential))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/enable",
        vec![("POST", web::post().to(lifecycle::enable_credential))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/revoke",
        vec![("POST", web::post().to(lifecycle::revoke_credential))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/keys",
        vec![
            ("GET", web::get().to(keys::list_keys)),
            ("POST", web::post().to(keys::add_key)),
        ],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/keys/{key_id}",
        vec![("DELETE", web::delete().to(keys::remove_key))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/keys-only",
        vec![("POST", web::post().to(keys::set_keys_only))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/tokens",
        vec![("GET", web::get().to(tokens::list_tokens))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/tokens/revoke",
        vec![("POST", web::post().to(tokens::revoke_all_tokens))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/tokens/{token_id}/revoke",
        vec![("POST", web::post().to(tokens::revoke_token))],
    ))
    .service(resource(
        "/api/v1/credentials/{id}/usage",
        vec![("GET", web::get().to(tokens::credential_usage))],
    ))
    .service(resource(
        "/api/v1/apis",
        vec![("GET", web::get().to(read::list_apis))],
    ))
    .service(resource(
        "/api/v1/roles",
        vec![("GET", web::get().to(read::list_roles))],
    ))
    .service(resource(
        "/api/v1/audit-events",
        vec![("GET", web::get().to(read::list_audit_events))],
    ))
    .service(resource(
        crate::paths::API_OPENAPI,
        vec![("GET", web::get().to(openapi_document))],
    ))
    .service(resource(
        crate::paths::API_REFERENCE,
        vec![("GET", web::get().to(reference::api_reference))],
    ))
    // Anything else under the API is a problem document too, whatever the method: without
    // this, an unknown path fell through to the console and a POST met its CSRF check.
    .service(
        web::resource("/api/v1/{rest:.*}")
            .default_service(web::to(|| async { Problem::not_found().error_response() })),
    );
}

/// `GET /api/v1/openapi.json`: public, like the API reference.
async fn openapi_document(_req: HttpRequest) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("application/json")
        .body(doc::json())
}
