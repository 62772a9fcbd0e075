-- Issue 23: private_key_jwt (RFC 7523). Up to two public keys per credential, each pinned to
-- one algorithm; the JWK members are stored (never a private key). A credential may be
-- switched to "keys only", so its secret stops working. Assertion ids (`jti`) are kept until
-- the assertion expires, so that every instance refuses a replay.
CREATE TABLE credential_keys (
    id uuid PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    algorithm text NOT NULL CHECK (algorithm IN ('RS256', 'ES256')),
    jwk jsonb NOT NULL CHECK (jsonb_typeof(jwk) = 'object' AND NOT jwk ? 'd'),
    -- RFC 7638 thumbprint (base64url of a SHA-256 digest), also the key's `kid`.
    thumbprint text NOT NULL CHECK (thumbprint ~ '^[A-Za-z0-9_-]{43}$'),
    expires_at timestamptz,
    added_by text NOT NULL CHECK (char_length(added_by) BETWEEN 1 AND 320),
    created_at timestamptz NOT NULL,
    last_used_at timestamptz,
    last_used_ip text CHECK (char_length(last_used_ip) <= 64),
    UNIQUE (credential_id, thumbprint)
);

ALTER TABLE credentials ADD COLUMN keys_only boolean NOT NULL DEFAULT false;

CREATE TABLE client_assertion_jtis (
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    jti text NOT NULL CHECK (char_length(jti) BETWEEN 1 AND 256),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (credential_id, jti)
);
CREATE INDEX client_assertion_jtis_expires ON client_assertion_jtis (expires_at);

-- Refusals of an assertion are counted and shown like the others.
ALTER TABLE credential_usage DROP CONSTRAINT credential_usage_event_check,
    ADD CONSTRAINT credential_usage_event_check CHECK (event IN (
        'token_issued', 'introspected', 'bearer_used',
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled',
        'refused_keys_only', 'refused_assertion', 'refused_assertion_expired',
        'refused_assertion_replayed', 'refused_unknown_key'));
ALTER TABLE credential_refusals DROP CONSTRAINT credential_refusals_reason_check,
    ADD CONSTRAINT credential_refusals_reason_check CHECK (reason IN (
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled',
        'refused_keys_only', 'refused_assertion', 'refused_assertion_expired',
        'refused_assertion_replayed', 'refused_unknown_key'));

-- Adding and removing a key are webhook events.
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check,
    ADD CONSTRAINT webhook_endpoints_events_check CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['credential.created', 'credential.updated',
            'credential.secret_rotated', 'credential.previous_secret_retired',
            'credential.disabled', 'credential.enabled', 'credential.revoked',
            'credential.deleted', 'credential.expiring', 'credential.expired',
            'credential.stale_disabled', 'credential.leak_reported',
            'credential.key_added', 'credential.key_removed']::text[]
    );
