-- The usage migration checked whole hours with date_trunc, which truncates in the session's
-- time zone: on a server set to a zone with a half-hour offset every flush was refused. A
-- whole hour is a whole number of hours since the epoch, in any zone.
ALTER TABLE credential_usage DROP CONSTRAINT credential_usage_hour_check;
ALTER TABLE credential_usage ADD CONSTRAINT credential_usage_hour_check
    CHECK (extract(epoch FROM hour) % 3600 = 0);
