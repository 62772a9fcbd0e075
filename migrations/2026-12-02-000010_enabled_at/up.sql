-- When a disabled credential was last enabled again. Staleness counts from the latest of its
-- last use, its creation and this: an Admin who enables a stale credential gives it a new
-- period, instead of the next job run disabling it again.
ALTER TABLE credentials ADD COLUMN enabled_at timestamptz;
