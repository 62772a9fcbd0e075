-- Issues 20 and 21: limits shared by every instance, and pushed-out tokens deleted promptly.

-- Fixed-window counters of every limit (the OAuth failure throttle, the management API's rate
-- limit, leak reports, introspection), shared by all instances so that their numbers hold
-- whatever the instance count. `kind` names the limit, `subject` what it counts (a client ID,
-- a credential id; '' when only the address counts) and `network` the caller's address block
-- ('0.0.0.0/0' when the address does not count). A window starts at `started_at` and holds
-- `hits`; an expired window is restarted by the next hit and deleted by the sweep.
--
-- UNLOGGED: these counters are brakes, not records. Their writes (one per failed client
-- authentication, for instance) then cost no WAL flush, so a stranger's wrong secrets cannot
-- load the write-ahead log; a crash or a failover starts every window afresh. Nothing a client
-- was told (a token, a revocation) lives here.
CREATE UNLOGGED TABLE limit_windows (
    kind text NOT NULL,
    subject text NOT NULL,
    network cidr NOT NULL,
    started_at timestamptz NOT NULL,
    hits integer NOT NULL CHECK (hits >= 0),
    PRIMARY KEY (kind, subject, network)
);

-- Where the prompt deletion of pushed-out tokens has got to: every token with an id above
-- `swept_up_to` may have pushed an older one out. One row; instances take turns through an
-- advisory lock. Tokens pushed out before this migration are left to the expiry sweep.
CREATE TABLE token_sweep_progress (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    swept_up_to bigint NOT NULL
);
INSERT INTO token_sweep_progress (swept_up_to) SELECT coalesce(max(id), 0) FROM access_tokens;

-- The token table churns (every issue may push one out, and the sweep deletes it within
-- seconds): vacuum it by row count rather than by a fraction of a table that is mostly
-- short-lived rows, so freed space is reused instead of the table growing.
ALTER TABLE access_tokens SET (
    autovacuum_vacuum_scale_factor = 0.0,
    autovacuum_vacuum_threshold = 20000,
    autovacuum_vacuum_insert_scale_factor = 0.0,
    autovacuum_vacuum_insert_threshold = 50000
);
