//! The one table of what each audit action is called on screen. The log stores the stable
//! dotted action (`credential.secret_rotated`); people read "Secret rotated".

/// Every action the code writes to the audit log, with its label. A unit test reads the
/// source tree and fails when an action is written that this table does not name.
pub const ACTIONS: &[(&str, &str)] = &[
    ("api.created", "API added"),
    ("api.deleted", "API deleted"),
    ("api.updated", "API edited"),
    ("credential.created", "Credential created"),
    ("credential.deleted", "Credential deleted"),
    ("credential.disabled", "Credential disabled"),
    ("credential.enabled", "Credential enabled"),
    ("credential.key_added", "Public key added"),
    ("credential.key_removed", "Public key removed"),
    ("credential.leak_reported", "Leak reported"),
    (
        "credential.previous_secret_retired",
        "Previous secret retired",
    ),
    ("credential.revoked", "Credential revoked"),
    ("credential.secret_rotated", "Secret rotated"),
    ("credential.stale_exempted", "Exempted from staleness"),
    (
        "credential.stale_exemption_removed",
        "Staleness exemption ended",
    ),
    ("credential.token_generated", "Access token generated"),
    ("credential.token_revoked", "Access token revoked"),
    ("credential.tokens_revoked", "All access tokens revoked"),
    ("credential.updated", "Credential edited"),
    ("policy.updated", "Credential policy changed"),
    ("role.created", "Role created"),
    ("role.deleted", "Role deleted"),
    ("role.updated", "Role edited"),
    ("setup.completed", "First-run setup completed"),
    ("user.created", "User added"),
    ("user.disabled", "User disabled"),
    ("user.enabled", "User enabled"),
    ("user.invitation_accepted", "Invitation accepted"),
    ("user.invitation_resent", "Invitation sent again"),
    ("user.invitation_revoked", "Invitation revoked"),
    ("user.invited", "User invited"),
    ("user.login", "Signed in"),
    ("user.login_failed", "Sign-in failed"),
    ("user.login_throttled", "Sign-ins locked out"),
    ("user.logout", "Signed out"),
    ("user.password_changed", "Password changed"),
    ("user.reauthenticated", "Identity confirmed"),
    (
        "user.reauthentication_failed",
        "Identity confirmation failed",
    ),
    ("user.recovery_code_used", "Recovery code used"),
    (
        "user.recovery_codes_regenerated",
        "Recovery codes regenerated",
    ),
    ("user.role_changed", "User role changed"),
    ("user.sessions_ended", "Sessions signed out"),
    ("user.two_factor_disabled", "Two-factor turned off"),
    ("user.two_factor_enabled", "Two-factor turned on"),
    ("user.two_factor_failed", "Two-factor code refused"),
    ("user.two_factor_locked", "Two-factor codes locked"),
    ("user.two_factor_reset", "Two-factor reset"),
    ("webhook.created", "Webhook endpoint added"),
    ("webhook.deleted", "Webhook endpoint deleted"),
    ("webhook.redelivered", "Webhook delivery sent again"),
    ("webhook.secret_rotated", "Webhook signing secret rotated"),
    ("webhook.test_sent", "Webhook test event sent"),
    ("webhook.updated", "Webhook endpoint edited"),
];

/// The label of `action`, or the action itself for one this build does not know (rows
/// written by a newer or older version stay readable).
pub fn label(action: &str) -> &str {
    ACTIONS
        .iter()
        .find(|(known, _)| *known == action)
        .map_or(action, |(_, label)| label)
}

/// The actions as `(action, label)`, ordered by label: the options of the log's filter.
pub fn by_label() -> Vec<(&'static str, &'static str)> {
    let mut all = ACTIONS.to_vec();
    // As people sort: "Access token…" before "API added".
    all.sort_by_cached_key(|(action, label)| (label.to_lowercase(), *action));
    all
}

pub fn is_known(action: &str) -> bool {
    ACTIONS.iter().any(|(known, _)| *known == action)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use super::*;
    use crate::db::models::webhook_endpoint::WebhookEvent;

    /// The namespaces of audit actions (`credential.…`).
    const PREFIXES: &[&str] = &[
        "api",
        "credential",
        "policy",
        "role",
        "setup",
        "user",
        "webhook",
    ];

    /// Every string literal in `source` shaped like an action: `"prefix.snake_case"`.
    fn action_literals(source: &str, found: &mut BTreeSet<String>) {
        for piece in source.split('"').skip(1).step_by(2) {
            let Some((prefix, name)) = piece.split_once('.') else {
                continue;
            };
            if PREFIXES.contains(&prefix)
                && !name.is_empty()
                && name.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            {
                found.insert(piece.to_string());
            }
        }
    }

    fn walk(dir: &Path, found: &mut BTreeSet<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            // This module's own table and tests would count themselves.
            if path.ends_with("console/audit") || path.ends_with("console/audit.rs") {
                continue;
            }
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                action_literals(&std::fs::read_to_string(&path).unwrap(), found);
            }
        }
    }

    #[test]
    fn every_action_the_code_writes_has_a_label() {
        let mut found = BTreeSet::new();
        walk(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.contains("credential.secret_rotated"), "{found:?}");
        assert!(found.contains("user.login_failed"), "{found:?}");
        // Webhook event names share the `credential.` namespace; those no audit row stands
        // for (`credential.expiring`, …) are named by `WebhookEvent`, not by this table.
        let missing: Vec<&String> = found
            .iter()
            .filter(|a| !is_known(a) && WebhookEvent::parse(a).is_none())
            .collect();
        assert!(missing.is_empty(), "add labels for {missing:?} to ACTIONS");
    }

    #[test]
    fn the_table_is_sorted_has_no_duplicates_and_no_empty_labels() {
        let actions: Vec<&str> = ACTIONS.iter().map(|(a, _)| *a).collect();
        let mut sorted = actions.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(actions, sorted);
        let labels: BTreeSet<&str> = ACTIONS.iter().map(|(_, l)| *l).collect();
        assert_eq!(labels.len(), ACTIONS.len(), "two actions share a label");
        assert!(ACTIONS.iter().all(|(_, l)| !l.trim().is_empty()));
    }

    #[test]
    fn unknown_actions_fall_back_to_the_raw_action() {
        assert_eq!(label("credential.secret_rotated"), "Secret rotated");
        assert_eq!(label("test.event"), "test.event");
        let options = by_label();
        assert_eq!(options.first().map(|o| o.1), Some("Access token generated"));
        assert_eq!(options.len(), ACTIONS.len());
    }
}
