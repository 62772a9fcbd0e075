//! Example requests and responses for the API reference, made from the OpenAPI document's
//! own schemas (so they cannot drift from the code): a value of each schema, with the
//! document's examples where it has them and plausible ones where it has not.

use serde_json::{Map, Value, json};

/// Schemas nested deeper than this are shown as `null` (a cycle cannot loop).
const MAX_DEPTH: u8 = 5;

/// A value of `schema`, resolving `$ref`s against `document`; `name` is the property it is
/// for, which picks a plausible string ("ops@acme.test" for an email).
pub fn example(document: &Value, schema: &Value, name: &str, depth: u8) -> Value {
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    if let Some(target) = schema.get("$ref").and_then(Value::as_str) {
        let pointer = target.trim_start_matches('#');
        return document
            .pointer(pointer)
            .map_or(Value::Null, |s| example(document, s, name, depth + 1));
    }
    if let Some(given) = schema.get("example") {
        return given.clone();
    }
    if let Some(given) = schema
        .get("examples")
        .and_then(Value::as_array)
        .and_then(|all| all.first())
    {
        return given.clone();
    }
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|all| all.first())
    {
        return first.clone();
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(parts) = schema.get(combined).and_then(Value::as_array) {
            let chosen = parts
                .iter()
                .map(|p| example(document, p, name, depth + 1))
                .find(|v| !v.is_null());
            return chosen.unwrap_or(Value::Null);
        }
    }
    match kind(schema).as_str() {
        "object" => object(document, schema, depth),
        "array" => {
            let items = schema.get("items").unwrap_or(&Value::Null);
            let one = example(document, items, name, depth + 1);
            if one.is_null() {
                json!([])
            } else {
                json!([one])
            }
        }
        "integer" => json!(if name.contains("count") { 2 } else { 1 }),
        "number" => json!(1.5),
        "boolean" => json!(name != "secret_already_shown"),
        "string" => Value::String(string_for(name, schema)),
        _ => Value::Null,
    }
}

/// The schema's type, the first that is not `null` when it lists several.
fn kind(schema: &Value) -> String {
    match schema.get("type") {
        Some(Value::String(t)) => t.clone(),
        Some(Value::Array(all)) => all
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("null")
            .to_string(),
        _ if schema.get("properties").is_some() => "object".into(),
        _ => String::new(),
    }
}

fn object(document: &Value, schema: &Value, depth: u8) -> Value {
    let mut out = Map::new();
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for (prop, s) in props {
            out.insert(prop.clone(), example(document, s, prop, depth + 1));
        }
    }
    Value::Object(out)
}

fn string_for(name: &str, schema: &Value) -> String {
    let format = schema.get("format").and_then(Value::as_str).unwrap_or("");
    let plausible = match (format, name) {
        ("uuid", _) | (_, "id" | "credential_id") => "6f1c2a9e-2b1d-4c55-9a43-7d0e5b8f3c21",
        ("date-time", _) => "2026-12-07T06:06:00Z",
        ("email", _) | (_, "owner_email" | "email" | "actor_email") => "ops@acme.test",
        (_, "client_id") => "m2m_ci_4kJx9sQ2LmT7",
        (_, "client_secret") => "m2m_sk_…",
        (_, "name") => "Warehouse sync",
        (_, "description") => "Nightly stock export",
        (_, "scope") => "orders:read",
        (_, "status") => "active",
        (_, "ip" | "last_used_ip") => "203.0.113.7",
        (_, "access_level") => "full",
        _ => "string",
    };
    plausible.to_string()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn refs_examples_and_types_make_a_plausible_value() {
        let document = json!({
            "components": { "schemas": {
                "Credential": {
                    "type": "object",
                    "properties": {
                        "id": { "type": "string", "format": "uuid" },
                        "name": { "type": "string" },
                        "allowed_ips": { "type": "array", "items": { "type": "string", "example": "10.0.0.0/24" } },
                        "expires_at": { "type": ["string", "null"], "format": "date-time" },
                        "access_level": { "type": "string", "enum": ["fine_grained", "full"] },
                        "parent": { "$ref": "#/components/schemas/Credential" }
                    }
                }
            }}
        });
        let value = example(
            &document,
            &json!({ "$ref": "#/components/schemas/Credential" }),
            "",
            0,
        );
        assert_eq!(value["name"], "Warehouse sync");
        assert_eq!(value["allowed_ips"], json!(["10.0.0.0/24"]));
        assert_eq!(value["expires_at"], "2026-12-07T06:06:00Z");
        assert_eq!(value["access_level"], "fine_grained");
        assert_eq!(value["id"], "6f1c2a9e-2b1d-4c55-9a43-7d0e5b8f3c21");
        // A schema that contains itself ends in null instead of looping.
        let mut deepest = &value;
        while let Some(inner) = deepest.get("parent") {
            deepest = inner;
        }
        assert!(deepest.is_null());
    }
}
