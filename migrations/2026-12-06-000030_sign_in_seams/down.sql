DELETE FROM notices WHERE kind IN ('password_with_wrong_code', 'two_factor_enabled',
    'two_factor_disabled');
ALTER TABLE notices DROP CONSTRAINT notices_kind_check;
ALTER TABLE notices ADD CONSTRAINT notices_kind_check CHECK (kind IN ('expires_in_30_days',
    'expires_in_7_days', 'expires_in_1_day', 'disabled', 'leaked'));
DROP INDEX sessions_pending_user_id_idx;
ALTER TABLE sessions DROP COLUMN pending_user_id;
ALTER TABLE user_two_factor DROP COLUMN alerted_at, DROP COLUMN failed_codes;
