ALTER TABLE credentials
    DROP COLUMN stale_exempt,
    DROP COLUMN leak_repeat_recorded_at,
    DROP COLUMN leak_reported_at,
    DROP COLUMN disabled_why,
    DROP COLUMN disabled_by,
    DROP COLUMN disabled_reason;
