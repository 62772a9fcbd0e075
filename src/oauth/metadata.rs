//! `GET /.well-known/oauth-authorization-server` (RFC 8414).

use actix_web::{HttpResponse, web};

use crate::app_state::AppState;

pub async fn server_metadata(state: web::Data<AppState>) -> HttpResponse {
    let base = state.settings.issuer();
    let methods = [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    ];
    // The algorithms a key may be pinned to (`credentials::public_key`).
    let algorithms = ["ES256", "RS256"];
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(serde_json::json!({
            "issuer": base,
            "token_endpoint": format!("{base}/oauth/token"),
            "introspection_endpoint": format!("{base}/oauth/introspect"),
            "revocation_endpoint": format!("{base}/oauth/revoke"),
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": [],
            "token_endpoint_auth_methods_supported": methods,
            "token_endpoint_auth_signing_alg_values_supported": algorithms,
            "introspection_endpoint_auth_methods_supported": methods,
            "introspection_endpoint_auth_signing_alg_values_supported": algorithms,
            "revocation_endpoint_auth_methods_supported": methods,
            "revocation_endpoint_auth_signing_alg_values_supported": algorithms,
            "service_documentation": format!("{base}/settings/integrations/machine-to-machine"),
        }))
}
