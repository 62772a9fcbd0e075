//! The OpenAPI 3.1 document of the management API, generated from the handlers' annotations
//! and the types they read and write (utoipa), so it cannot drift from the code.

use std::sync::OnceLock;

use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::api::v1::problem;
use crate::api::v1::{credentials, keys, lifecycle, read, tokens};
use crate::credentials::management::SCOPES;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "m2m-console management API",
        version = "1",
        description = "Manage machine-to-machine credentials from code. Authenticate with an access token from `POST /oauth/token` (client credentials) of a credential a Super Admin gave management scopes; every call acts on that credential's organisation only and is audited with its client ID."
    ),
    paths(
        credentials::list_credentials,
        credentials::create_credential,
        credentials::get_credential,
        credentials::update_credential,
        credentials::delete_credential,
        lifecycle::rotate_secret,
        lifecycle::retire_previous_secret,
        lifecycle::disable_credential,
        lifecycle::enable_credential,
        lifecycle::revoke_credential,
        keys::list_keys,
        keys::add_key,
        keys::remove_key,
        keys::set_keys_only,
        tokens::list_tokens,
        tokens::revoke_token,
        tokens::revoke_all_tokens,
        tokens::credential_usage,
        read::list_apis,
        read::list_roles,
        read::list_audit_events,
    ),
    components(schemas(problem::ProblemDoc, problem::FieldError)),
    modifiers(&Security),
    tags(
        (name = "credentials", description = "Credentials: list, read, create, edit, delete"),
        (name = "lifecycle", description = "Rotate, retire, disable, enable, revoke"),
        (name = "keys", description = "Public keys for private_key_jwt, and keys only"),
        (name = "tokens", description = "A credential's live access tokens and its usage"),
        (name = "catalog", description = "The API catalog and roles (read only)"),
        (name = "audit", description = "The audit log"),
    )
)]
pub struct ApiDoc;

/// The OAuth 2.0 client-credentials scheme with the management scopes.
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scopes: Scopes = SCOPES.iter().map(|(s, what)| (*s, *what)).collect();
        let flow = Flow::ClientCredentials(ClientCredentials::new("/oauth/token", scopes));
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::OAuth2(OAuth2::with_description(
                [flow],
                "A bearer access token from POST /oauth/token, carrying the scope each operation names.",
            )),
        );
    }
}

/// The document as JSON, built once.
pub fn json() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_default())
}
