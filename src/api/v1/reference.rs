//! `GET /api/v1/docs`: the API reference, drawn on the server from the OpenAPI document
//! itself (no script, no external service, so the strict CSP holds): how to authenticate,
//! the scopes, every operation with its parameters and answers, the schemas, and the
//! problem types the `type` of an error links to.

use actix_web::HttpResponse;
use actix_web::http::header;
use askama::Template;
use serde_json::Value;

use crate::api::v1::doc;
use crate::api::v1::problem::Kind;
use crate::credentials::management::SCOPES;
use crate::views::PublicPage;

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
    pub summary: String,
    pub scope: String,
    pub params: Vec<Param>,
    pub body: Option<String>,
    /// `(status, description, schema)`.
    pub responses: Vec<(String, String, Option<String>)>,
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

#[derive(Template)]
#[template(path = "partials/api_reference.html")]
pub struct ApiReference {
    pub description: String,
    pub scopes: &'static [(&'static str, &'static str)],
    pub operations: Vec<Operation>,
    pub schemas: Vec<Schema>,
    pub problems: Vec<ProblemType>,
    pub openapi_path: &'static str,
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
            out.push(Operation {
                anchor: format!("op-{method}-{}", path.replace(['/', '{', '}'], "-")),
                method: method.to_uppercase(),
                path: path.clone(),
                summary: text(op, "summary"),
                scope,
                params,
                body,
                responses,
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

/// The reference page, built once from the document.
fn page() -> &'static str {
    static PAGE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PAGE.get_or_init(|| {
        let document: Value = serde_json::from_str(doc::json()).unwrap_or(Value::Null);
        let reference = ApiReference {
            description: document
                .pointer("/info/description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            scopes: &SCOPES,
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
            openapi_path: crate::paths::API_OPENAPI,
        };
        PublicPage::new("Management API reference", String::new(), reference)
            .render()
            .unwrap_or_default()
    })
}

pub async fn api_reference() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .content_type("text/html; charset=utf-8")
        .body(page())
}
