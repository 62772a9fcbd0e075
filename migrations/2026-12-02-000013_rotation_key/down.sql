ALTER TABLE credentials DROP COLUMN rotation_key;
