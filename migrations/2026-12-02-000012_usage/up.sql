-- What each credential's clients did, per hour: tokens issued, introspections and bearer
-- uses of its tokens, and token requests refused, by reason. Counted in memory by each
-- instance and added here every few seconds (upserts that add); kept 90 days.
CREATE TABLE credential_usage (
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    hour timestamptz NOT NULL CHECK (date_trunc('hour', hour) = hour),
    event text NOT NULL CHECK (event IN (
        'token_issued', 'introspected', 'bearer_used',
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled')),
    count bigint NOT NULL CHECK (count > 0),
    PRIMARY KEY (credential_id, hour, event)
);
CREATE INDEX credential_usage_hour_idx ON credential_usage (hour);

-- The latest refused token requests of each credential (50 are kept): when, why, from where.
-- Never what was presented.
CREATE TABLE credential_refusals (
    id bigserial PRIMARY KEY,
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    at timestamptz NOT NULL,
    reason text NOT NULL CHECK (reason IN (
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled')),
    ip text CHECK (char_length(ip) <= 64)
);
CREATE INDEX credential_refusals_latest_idx ON credential_refusals (credential_id, at DESC, id DESC);
CREATE INDEX credential_refusals_at_idx ON credential_refusals (at);
