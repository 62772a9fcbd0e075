-- Issue 19. Why a credential is disabled and by whom, so that its page and the audit log say
-- so ("Disabled automatically: unused for 200 days", "Disabled by ops@acme.test"). Empty while
-- it is enabled; a credential disabled before this migration has none (its page then says only
-- "Disabled").
ALTER TABLE credentials
    ADD COLUMN disabled_reason text
        CHECK (disabled_reason IN ('manual', 'stale', 'leaked')),
    -- The staff member's email or the calling credential's client ID; empty for the system.
    ADD COLUMN disabled_by text,
    -- What the system found, for a credential it disabled ("unused for 200 days").
    ADD COLUMN disabled_why text,
    -- The latest report of one of its live secrets found in public: it may be enabled again
    -- only once its secret was rotated after this (and the reported one no longer works).
    ADD COLUMN leak_reported_at timestamptz,
    -- When a report about it was last recorded while it was already disabled: such reports
    -- are recorded at most once an hour, however many copies scanners send.
    ADD COLUMN leak_repeat_recorded_at timestamptz,
    -- An Admin exempted it from the staleness policy (a break-glass credential, used rarely
    -- on purpose): never flagged or disabled as unused.
    ADD COLUMN stale_exempt boolean NOT NULL DEFAULT false;
