//! An event's `details` as a short list a person can read: the fields an edit changed
//! ("Name: Nightly → Hourly") and the other facts ("Tokens revoked: 3"), never a JSON blob.
//!
//! The domain layer writes edits as `{"before": {...}, "after": {...}}` (or two plain values,
//! as a role change does), creations as `{"after": {...}}` plus facts such as `client_id`,
//! and everything else as flat facts.

use serde_json::{Map, Value};

/// One line of an event's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DetailItem {
    /// A field an edit changed; `field` is empty when the whole value changed (a role).
    Changed {
        field: String,
        before: String,
        after: String,
    },
    /// Anything else the event recorded.
    Fact { field: String, value: String },
}

/// The lines to show for `details`, facts first and then the changes, in key order.
pub fn items(details: &Value) -> Vec<DetailItem> {
    let map = match details {
        Value::Null => return Vec::new(),
        Value::Object(map) => map,
        other => {
            return vec![DetailItem::Fact {
                field: "Details".into(),
                value: text(other),
            }];
        }
    };
    let mut out: Vec<DetailItem> = map
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "before" | "after"))
        .map(|(key, value)| fact(key, value))
        .collect();
    match (map.get("before"), map.get("after")) {
        (Some(Value::Object(before)), Some(Value::Object(after))) => {
            out.extend(changes(before, after));
        }
        (Some(before), Some(after)) if before != after => out.push(DetailItem::Changed {
            field: String::new(),
            before: text(before),
            after: text(after),
        }),
        (Some(_), Some(_)) => {}
        // A creation records only what was set, a removal only what there was.
        (Some(Value::Object(one)), None) | (None, Some(Value::Object(one))) => {
            out.extend(one.iter().map(|(key, value)| fact(key, value)));
        }
        (Some(before), None) => out.push(fact("before", before)),
        (None, Some(after)) => out.push(fact("after", after)),
        (None, None) => {}
    }
    out
}

/// The fields whose value differs between `before` and `after`; a field present on one side
/// only counts as changed from or to nothing.
fn changes(before: &Map<String, Value>, after: &Map<String, Value>) -> Vec<DetailItem> {
    let keys = after
        .keys()
        .chain(before.keys().filter(|key| !after.contains_key(*key)));
    keys.filter_map(|key| {
        let was = before.get(key).unwrap_or(&Value::Null);
        let now = after.get(key).unwrap_or(&Value::Null);
        (was != now).then(|| DetailItem::Changed {
            field: field_name(key),
            before: text(was),
            after: text(now),
        })
    })
    .collect()
}

fn fact(key: &str, value: &Value) -> DetailItem {
    DetailItem::Fact {
        field: field_name(key),
        value: text(value),
    }
}

/// `tokens_revoked` → "Tokens revoked", `allowed_ips` → "Allowed IPs".
pub fn field_name(key: &str) -> String {
    let words: Vec<String> = key
        .split('_')
        .filter(|w| !w.is_empty())
        .enumerate()
        .map(|(i, word)| match word {
            "id" => "ID".to_string(),
            "ip" => "IP".to_string(),
            "ips" => "IPs".to_string(),
            "api" => "API".to_string(),
            "apis" => "APIs".to_string(),
            "url" => "URL".to_string(),
            _ if i == 0 => capitalised(word),
            _ => word.to_string(),
        })
        .collect();
    words.join(" ")
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A value as text: strings bare, times in the log's own format, lists joined by commas,
/// nothing as "(none)".
pub fn text(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::Bool(true) => "yes".into(),
        Value::Bool(false) => "no".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "(none)".into(),
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(at) => at
                .with_timezone(&chrono::Utc)
                .format("%Y-%m-%d %H:%M UTC")
                .to_string(),
            Err(_) => s.clone(),
        },
        Value::Array(items) if items.is_empty() => "(none)".into(),
        Value::Array(items) => items.iter().map(item).collect::<Vec<_>>().join(", "),
        Value::Object(map) if map.is_empty() => "(none)".into(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: {}", field_name(k), text(v)))
            .collect::<Vec<_>>()
            .join("; "),
    }
}

/// A list element: a record by its name when it has one (the credentials an API deletion
/// took along), otherwise in full.
fn item(value: &Value) -> String {
    match value.get("name").or_else(|| value.get("scope")) {
        Some(Value::String(name)) => name.clone(),
        _ => text(value),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn changed(field: &str, before: &str, after: &str) -> DetailItem {
        DetailItem::Changed {
            field: field.into(),
            before: before.into(),
            after: after.into(),
        }
    }

    fn fact_of(field: &str, value: &str) -> DetailItem {
        DetailItem::Fact {
            field: field.into(),
            value: value.into(),
        }
    }

    #[test]
    fn an_edit_lists_only_the_fields_that_changed() {
        let details = json!({
            "before": { "name": "Nightly", "apis": ["a:read"], "allowed_ips": [], "expires_at": null },
            "after": { "name": "Hourly", "apis": ["a:read", "b:write"], "allowed_ips": [], "expires_at": "2027-01-02T03:04:05+00:00" },
        });
        assert_eq!(
            items(&details),
            [
                changed("APIs", "a:read", "a:read, b:write"),
                changed("Expires at", "(none)", "2027-01-02 03:04 UTC"),
                changed("Name", "Nightly", "Hourly"),
            ]
        );
    }

    #[test]
    fn a_plain_before_and_after_is_one_change_and_other_keys_are_facts() {
        assert_eq!(
            items(&json!({ "before": "admin", "after": "viewer" })),
            [changed("", "admin", "viewer")]
        );
        assert_eq!(
            items(&json!({ "client_id": "m2m_ci_x", "after": { "name": "N", "disabled": false } })),
            [
                fact_of("Client ID", "m2m_ci_x"),
                fact_of("Disabled", "no"),
                fact_of("Name", "N"),
            ]
        );
        assert_eq!(
            items(&json!({ "tokens_revoked": 3, "reason": "stale" })),
            [fact_of("Reason", "stale"), fact_of("Tokens revoked", "3")]
        );
    }

    #[test]
    fn odd_shapes_still_read_as_text() {
        assert!(items(&json!({})).is_empty());
        assert!(items(&Value::Null).is_empty());
        assert_eq!(items(&json!("x")), [fact_of("Details", "x")]);
        assert_eq!(
            items(&json!({ "credentials": [{ "id": "1", "name": "Nightly" }, { "id": "2" }] })),
            [fact_of("Credentials", "Nightly, ID: 2")]
        );
        assert_eq!(
            items(&json!({ "before": { "a": 1 }, "after": { "b": 2 } })),
            [changed("B", "(none)", "2"), changed("A", "1", "(none)")]
        );
        assert_eq!(items(&json!({ "before": 1, "after": 1 })), []);
    }
}
