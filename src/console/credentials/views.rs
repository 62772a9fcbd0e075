//! Templates of the Machine to Machine page: the table, its rows, the ⋮ menu, the create/edit
//! modal, confirmations and the one-time secret reveal.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::console::credentials::form::FormView;
use crate::console::credentials::keys::KeysSection;
use crate::console::credentials::sort::{ListSort, SortKey};
use crate::console::credentials::usage::UsageSection;
use crate::credentials::lifecycle::{Overlap, disabled_why};
use crate::db::ids::CredentialId;
use crate::db::models::access_token::TokenSummary;
use crate::db::models::api::Api;
use crate::db::models::audit_event::AuditEvent;
use crate::db::models::credential::{AccessLevel, Credential, MAX_CREDENTIALS_PER_ORG, Status};
use crate::db::models::usage::StoredRefusal;
use crate::paths;
use crate::policy::{Policy, StaleAction};
use crate::usage::RefusalReason;
use crate::views::{Fragment, absolute_time, relative_time};

/// Allowed IPs listed in a row before "+N more".
const SHOWN_IPS: usize = 2;

/// One credential as the table shows it.
pub struct CredentialRow {
    pub c: Credential,
    pub role_name: String,
    /// Effective APIs of a Fine Grained credential.
    pub api_count: i64,
    /// Refused within the last hour and no success since (`list::is_failing`).
    pub failing: bool,
    /// Its latest refused token request, if any is kept.
    pub last_refusal: Option<StoredRefusal>,
    pub now: DateTime<Utc>,
    pub can_manage: bool,
    /// It holds management access and the viewer is not a Super Admin: no actions offered.
    pub locked: bool,
    /// The organisation's policy: when "expires soon" starts and when a credential is stale.
    pub policy: Policy,
}

impl CredentialRow {
    /// How long its access tokens live, in words ("1 hour").
    pub fn token_lifetime(&self) -> String {
        crate::credentials::input::TokenLifetime::stored(self.c.token_lifetime_seconds).label()
    }

    pub fn status(&self) -> Status {
        self.policy.status(&self.c, self.now)
    }

    /// Days since its last use (or its creation), when the policy flags it as stale.
    pub fn unused_days(&self) -> Option<i64> {
        if self.policy.stale_action == StaleAction::Nothing
            || self.c.stale_exempt
            || !self.status().is_usable()
        {
            return None;
        }
        let idle = self.now - self.c.last_activity();
        (idle >= self.policy.stale_after()).then(|| idle.num_days())
    }

    /// The allowed IPs the list shows; the rest are on the credential's page.
    pub fn shown_ips(&self) -> &[String] {
        self.c
            .allowed_ips
            .get(..SHOWN_IPS)
            .unwrap_or(&self.c.allowed_ips)
    }

    /// How many allowed IPs the list leaves out.
    pub fn more_ips(&self) -> Option<usize> {
        let more = self.c.allowed_ips.len().saturating_sub(SHOWN_IPS);
        (more > 0).then_some(more)
    }

    pub fn access_label(&self) -> String {
        match self.c.access_level {
            AccessLevel::Full => "Full".into(),
            AccessLevel::FineGrained => {
                let plural = if self.api_count == 1 { "" } else { "s" };
                format!("Fine Grained ({} API{plural})", self.api_count)
            }
        }
    }

    pub fn relative(&self, t: &DateTime<Utc>) -> String {
        relative_time(*t, self.now)
    }

    pub fn absolute(&self, t: &DateTime<Utc>) -> String {
        absolute_time(*t)
    }

    pub fn url(&self) -> String {
        paths::credential(self.c.id)
    }

    /// "Last refused 3 minutes ago (Address not allowed)".
    pub fn last_refused(&self) -> Option<String> {
        let refusal = self.last_refusal.as_ref()?;
        let reason = RefusalReason::parse(&refusal.reason).map_or("refused", |r| r.label());
        Some(format!(
            "Last refused {} ({reason})",
            relative_time(refusal.at, self.now)
        ))
    }

    /// Who or what disabled it and why, while it is disabled.
    pub fn disabled_why(&self) -> Option<String> {
        disabled_why(&self.c)
    }

    /// The previous secret still works (an overlap after a rotation).
    pub fn previous_live(&self) -> bool {
        self.c.previous_secret_live(self.now)
    }

    /// While a rotation overlaps: when the old secret stops ("7 Dec 06:06 UTC").
    pub fn overlap_until(&self) -> Option<String> {
        let until = self
            .c
            .previous_secret_retires_at
            .filter(|_| self.previous_live())?;
        Some(until.format("%-d %b %H:%M UTC").to_string())
    }

    /// "…a1B2", or a dash for a secret issued before last fours were kept.
    pub fn ending(&self, last_four: &Option<String>) -> String {
        last_four
            .as_deref()
            .map_or_else(|| "—".to_string(), |four| format!("…{four}"))
    }

    /// When and from where a secret was last used.
    pub fn last_use(&self, at: &Option<DateTime<Utc>>, ip: &Option<String>) -> String {
        match (at, ip) {
            (Some(at), Some(ip)) => format!("{} from {ip}", relative_time(*at, self.now)),
            (Some(at), None) => relative_time(*at, self.now),
            (None, _) => "Never".to_string(),
        }
    }
}

#[derive(Template)]
#[template(path = "partials/credentials_section.html")]
pub struct CredentialsSection {
    pub rows: Vec<CredentialRow>,
    /// Usable credentials that expire within a week, soonest first: the banner.
    pub expiring: Vec<(CredentialId, String, String)>,
    pub can_manage: bool,
    /// Rendered as an out-of-band swap (after a change made in a modal).
    pub oob: bool,
    pub sort: ListSort,
    /// For an organisation without APIs or roles yet: what to do first.
    pub first_run: Option<FirstRun>,
}

/// The first-run checklist: add APIs, define a role, create a credential.
pub struct FirstRun {
    pub has_apis: bool,
    pub has_roles: bool,
    /// Super Admins edit the catalog; others are told whom to ask.
    pub can_edit_catalog: bool,
    /// The Super Admins to ask, for those who cannot edit it.
    pub ask: Vec<String>,
}

impl CredentialsSection {
    /// The sortable columns: header label and key.
    pub fn sortable(&self) -> [(&'static str, SortKey); 4] {
        [
            ("Name", SortKey::Name),
            ("Status", SortKey::Status),
            ("Last used", SortKey::LastUsed),
            ("Expires", SortKey::Expires),
        ]
    }

    pub fn limit(&self) -> i64 {
        MAX_CREDENTIALS_PER_ORG
    }

    pub fn at_limit(&self) -> bool {
        self.rows.len() as i64 >= MAX_CREDENTIALS_PER_ORG
    }
}

/// The create or edit form: a `<dialog>` for htmx, a plain section for whole pages.
#[derive(Template)]
#[template(path = "partials/credential_form.html")]
pub struct CredentialForm {
    pub modal: bool,
    /// `None` when creating.
    pub edit_id: Option<CredentialId>,
    pub form: FormView,
    pub csrf_token: String,
}

impl CredentialForm {
    pub fn action(&self) -> String {
        match self.edit_id {
            Some(id) => paths::credential(id),
            None => paths::M2M.to_string(),
        }
    }

    pub fn field_error(&self, field: &str) -> Option<String> {
        self.form.errors.get(field).cloned()
    }
}

/// The one-time display of a new client secret. Never cached, never in history.
#[derive(Template)]
#[template(path = "partials/secret_reveal.html")]
pub struct SecretReveal {
    pub modal: bool,
    pub id: CredentialId,
    pub name: String,
    pub client_id: String,
    /// The new secret; `None` when it was already shown (a plain create form sent again, as
    /// a browser does on reload): the page then says so instead.
    pub secret: Option<String>,
    pub rotated: bool,
    /// After a rotation with an overlap: when the previous secret stops working.
    pub previous_retires_at: Option<String>,
    /// The public token endpoint (from `PUBLIC_URL`), for the `.env` file and the curl.
    pub token_url: String,
}

impl SecretReveal {
    /// The token endpoint under the public address `issuer` (as the server metadata says).
    pub fn token_url(issuer: &str) -> String {
        format!("{issuer}/oauth/token")
    }

    /// A token request that runs as pasted. Client IDs and secrets hold only URL-safe
    /// characters, so curl's unencoded Basic credentials are what the endpoint decodes.
    pub fn curl(&self, secret: &str) -> String {
        format!(
            "curl -u \"{}:{secret}\" -d grant_type=client_credentials \"{}\"",
            self.client_id, self.token_url
        )
    }
}

#[derive(Template)]
#[template(path = "partials/credential_menu.html")]
pub struct CredentialMenu {
    /// A whole page (no JavaScript) rather than the htmx dropdown.
    pub page: bool,
    pub id: CredentialId,
    pub name: String,
    pub revoked: bool,
    pub disabled: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confirm {
    Rotate,
    Revoke,
    Delete,
    /// Retire the previous secret now, ending its overlap.
    Retire,
    Disable,
    Enable,
}

impl Confirm {
    /// The action's address segment (`…/{id}/rotate`).
    pub fn action(self) -> &'static str {
        match self {
            Confirm::Rotate => "rotate",
            Confirm::Revoke => "revoke",
            Confirm::Delete => "delete",
            Confirm::Retire => "retire",
            Confirm::Disable => "disable",
            Confirm::Enable => "enable",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Confirm::Rotate => "Rotate secret",
            Confirm::Revoke => "Revoke credential",
            Confirm::Delete => "Delete credential",
            Confirm::Retire => "Retire old secret",
            Confirm::Disable => "Disable credential",
            Confirm::Enable => "Enable credential",
        }
    }
}

#[derive(Template)]
#[template(path = "partials/credential_confirm.html")]
pub struct ConfirmAction {
    pub modal: bool,
    pub kind: Confirm,
    pub id: CredentialId,
    pub name: String,
    pub csrf_token: String,
    /// Sent back with a rotation, so that the form sent twice rotates once.
    pub rotation_key: uuid::Uuid,
    /// What a careful admin checks before rotating, retiring or disabling.
    pub evidence: Evidence,
}

/// The facts shown before a rotation, retirement or disabling.
pub struct Evidence {
    pub owner_email: String,
    pub last_used: Option<String>,
    pub live_tokens: usize,
    /// The secret still overlapping from an earlier rotation (its last four and last use).
    pub overlapping: Option<(String, Option<String>)>,
    pub overlaps: Vec<OverlapChoice>,
}

/// A choice of the rotate dialog with its outcome.
pub struct OverlapChoice {
    pub overlap: Overlap,
    /// When the old secret would stop ("Mon 7 Dec 06:06 UTC"); `None` for Now, or when the
    /// credential expires before any overlap.
    pub until: Option<String>,
}

/// The banner on a Failing credential's page (`diagnosis::failing_banner`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingBanner {
    /// What happens and why.
    pub cause: String,
    /// What to do about it.
    pub fix: String,
    /// A link that does it (label, address); `None` when nothing here fixes it, or the
    /// viewer may not.
    pub action: Option<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "partials/credential_detail.html")]
pub struct CredentialDetail {
    pub row: CredentialRow,
    pub apis: Vec<Api>,
    pub events: Vec<AuditEvent>,
    pub tokens: Fragment<TokensSection>,
    pub usage: Fragment<UsageSection>,
    pub keys: Fragment<KeysSection>,
    /// Why it fails and the fix, while it is Failing.
    pub banner: Option<FailingBanner>,
    /// Rendered as an out-of-band swap (after a change made from the page itself).
    pub oob: bool,
    /// For the plain forms on the page.
    pub csrf_token: String,
}

/// The live access tokens of a credential, with per-token and bulk revocation.
#[derive(Template)]
#[template(path = "partials/credential_tokens.html")]
pub struct TokensSection {
    pub id: CredentialId,
    pub tokens: Vec<TokenSummary>,
    pub can_manage: bool,
    pub can_generate: bool,
    /// The admin's own address when the credential's allowed IPs leave it out: a token
    /// generated here would then be refused from this machine.
    pub outside_allow_list: Option<String>,
    pub csrf_token: String,
    pub now: DateTime<Utc>,
}

impl TokensSection {
    pub fn relative(&self, t: &DateTime<Utc>) -> String {
        relative_time(*t, self.now)
    }

    pub fn absolute(&self, t: &DateTime<Utc>) -> String {
        absolute_time(*t)
    }
}

/// A test access token generated from the console, shown once.
#[derive(Template)]
#[template(path = "partials/token_reveal.html")]
pub struct TokenReveal {
    pub modal: bool,
    pub name: String,
    pub id: CredentialId,
    pub token: String,
    pub scopes: Vec<String>,
    pub expires_at: String,
    /// `GET /api/v1/whoami` at the public address (from `PUBLIC_URL`).
    pub whoami_url: String,
    /// As on the tokens section: the admin's address when the allow-list leaves it out.
    pub outside_allow_list: Option<String>,
}

impl TokenReveal {
    /// The check integrations use, with the real token, so that it runs as pasted.
    pub fn curl(&self) -> String {
        format!(
            "curl -H \"Authorization: Bearer {}\" \"{}\"",
            self.token, self.whoami_url
        )
    }
}

impl CredentialDetail {
    pub fn event_time(&self, e: &AuditEvent) -> String {
        absolute_time(e.created_at)
    }
}
