//! Every action the audit log records: its stored name (`credential.secret_rotated`), what
//! people read ("Secret rotated") and the public webhook event it stands for, if any. The
//! compiler links each place that writes a row to this one list.

use crate::db::models::webhook_endpoint::WebhookEvent;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AuditAction {
    ApiCreated,
    ApiDeleted,
    ApiUpdated,
    CredentialCreated,
    CredentialDeleted,
    CredentialDisabled,
    CredentialEnabled,
    CredentialKeyAdded,
    CredentialKeyRemoved,
    CredentialLeakReported,
    CredentialPreviousSecretRetired,
    CredentialRevoked,
    CredentialSecretRotated,
    CredentialStaleExempted,
    CredentialStaleExemptionRemoved,
    CredentialTokenGenerated,
    CredentialTokenRevoked,
    CredentialTokensRevoked,
    CredentialUpdated,
    PolicyUpdated,
    RoleCreated,
    RoleDeleted,
    RoleUpdated,
    SetupCompleted,
    UserCreated,
    UserDisabled,
    UserEnabled,
    UserInvitationAccepted,
    UserInvitationResent,
    UserInvitationRevoked,
    UserInvited,
    UserLogin,
    UserLoginFailed,
    UserLoginThrottled,
    UserLogout,
    UserPasswordChanged,
    UserReauthenticated,
    UserReauthenticationFailed,
    UserRecoveryCodeUsed,
    UserRecoveryCodesRegenerated,
    UserRoleChanged,
    UserSessionsEnded,
    UserTwoFactorDisabled,
    UserTwoFactorEnabled,
    UserTwoFactorFailed,
    UserTwoFactorLocked,
    UserTwoFactorReset,
    WebhookCreated,
    WebhookDeleted,
    WebhookRedelivered,
    WebhookSecretRotated,
    WebhookTestSent,
    WebhookUpdated,
}

impl AuditAction {
    pub const ALL: [AuditAction; 53] = [
        AuditAction::ApiCreated,
        AuditAction::ApiDeleted,
        AuditAction::ApiUpdated,
        AuditAction::CredentialCreated,
        AuditAction::CredentialDeleted,
        AuditAction::CredentialDisabled,
        AuditAction::CredentialEnabled,
        AuditAction::CredentialKeyAdded,
        AuditAction::CredentialKeyRemoved,
        AuditAction::CredentialLeakReported,
        AuditAction::CredentialPreviousSecretRetired,
        AuditAction::CredentialRevoked,
        AuditAction::CredentialSecretRotated,
        AuditAction::CredentialStaleExempted,
        AuditAction::CredentialStaleExemptionRemoved,
        AuditAction::CredentialTokenGenerated,
        AuditAction::CredentialTokenRevoked,
        AuditAction::CredentialTokensRevoked,
        AuditAction::CredentialUpdated,
        AuditAction::PolicyUpdated,
        AuditAction::RoleCreated,
        AuditAction::RoleDeleted,
        AuditAction::RoleUpdated,
        AuditAction::SetupCompleted,
        AuditAction::UserCreated,
        AuditAction::UserDisabled,
        AuditAction::UserEnabled,
        AuditAction::UserInvitationAccepted,
        AuditAction::UserInvitationResent,
        AuditAction::UserInvitationRevoked,
        AuditAction::UserInvited,
        AuditAction::UserLogin,
        AuditAction::UserLoginFailed,
        AuditAction::UserLoginThrottled,
        AuditAction::UserLogout,
        AuditAction::UserPasswordChanged,
        AuditAction::UserReauthenticated,
        AuditAction::UserReauthenticationFailed,
        AuditAction::UserRecoveryCodeUsed,
        AuditAction::UserRecoveryCodesRegenerated,
        AuditAction::UserRoleChanged,
        AuditAction::UserSessionsEnded,
        AuditAction::UserTwoFactorDisabled,
        AuditAction::UserTwoFactorEnabled,
        AuditAction::UserTwoFactorFailed,
        AuditAction::UserTwoFactorLocked,
        AuditAction::UserTwoFactorReset,
        AuditAction::WebhookCreated,
        AuditAction::WebhookDeleted,
        AuditAction::WebhookRedelivered,
        AuditAction::WebhookSecretRotated,
        AuditAction::WebhookTestSent,
        AuditAction::WebhookUpdated,
    ];

    /// The name stored in the log and shown by the API and the export: stable, never renamed.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditAction::ApiCreated => "api.created",
            AuditAction::ApiDeleted => "api.deleted",
            AuditAction::ApiUpdated => "api.updated",
            AuditAction::CredentialCreated => "credential.created",
            AuditAction::CredentialDeleted => "credential.deleted",
            AuditAction::CredentialDisabled => "credential.disabled",
            AuditAction::CredentialEnabled => "credential.enabled",
            AuditAction::CredentialKeyAdded => "credential.key_added",
            AuditAction::CredentialKeyRemoved => "credential.key_removed",
            AuditAction::CredentialLeakReported => "credential.leak_reported",
            AuditAction::CredentialPreviousSecretRetired => "credential.previous_secret_retired",
            AuditAction::CredentialRevoked => "credential.revoked",
            AuditAction::CredentialSecretRotated => "credential.secret_rotated",
            AuditAction::CredentialStaleExempted => "credential.stale_exempted",
            AuditAction::CredentialStaleExemptionRemoved => "credential.stale_exemption_removed",
            AuditAction::CredentialTokenGenerated => "credential.token_generated",
            AuditAction::CredentialTokenRevoked => "credential.token_revoked",
            AuditAction::CredentialTokensRevoked => "credential.tokens_revoked",
            AuditAction::CredentialUpdated => "credential.updated",
            AuditAction::PolicyUpdated => "policy.updated",
            AuditAction::RoleCreated => "role.created",
            AuditAction::RoleDeleted => "role.deleted",
            AuditAction::RoleUpdated => "role.updated",
            AuditAction::SetupCompleted => "setup.completed",
            AuditAction::UserCreated => "user.created",
            AuditAction::UserDisabled => "user.disabled",
            AuditAction::UserEnabled => "user.enabled",
            AuditAction::UserInvitationAccepted => "user.invitation_accepted",
            AuditAction::UserInvitationResent => "user.invitation_resent",
            AuditAction::UserInvitationRevoked => "user.invitation_revoked",
            AuditAction::UserInvited => "user.invited",
            AuditAction::UserLogin => "user.login",
            AuditAction::UserLoginFailed => "user.login_failed",
            AuditAction::UserLoginThrottled => "user.login_throttled",
            AuditAction::UserLogout => "user.logout",
            AuditAction::UserPasswordChanged => "user.password_changed",
            AuditAction::UserReauthenticated => "user.reauthenticated",
            AuditAction::UserReauthenticationFailed => "user.reauthentication_failed",
            AuditAction::UserRecoveryCodeUsed => "user.recovery_code_used",
            AuditAction::UserRecoveryCodesRegenerated => "user.recovery_codes_regenerated",
            AuditAction::UserRoleChanged => "user.role_changed",
            AuditAction::UserSessionsEnded => "user.sessions_ended",
            AuditAction::UserTwoFactorDisabled => "user.two_factor_disabled",
            AuditAction::UserTwoFactorEnabled => "user.two_factor_enabled",
            AuditAction::UserTwoFactorFailed => "user.two_factor_failed",
            AuditAction::UserTwoFactorLocked => "user.two_factor_locked",
            AuditAction::UserTwoFactorReset => "user.two_factor_reset",
            AuditAction::WebhookCreated => "webhook.created",
            AuditAction::WebhookDeleted => "webhook.deleted",
            AuditAction::WebhookRedelivered => "webhook.redelivered",
            AuditAction::WebhookSecretRotated => "webhook.secret_rotated",
            AuditAction::WebhookTestSent => "webhook.test_sent",
            AuditAction::WebhookUpdated => "webhook.updated",
        }
    }

    /// What people read in the console.
    pub const fn label(self) -> &'static str {
        match self {
            AuditAction::ApiCreated => "API added",
            AuditAction::ApiDeleted => "API deleted",
            AuditAction::ApiUpdated => "API edited",
            AuditAction::CredentialCreated => "Credential created",
            AuditAction::CredentialDeleted => "Credential deleted",
            AuditAction::CredentialDisabled => "Credential disabled",
            AuditAction::CredentialEnabled => "Credential enabled",
            AuditAction::CredentialKeyAdded => "Public key added",
            AuditAction::CredentialKeyRemoved => "Public key removed",
            AuditAction::CredentialLeakReported => "Leak reported",
            AuditAction::CredentialPreviousSecretRetired => "Previous secret retired",
            AuditAction::CredentialRevoked => "Credential revoked",
            AuditAction::CredentialSecretRotated => "Secret rotated",
            AuditAction::CredentialStaleExempted => "Exempted from staleness",
            AuditAction::CredentialStaleExemptionRemoved => "Staleness exemption ended",
            AuditAction::CredentialTokenGenerated => "Access token generated",
            AuditAction::CredentialTokenRevoked => "Access token revoked",
            AuditAction::CredentialTokensRevoked => "All access tokens revoked",
            AuditAction::CredentialUpdated => "Credential edited",
            AuditAction::PolicyUpdated => "Credential policy changed",
            AuditAction::RoleCreated => "Role created",
            AuditAction::RoleDeleted => "Role deleted",
            AuditAction::RoleUpdated => "Role edited",
            AuditAction::SetupCompleted => "First-run setup completed",
            AuditAction::UserCreated => "User added",
            AuditAction::UserDisabled => "User disabled",
            AuditAction::UserEnabled => "User enabled",
            AuditAction::UserInvitationAccepted => "Invitation accepted",
            AuditAction::UserInvitationResent => "Invitation sent again",
            AuditAction::UserInvitationRevoked => "Invitation revoked",
            AuditAction::UserInvited => "User invited",
            AuditAction::UserLogin => "Signed in",
            AuditAction::UserLoginFailed => "Sign-in failed",
            AuditAction::UserLoginThrottled => "Sign-ins locked out",
            AuditAction::UserLogout => "Signed out",
            AuditAction::UserPasswordChanged => "Password changed",
            AuditAction::UserReauthenticated => "Identity confirmed",
            AuditAction::UserReauthenticationFailed => "Identity confirmation failed",
            AuditAction::UserRecoveryCodeUsed => "Recovery code used",
            AuditAction::UserRecoveryCodesRegenerated => "Recovery codes regenerated",
            AuditAction::UserRoleChanged => "User role changed",
            AuditAction::UserSessionsEnded => "Sessions signed out",
            AuditAction::UserTwoFactorDisabled => "Two-factor turned off",
            AuditAction::UserTwoFactorEnabled => "Two-factor turned on",
            AuditAction::UserTwoFactorFailed => "Two-factor code refused",
            AuditAction::UserTwoFactorLocked => "Two-factor codes locked",
            AuditAction::UserTwoFactorReset => "Two-factor reset",
            AuditAction::WebhookCreated => "Webhook endpoint added",
            AuditAction::WebhookDeleted => "Webhook endpoint deleted",
            AuditAction::WebhookRedelivered => "Webhook delivery sent again",
            AuditAction::WebhookSecretRotated => "Webhook signing secret rotated",
            AuditAction::WebhookTestSent => "Webhook test event sent",
            AuditAction::WebhookUpdated => "Webhook endpoint edited",
        }
    }

    /// The webhook event a row of this action stands for. A credential disabled as unused is
    /// its own event (`credential.stale_disabled`): its details decide (the audit module's
    /// `payload::CredentialDisabled`).
    pub const fn webhook(self) -> Option<WebhookEvent> {
        Some(match self {
            AuditAction::CredentialCreated => WebhookEvent::CredentialCreated,
            AuditAction::CredentialDeleted => WebhookEvent::Deleted,
            AuditAction::CredentialDisabled => WebhookEvent::Disabled,
            AuditAction::CredentialEnabled => WebhookEvent::Enabled,
            AuditAction::CredentialKeyAdded => WebhookEvent::KeyAdded,
            AuditAction::CredentialKeyRemoved => WebhookEvent::KeyRemoved,
            AuditAction::CredentialLeakReported => WebhookEvent::LeakReported,
            AuditAction::CredentialPreviousSecretRetired => WebhookEvent::PreviousSecretRetired,
            AuditAction::CredentialRevoked => WebhookEvent::Revoked,
            AuditAction::CredentialSecretRotated => WebhookEvent::SecretRotated,
            AuditAction::CredentialUpdated => WebhookEvent::CredentialUpdated,
            AuditAction::ApiCreated
            | AuditAction::ApiDeleted
            | AuditAction::ApiUpdated
            | AuditAction::CredentialStaleExempted
            | AuditAction::CredentialStaleExemptionRemoved
            | AuditAction::CredentialTokenGenerated
            | AuditAction::CredentialTokenRevoked
            | AuditAction::CredentialTokensRevoked
            | AuditAction::PolicyUpdated
            | AuditAction::RoleCreated
            | AuditAction::RoleDeleted
            | AuditAction::RoleUpdated
            | AuditAction::SetupCompleted
            | AuditAction::UserCreated
            | AuditAction::UserDisabled
            | AuditAction::UserEnabled
            | AuditAction::UserInvitationAccepted
            | AuditAction::UserInvitationResent
            | AuditAction::UserInvitationRevoked
            | AuditAction::UserInvited
            | AuditAction::UserLogin
            | AuditAction::UserLoginFailed
            | AuditAction::UserLoginThrottled
            | AuditAction::UserLogout
            | AuditAction::UserPasswordChanged
            | AuditAction::UserReauthenticated
            | AuditAction::UserReauthenticationFailed
            | AuditAction::UserRecoveryCodeUsed
            | AuditAction::UserRecoveryCodesRegenerated
            | AuditAction::UserRoleChanged
            | AuditAction::UserSessionsEnded
            | AuditAction::UserTwoFactorDisabled
            | AuditAction::UserTwoFactorEnabled
            | AuditAction::UserTwoFactorFailed
            | AuditAction::UserTwoFactorLocked
            | AuditAction::UserTwoFactorReset
            | AuditAction::WebhookCreated
            | AuditAction::WebhookDeleted
            | AuditAction::WebhookRedelivered
            | AuditAction::WebhookSecretRotated
            | AuditAction::WebhookTestSent
            | AuditAction::WebhookUpdated => return None,
        })
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn every_action_has_one_name_and_one_label_and_reads_back() {
        let names: HashSet<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        let labels: HashSet<_> = AuditAction::ALL.iter().map(|a| a.label()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        assert_eq!(labels.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(AuditAction::parse(action.as_str()), Some(action));
        }
        assert_eq!(AuditAction::parse("credential.expiring"), None);
    }

    #[test]
    fn webhook_events_keep_their_audit_names_and_quiet_actions_have_none() {
        for action in AuditAction::ALL {
            if let Some(event) = action.webhook() {
                assert_eq!(event.as_str(), action.as_str());
            }
        }
        assert_eq!(AuditAction::CredentialTokenGenerated.webhook(), None);
        assert_eq!(AuditAction::UserLogin.webhook(), None);
    }
}
