-- Opaque OAuth access tokens, stored as SHA-256 digests and checked against the database on
-- every use, which is what makes revocation immediate.
--
-- "At most 10 live tokens per credential" is a rule about the newest tokens: a token is live
-- while it is unrevoked, unexpired, and fewer than 10 unrevoked, unexpired tokens of its
-- credential are newer (higher id). Issuing therefore needs no per-credential lock, so
-- concurrent requests for one credential do not queue behind each other; the same statement
-- also marks the tokens it pushes out as revoked, to keep the table small.
CREATE TABLE access_tokens (
    id bigserial PRIMARY KEY,
    token_hash bytea NOT NULL UNIQUE,
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    scopes text[] NOT NULL,
    issued_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    issuing_ip text,
    last_used_at timestamptz
);
CREATE INDEX access_tokens_unrevoked_idx ON access_tokens (credential_id, id DESC)
    WHERE revoked_at IS NULL;
