-- The key of the rotation that put the current secret in place: a form (or, later, an API
-- call) sent again with the same key is a replay, answered without rotating again and
-- without revealing a secret twice.
ALTER TABLE credentials ADD COLUMN rotation_key uuid;
