//! Parts of the OpenAPI document that the operations name in their annotations: the problem
//! answers every operation may give, and the `Idempotency-Key` and `If-Match` headers. Kept
//! apart from `doc.rs`, which lists the operations, so the two do not import each other.

use std::collections::BTreeMap;

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Required};
use utoipa::{IntoParams, IntoResponses};

use crate::api::v1::problem::{self, Kind};

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
