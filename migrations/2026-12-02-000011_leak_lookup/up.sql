-- A leak report names a secret, not its credential: find the credential by the digest of
-- either of its live secrets without reading the whole table.
CREATE INDEX credentials_secret_hash_idx ON credentials (secret_hash);
CREATE INDEX credentials_previous_secret_hash_idx ON credentials (previous_secret_hash)
    WHERE previous_secret_hash IS NOT NULL;
