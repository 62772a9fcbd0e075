ALTER TABLE credentials DROP COLUMN enabled_at;
