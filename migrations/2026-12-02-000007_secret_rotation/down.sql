DROP FUNCTION secret_version_live(integer, integer, timestamptz, timestamptz);
ALTER TABLE credentials
    DROP CONSTRAINT credentials_previous_secret_whole,
    DROP COLUMN disabled_at,
    DROP COLUMN previous_secret_uses,
    DROP COLUMN previous_secret_last_used_ip,
    DROP COLUMN previous_secret_last_used_at,
    DROP COLUMN previous_secret_retires_at,
    DROP COLUMN previous_secret_last_four,
    DROP COLUMN previous_secret_hash,
    DROP COLUMN secret_uses,
    DROP COLUMN secret_last_used_ip,
    DROP COLUMN secret_last_used_at,
    DROP COLUMN secret_last_four;
