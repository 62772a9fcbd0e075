ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_events_check,
    ADD CONSTRAINT webhook_endpoints_events_check CHECK (
        cardinality(events) >= 1
        AND events <@ ARRAY['credential.created', 'credential.updated',
            'credential.secret_rotated', 'credential.previous_secret_retired',
            'credential.disabled', 'credential.enabled', 'credential.revoked',
            'credential.deleted', 'credential.expiring', 'credential.expired',
            'credential.stale_disabled', 'credential.leak_reported']::text[]
    );
DELETE FROM credential_usage WHERE event IN ('refused_keys_only', 'refused_assertion',
    'refused_assertion_expired', 'refused_assertion_replayed', 'refused_unknown_key');
DELETE FROM credential_refusals WHERE reason IN ('refused_keys_only', 'refused_assertion',
    'refused_assertion_expired', 'refused_assertion_replayed', 'refused_unknown_key');
ALTER TABLE credential_usage DROP CONSTRAINT credential_usage_event_check,
    ADD CONSTRAINT credential_usage_event_check CHECK (event IN (
        'token_issued', 'introspected', 'bearer_used',
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled'));
ALTER TABLE credential_refusals DROP CONSTRAINT credential_refusals_reason_check,
    ADD CONSTRAINT credential_refusals_reason_check CHECK (reason IN (
        'refused_secret', 'refused_disabled', 'refused_expired',
        'refused_address', 'refused_scope', 'refused_throttled'));
DROP TABLE client_assertion_jtis;
ALTER TABLE credentials DROP COLUMN keys_only;
DROP TABLE credential_keys;
