ALTER TABLE credential_usage DROP CONSTRAINT credential_usage_hour_check;
ALTER TABLE credential_usage ADD CONSTRAINT credential_usage_hour_check
    CHECK (date_trunc('hour', hour) = hour);
