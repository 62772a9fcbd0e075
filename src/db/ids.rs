//! Newtype IDs, so a user's id can never be passed where an organisation's is expected.

/// Declares an id type around `$inner`, read and written by diesel as `$sql`.
macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident($inner:ty) as $sql:ty) => {
        $(#[$meta])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord,
            serde::Serialize, serde::Deserialize,
            diesel::expression::AsExpression, diesel::deserialize::FromSqlRow,
        )]
        #[diesel(sql_type = $sql)]
        #[serde(transparent)]
        pub struct $name(pub $inner);

        impl diesel::serialize::ToSql<$sql, diesel::pg::Pg> for $name {
            fn to_sql<'b>(
                &'b self,
                out: &mut diesel::serialize::Output<'b, '_, diesel::pg::Pg>,
            ) -> diesel::serialize::Result {
                <$inner as diesel::serialize::ToSql<$sql, diesel::pg::Pg>>::to_sql(&self.0, out)
            }
        }

        impl diesel::deserialize::FromSql<$sql, diesel::pg::Pg> for $name {
            fn from_sql(bytes: diesel::pg::PgValue<'_>) -> diesel::deserialize::Result<Self> {
                <$inner as diesel::deserialize::FromSql<$sql, diesel::pg::Pg>>::from_sql(bytes).map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = <$inner as std::str::FromStr>::Err;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }
    };
}

/// Declares UUID ids, which the application mints.
macro_rules! uuid_ids {
    ($($(#[$meta:meta])* $name:ident;)*) => {
        $(
            typed_id!($(#[$meta])* $name(uuid::Uuid) as diesel::sql_types::Uuid);

            impl $name {
                pub fn new_random() -> Self {
                    Self(uuid::Uuid::new_v4())
                }
            }
        )*
    };
}

uuid_ids! {
    /// An organisation (tenant).
    OrgId;
    /// A staff user of the console.
    UserId;
    /// An entry of the organisation's API catalog.
    ApiId;
    /// A role: a named set of catalog entries.
    RoleId;
    /// A machine-to-machine credential (its row id, not its public client ID).
    CredentialId;
    /// An email owed to one recipient.
    NoticeId;
    /// A webhook endpoint of an organisation.
    WebhookEndpointId;
    /// One event owed to one webhook endpoint; also its message id (`msg_…`).
    WebhookDeliveryId;
    /// An invitation of a new staff member.
    InvitationId;
    /// A public key of a credential (`private_key_jwt`).
    KeyId;
}

typed_id!(
    /// An access token's row (never its value, which is not stored).
    TokenId(i64) as diesel::sql_types::BigInt
);
typed_id!(
    /// An event of the audit log.
    AuditEventId(i64) as diesel::sql_types::BigInt
);
