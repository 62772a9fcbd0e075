//! What each audit action is called on screen. The log stores the stable dotted action
//! (`credential.secret_rotated`); people read "Secret rotated" (`AuditAction::label`).

use crate::db::models::audit_action::AuditAction;

/// The label of `action`, or the action itself for one this build does not know (rows
/// written by a newer or older version stay readable).
pub fn label(action: &str) -> &str {
    AuditAction::parse(action).map_or(action, |a| a.label())
}

/// The actions as `(action, label)`, ordered by label: the options of the log's filter.
pub fn by_label() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = AuditAction::ALL
        .iter()
        .map(|a| (a.as_str(), a.label()))
        .collect();
    // As people sort: "Access token…" before "API added".
    all.sort_by_cached_key(|(action, label)| (label.to_lowercase(), *action));
    all
}

pub fn is_known(action: &str) -> bool {
    AuditAction::parse(action).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_actions_fall_back_to_the_raw_action() {
        assert_eq!(label("credential.secret_rotated"), "Secret rotated");
        assert_eq!(label("test.event"), "test.event");
        let options = by_label();
        assert_eq!(options.first().map(|o| o.1), Some("Access token generated"));
        assert_eq!(options.len(), AuditAction::ALL.len());
    }
}
