-- Organisations, staff users, server-side sessions, login throttling, the
-- first-run setup token, server-wide secrets, and the append-only audit log.

CREATE TABLE organisations (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX organisations_name_key ON organisations (lower(name));

CREATE TABLE users (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Stored lowercased: one address, one account.
    email text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('super_admin', 'admin', 'viewer')),
    password_hash text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX users_org_id_idx ON users (org_id);

-- The cookie holds a random key; only its SHA-256 digest is stored, so a copy
-- of this table cannot be replayed as cookies.
CREATE TABLE sessions (
    key_hash bytea PRIMARY KEY,
    user_id uuid REFERENCES users (id) ON DELETE CASCADE,
    state jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    idle_expires_at timestamptz NOT NULL,
    absolute_expires_at timestamptz NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX sessions_idle_expires_at_idx ON sessions (idle_expires_at);

-- Failed sign-in counters, keyed by 'email:<address>' or 'ip:<address>'.
CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until timestamptz
);

-- The one-time first-run link; at most one is live.
CREATE TABLE setup_tokens (
    token_hash bytea PRIMARY KEY,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Secrets every server instance must share (the session cookie signing key).
CREATE TABLE server_secrets (
    name text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    -- No foreign keys: the log outlives what it talks about.
    org_id uuid,
    actor_user_id uuid,
    actor_email text,
    action text NOT NULL,
    target_type text,
    target_id text,
    target_label text,
    ip text,
    user_agent text,
    details jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_events_org_created_idx ON audit_events (org_id, created_at DESC, id DESC);

CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END;
$$;
CREATE TRIGGER audit_events_no_update_or_delete
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
