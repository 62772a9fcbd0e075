//! An organisation's webhook endpoints: where events about its credentials are sent, which
//! events, whether it is on, and its signing secret, sealed (see the webhooks migration).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::db::ids::{OrgId, WebhookEndpointId};
use crate::db::schema::webhook_endpoints;

/// At most this many endpoints per organisation.
pub const MAX_ENDPOINTS_PER_ORG: i64 = 10;

/// A change to an endpoint: its settings, or its signing secret; `None` leaves a field as
/// it is.
#[derive(AsChangeset)]
#[diesel(table_name = webhook_endpoints)]
pub struct EndpointChanges<'a> {
    pub url: Option<&'a str>,
    pub events: Option<&'a [String]>,
    pub enabled: Option<bool>,
    pub secret_sealed: Option<&'a [u8]>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

/// What an endpoint can subscribe to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WebhookEvent {
    CredentialCreated,
    CredentialUpdated,
    SecretRotated,
    PreviousSecretRetired,
    Disabled,
    Enabled,
    Revoked,
    Deleted,
    Expiring,
    Expired,
    StaleDisabled,
    LeakReported,
    KeyAdded,
    KeyRemoved,
}

impl WebhookEvent {
    pub const ALL: [WebhookEvent; 14] = [
        WebhookEvent::CredentialCreated,
        WebhookEvent::CredentialUpdated,
        WebhookEvent::SecretRotated,
        WebhookEvent::PreviousSecretRetired,
        WebhookEvent::Disabled,
        WebhookEvent::Enabled,
        WebhookEvent::Revoked,
        WebhookEvent::Deleted,
        WebhookEvent::Expiring,
        WebhookEvent::Expired,
        WebhookEvent::StaleDisabled,
        WebhookEvent::LeakReported,
        WebhookEvent::KeyAdded,
        WebhookEvent::KeyRemoved,
    ];

    /// The event's `type` in the payload, and how the database stores it.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookEvent::CredentialCreated => "credential.created",
            WebhookEvent::CredentialUpdated => "credential.updated",
            WebhookEvent::SecretRotated => "credential.secret_rotated",
            WebhookEvent::PreviousSecretRetired => "credential.previous_secret_retired",
            WebhookEvent::Disabled => "credential.disabled",
            WebhookEvent::Enabled => "credential.enabled",
            WebhookEvent::Revoked => "credential.revoked",
            WebhookEvent::Deleted => "credential.deleted",
            WebhookEvent::Expiring => "credential.expiring",
            WebhookEvent::Expired => "credential.expired",
            WebhookEvent::StaleDisabled => "credential.stale_disabled",
            WebhookEvent::LeakReported => "credential.leak_reported",
            WebhookEvent::KeyAdded => "credential.key_added",
            WebhookEvent::KeyRemoved => "credential.key_removed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        WebhookEvent::ALL.into_iter().find(|e| e.as_str() == s)
    }

    /// What the event means, for the subscription checkboxes.
    pub fn description(self) -> &'static str {
        match self {
            WebhookEvent::CredentialCreated => "A credential was created",
            WebhookEvent::CredentialUpdated => "A credential was edited",
            WebhookEvent::SecretRotated => "A credential's secret was rotated",
            WebhookEvent::PreviousSecretRetired => "A previous secret was retired",
            WebhookEvent::Disabled => "A credential was disabled by a person or a leak report",
            WebhookEvent::Enabled => "A credential was enabled again",
            WebhookEvent::Revoked => "A credential was revoked",
            WebhookEvent::Deleted => "A credential was deleted",
            WebhookEvent::Expiring => "A credential expires in 30, 7 or 1 days",
            WebhookEvent::Expired => "A credential has expired",
            WebhookEvent::StaleDisabled => "A credential was disabled automatically as unused",
            WebhookEvent::LeakReported => "A credential's secret or token was reported leaked",
            WebhookEvent::KeyAdded => "A public key was added to a credential",
            WebhookEvent::KeyRemoved => "A public key was removed from a credential",
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhook_endpoints)]
pub struct WebhookEndpoint {
    pub id: WebhookEndpointId,
    pub org_id: OrgId,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// The signing secret as `sealed::Sealer::seal` left it; never the secret itself.
    pub secret_sealed: Vec<u8>,
    pub secret_rotated_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl WebhookEndpoint {
    /// The label that binds a sealed secret to its endpoint (`sealed::Sealer`).
    pub fn seal_label(id: WebhookEndpointId) -> String {
        format!("webhook_endpoint:{id}")
    }

    /// The subscribed events this build knows, in the order of `WebhookEvent::ALL`.
    pub fn subscribed(&self) -> Vec<WebhookEvent> {
        WebhookEvent::ALL
            .into_iter()
            .filter(|e| self.events.iter().any(|s| s == e.as_str()))
            .collect()
    }

    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(webhook_endpoints::table)
            .values((
                webhook_endpoints::id.eq(self.id),
                webhook_endpoints::org_id.eq(self.org_id),
                webhook_endpoints::url.eq(&self.url),
                webhook_endpoints::events.eq(&self.events),
                webhook_endpoints::enabled.eq(self.enabled),
                webhook_endpoints::secret_sealed.eq(&self.secret_sealed),
                webhook_endpoints::secret_rotated_at.eq(self.secret_rotated_at),
                webhook_endpoints::created_at.eq(self.created_at),
                webhook_endpoints::updated_at.eq(self.updated_at),
            ))
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Oldest first.
    pub async fn list_for_org(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<Vec<Self>> {
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org))
            .order((
                webhook_endpoints::created_at.asc(),
                webhook_endpoints::id.asc(),
            ))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    pub async fn count_in_org(conn: &mut AsyncPgConnection, org: OrgId) -> QueryResult<i64> {
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org))
            .count()
            .get_result(conn)
            .await
    }

    /// The endpoint `id` of `org`; another organisation's is `NotFound`.
    pub async fn find_in_org(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: WebhookEndpointId,
    ) -> QueryResult<Self> {
        webhook_endpoints::table
            .filter(webhook_endpoints::org_id.eq(org))
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The endpoint as a delivery needs it, whatever its organisation.
    pub async fn find(conn: &mut AsyncPgConnection, id: WebhookEndpointId) -> QueryResult<Self> {
        webhook_endpoints::table
            .find(id)
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// Applies `changes` to the endpoint `id` of `org`; another organisation's is `NotFound`.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: WebhookEndpointId,
        changes: &EndpointChanges<'_>,
    ) -> QueryResult<Self> {
        diesel::update(
            webhook_endpoints::table
                .filter(webhook_endpoints::org_id.eq(org))
                .find(id),
        )
        .set(changes)
        .returning(Self::as_returning())
        .get_result(conn)
        .await
    }

    /// Deletes the endpoint and its deliveries; how many endpoints went (0 or 1).
    pub async fn delete(
        conn: &mut AsyncPgConnection,
        org: OrgId,
        id: WebhookEndpointId,
    ) -> QueryResult<usize> {
        diesel::delete(
            webhook_endpoints::table
                .filter(webhook_endpoints::org_id.eq(org))
                .find(id),
        )
        .execute(conn)
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_one_name_that_parses_back() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.as_str()), Some(event));
            assert!(event.as_str().starts_with("credential."));
        }
        assert_eq!(WebhookEvent::parse("credential.token_generated"), None);
    }
}
