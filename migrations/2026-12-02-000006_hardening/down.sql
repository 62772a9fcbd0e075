CREATE INDEX access_tokens_unrevoked_idx ON access_tokens (credential_id, id DESC)
    WHERE revoked_at IS NULL;
DROP INDEX access_tokens_credential_newest_idx;

DROP FUNCTION reserve_login_attempts(bytea[], integer[], timestamptz, interval);
DROP TABLE login_attempts;
CREATE TABLE login_throttle (
    key text PRIMARY KEY,
    failures integer NOT NULL,
    window_started_at timestamptz NOT NULL,
    locked_until timestamptz
);
