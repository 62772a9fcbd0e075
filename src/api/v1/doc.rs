//! The OpenAPI 3.1 document of the management API, generated from the handlers' annotations
//! and the types they read and write (utoipa), so it cannot drift from the code.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{ClientCredentials, Flow, OAuth2, Scopes, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, IntoResponses, Modify, OpenApi};

use crate::api::v1::problem::{self, Kind};
use crate::api::v1::{credentials, lifecycle, read, tokens};
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

/// Every problem an operation may answer, as `application/problem+json`.
pub struct Errors;

impl IntoResponses for Errors {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        Kind::ALL
            .iter()
            .map(|kind| {
                let content = ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build();
                let response = ResponseBuilder::new()
                    .description(kind.title())
                    .content(problem::CONTENT_TYPE, content)
                    .build();
                (kind.status().as_u16().to_string(), RefOr::T(response))
            })
            // Several kinds share a status: the first one's title describes it.
            .fold(BTreeMap::new(), |mut all, (status, response)| {
                all.entry(status).or_insert(response);
                all
            })
    }
}

fn header(name: &str, description: &str, max: usize, pattern: &str) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .min_length(Some(1))
                .max_length(Some(max))
                .pattern(Some(pattern)),
        ))
        .build()
}

/// The `Idempotency-Key` header of a POST.
pub struct IdempotencyKey;

impl IntoParams for IdempotencyKey {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header(
            "Idempotency-Key",
            "A key of yours (a UUID) that makes a retry safe: within 24 hours the same key and request get the first answer again (Idempotent-Replayed: true), without any secret it revealed; the same key with another request is refused (422).",
            255,
            "^[!-~]+$",
        )]
    }
}

/// The `If-Match` header of a change.
pub struct IfMatch;

impl IntoParams for IfMatch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        vec![header(
            "If-Match",
            "The ETag you read: the change is refused with 412 if the credential changed since.",
            200,
            "^[ !-~]+$",
        )]
    }
}
