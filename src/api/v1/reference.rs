//! `GET /api/v1/docs`: the API reference, drawn on the server from the OpenAPI document
//! itself (no script, no external service, so the strict CSP holds), inside the console's
//! layout with a side index: how to authenticate, the scopes, every operation with its
//! parameters, one example request (to this server's `PUBLIC_URL`) and response, the
//! schemas, and the errors, listed once, that the `type` of a problem links to.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde_json::Value;

use crate::api::v1::problem::Kind;
use crate::api::v1::{doc, examples};
use crate::app_state::AppState;
use crate::credentials::management::SCOPES;
use crate::views::{ConsolePage, Shell};

/// A piece of text: plain, or `code` (written between backticks in the document).
pub struct Inline {
    pub code: bool,
    pub text: String,
}

/// `text` with its backticked parts as code, for people to read.
fn inline(text: &str) -> Vec<Inline> {
    text.split('`')
        .enumerate()
        .filter(|(_, piece)| !piece.is_empty())
        .map(|(i, piece)| Inline {
            code: i % 2 == 1,
            text: piece.to_string(),
        })
        .collect()
}

/// What stands in for a path parameter in the examples.
const EXAMPLE_ID: &str = "6f1c2a9e-2b1d-4c55-9a43-7d0e5b8f3c21";

pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub description: String,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: Vec<Inline>,
    pub scope: String,
    pub params: Vec<Param>,
    pub body: Option<String>,
    /// Its successful answers: `(status, description, schema)`; the errors are common to
    /// every operation and listed once.
    pub responses: Vec<(String, String, Option<String>)>,
    /// The example request: the path with its parameters filled in, and a JSON body.
    pub example_path: String,
    pub example_body: Option<String>,
    /// The example answer: its status and JSON body.
    pub example_status: String,
    pub example_response: Option<String>,
}

impl Operation {
    /// The example request as a command to run against this server.
    pub fn curl(&self, base_url: &str) -> String {
        let mut command = format!(
            "curl -s -X {} \"{base_url}{}\" \\\n  -H \"Authorization: Bearer $TOKEN\"",
            self.method, self.example_path
        );
        if let Some(body) = &self.example_body {
            let quoted = body.replace('\'', "'\\''");
            command += &format!(" \\\n  -H \"Content-Type: application/json\" -d '{quoted}'");
        }
        command
    }
}

pub struct Property {
    pub name: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub properties: Vec<Property>,
}

pub struct ProblemType {
    pub slug: &'static str,
    pub status: u16,
    pub title: &'static str,
}

/// What the page shows of the document, read once.
pub struct Reference {
    pub description: Vec<Inline>,
    pub operations: Vec<Operation>,
    pub schemas: Vec<Schema>,
    pub problems: Vec<ProblemType>,
}

#[derive(Template)]
#[template(path = "partials/api_reference.html")]
pub struct ApiReference {
    pub reference: &'static Reference,
    pub scopes: &'static [(&'static str, &'static str)],
    pub openapi_path: &'static str,
    /// This server's `PUBLIC_URL`, which the examples call.
    pub base_url: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// The name of a referenced schema (`#/components/schemas/Name` → `Name`).
fn ref_name(schema: &Value) -> Option<String> {
    let reference = schema
        .get("$ref")
        .or_else(|| schema.pointer("/items/$ref"))
        .and_then(Value::as_str)?;
    let name = reference.rsplit('/').next()?.to_string();
    Some(if schema.get("items").is_some() {
        format!("[{name}]")
    } else {
        name
    })
}

/// A property's type for people: `string (date-time)`, `[string]`, `CredentialView`, …
fn kind_of(schema: &Value) -> String {
    if let Some(name) = ref_name(schema) {
        return name;
    }
    if let Some(all) = schema.get("oneOf").and_then(Value::as_array) {
        let kinds: Vec<String> = all.iter().map(kind_of).collect();
        return kinds.join(" or ");
    }
    let base = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Some(Value::String(t)) => t.clone(),
        _ => "any".into(),
    };
    let base = match schema.get("items") {
        Some(items) => format!("[{}]", kind_of(items)).replace("array", ""),
        None => base,
    };
    match schema.get("format").and_then(Value::as_str) {
        Some(format) => format!("{base} ({format})"),
        None => base,
    }
}

/// The example request body and the first successful answer of `op`.
fn op_examples(document: &Value, op: &Value) -> (Option<String>, String, Option<String>) {
    let body = op
        .pointer("/requestBody/content/application~1json/schema")
        .map(|schema| examples::example(document, schema, "", 0))
        .and_then(|value| serde_json::to_string(&value).ok());
    let success = op
        .get("responses")
        .and_then(Value::as_object)
        .and_then(|all| all.iter().find(|(status, _)| status.starts_with('2')));
    let Some((status, answer)) = success else {
        return (body, String::new(), None);
    };
    let response = answer
        .get("content")
        .and_then(Value::as_object)
        .and_then(|c| c.values().next())
        .and_then(|c| c.get("schema"))
        .map(|schema| examples::example(document, schema, "", 0))
        .and_then(|value| serde_json::to_string_pretty(&value).ok());
    (body, status.clone(), response)
}

/// `path` with each `{parameter}` filled in.
fn example_path(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match (c, in_param) {
            ('{', _) => in_param = true,
            ('}', true) => {
                in_param = false;
                out.push_str(EXAMPLE_ID);
            }
            (_, true) => {}
            (c, false) => out.push(c),
        }
    }
    out
}

fn operations(document: &Value) -> Vec<Operation> {
    let mut out = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete"] {
            let Some(op) = item.get(method) else { continue };
            let scope = op
                .pointer("/security/0/bearer/0")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|all| {
                    all.iter()
                        .map(|p| Param {
                            name: text(p, "name"),
                            location: text(p, "in"),
                            required: p.get("required").and_then(Value::as_bool) == Some(true),
                            description: text(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op
                .pointer("/requestBody/content/application~1json/schema")
                .and_then(ref_name);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|all| {
                    all.iter()
                        .filter(|(status, _)| status.starts_with('2'))
                        .map(|(status, r)| {
                            let schema = r
                                .get("content")
                                .and_then(Value::as_object)
                                .and_then(|c| c.values().next())
                                .and_then(|c| c.get("schema"))
                                .and_then(ref_name);
                            (status.clone(), text(r, "description"), schema)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let (example_body, example_status, example_response) = op_examples(document, op);
            out.push(Operation {
                anchor: format!("op-{method}-{}", path.replace(['/', '{', '}'], "-")),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: inline(&text(op, "summary")),
                scope,
                params,
                body,
                responses,
                example_path: example_path(path),
                example_body,
                example_status,
                example_response,
            });
        }
    }
    out
}

fn schemas(document: &Value) -> Vec<Schema> {
    let Some(all) = document
        .pointer("/components/schemas")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    all.iter()
        .map(|(name, schema)| {
            let required: Vec<&str> = schema
                .get("required")
                .and_then(Value::as_array)
                .map(|r| r.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let properties = schema
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(prop, s)| Property {
                            name: prop.clone(),
                            kind: kind_of(s),
                            required: required.contains(&prop.as_str()),
                            description: text(s, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            Schema {
                name: name.clone(),
                description: text(schema, "description"),
                properties,
            }
        })
        .collect()
}

/// What the page shows of the document, read once.
fn reference() -> &'static Reference {
    static REFERENCE: std::sync::OnceLock<Reference> = std::sync::OnceLock::new();
    REFERENCE.get_or_init(|| {
        let document: Value = serde_json::from_str(doc::json()).unwrap_or(Value::Null);
        Reference {
            description: inline(
                document
                    .pointer("/info/description")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            operations: operations(&document),
            schemas: schemas(&document),
            problems: Kind::ALL
                .iter()
                .map(|k| ProblemType {
                    slug: k.slug(),
                    status: k.status().as_u16(),
                    title: k.title(),
                })
                .collect(),
        }
    })
}

/// The page, in the console's layout; public, like the OpenAPI document (it holds nothing
/// of any organisation), so it has no signed-in user and no CSRF token.
pub async fn api_reference(state: web::Data<AppState>) -> HttpResponse {
    let content = ApiReference {
        reference: reference(),
        scopes: &SCOPES,
        openapi_path: crate::paths::API_OPENAPI,
        base_url: state.settings.issuer(),
    };
    let shell = Shell::new("Management API reference", String::new(), None);
    match ConsolePage::new(shell, content).render() {
        Ok(page) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .content_type("text/html; charset=utf-8")
            .body(page),
        Err(e) => {
            tracing::error!(error = %e, "the API reference did not render");
            HttpResponse::InternalServerError().finish()
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn backticks_become_code_and_path_parameters_are_filled_in() {
        let pieces = inline("Use `POST /oauth/token` first.");
        assert_eq!(pieces.len(), 3);
        assert!(!pieces[0].code && pieces[1].code && !pieces[2].code);
        assert_eq!(pieces[1].text, "POST /oauth/token");
        assert_eq!(
            example_path("/api/v1/credentials/{id}/tokens/{token_id}"),
            format!("/api/v1/credentials/{EXAMPLE_ID}/tokens/{EXAMPLE_ID}")
        );
    }

    #[test]
    fn every_operation_has_an_example_and_only_its_successes() {
        let reference = reference();
        assert!(reference.operations.len() >= 15);
        for op in &reference.operations {
            assert!(!op.example_status.is_empty(), "{} {}", op.method, op.path);
            assert!(op.responses.iter().all(|(s, ..)| s.starts_with('2')));
            let curl = op.curl("https://console.example");
            assert!(curl.starts_with(&format!(
                "curl -s -X {} \"https://console.example/api/v1/",
                op.method
            )));
        }
        let create = reference
            .operations
            .iter()
            .find(|op| op.method == "POST" && op.path == "/api/v1/credentials")
            .unwrap();
        let body: Value = serde_json::from_str(create.example_body.as_deref().unwrap()).unwrap();
        assert!(body.get("name").is_some(), "{body}");
        assert!(
            create
                .example_response
                .as_deref()
                .unwrap()
                .contains("client_id")
        );
    }
}
