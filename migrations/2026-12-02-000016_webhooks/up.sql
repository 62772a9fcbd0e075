-- Webhooks (issue 13): the endpoints an organisation's Super Admin registers, and the
-- transactional outbox of what is owed to them. A delivery row is written in the same
-- transaction as the change it reports (with its audit row), one per subscribed endpoint;
-- background jobs in every instance send it, one instance per row (FOR UPDATE SKIP LOCKED),
-- retrying with backoff for 24 hours.
CREATE TABLE webhook_endpoints (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2000),
    events text[] NOT NULL CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['credential.created', 'credential.updated',
            'credential.secret_rotated', 'credential.previous_secret_retired',
            'credential.disabled', 'credential.enabled', 'credential.revoked',
            'credential.deleted', 'credential.expiring', 'credential.expired',
            'credential.stale_disabled', 'credential.leak_reported']::text[]
    ),
    enabled boolean NOT NULL DEFAULT true,
    -- The signing secret (whsec_…) sealed with the server's data key (src/sealed.rs): it is
    -- never stored in clear, and a copy of this table alone does not reveal it.
    secret_sealed bytea NOT NULL,
    secret_rotated_at timestamptz,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_org ON webhook_endpoints (org_id);

CREATE TABLE webhook_deliveries (
    -- Also the message id (webhook-id: msg_ followed by it), stable across retries.
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    event text NOT NULL,
    -- No foreign key: the event outlives the credential (credential.deleted).
    credential_id uuid,
    payload jsonb NOT NULL,
    -- What makes the event one: the audit row it reports (audit:<id>), or the credential,
    -- expiry and threshold of a reminder. Each is delivered once per endpoint, however many
    -- instances run.
    dedup_key text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    -- When it is due; while an instance sends it, when its claim lapses.
    next_attempt_at timestamptz NOT NULL,
    -- The instance sending it now; only that one records the outcome.
    claim uuid,
    -- Retries stop 24 hours after this (reset by Redeliver).
    first_attempt_at timestamptz,
    last_attempt_at timestamptz,
    last_status_code integer,
    last_error text,
    delivered_at timestamptz,
    failed_at timestamptz,
    created_at timestamptz NOT NULL,
    UNIQUE (endpoint_id, dedup_key)
);

-- The delivery job's queue: only what is still owed.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status IN ('pending', 'retrying');
-- An endpoint's recent deliveries.
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every attempt: when, the answer's status code or a short error (never a secret).
CREATE TABLE webhook_attempts (
    id bigserial PRIMARY KEY,
    delivery_id uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at timestamptz NOT NULL,
    status_code integer,
    error text,
    duration_ms integer NOT NULL
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
