-- Each organisation's credential policy, set by a Super Admin at /settings/policy. An
-- organisation without a row has the defaults: no default lifetime, no maximum, "expires
-- soon" 30 days ahead, unused after 90 days, and staleness only warned about.
CREATE TABLE org_policies (
    org_id uuid PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    -- Preselected expiry of a new credential (NULL: never).
    default_lifetime_days integer CHECK (default_lifetime_days BETWEEN 1 AND 3650),
    -- No new or edited expiry may lie further ahead (NULL: no limit, and "never" allowed).
    max_lifetime_days integer CHECK (max_lifetime_days BETWEEN 1 AND 3650),
    expires_soon_days integer NOT NULL DEFAULT 30 CHECK (expires_soon_days BETWEEN 1 AND 365),
    -- Unused for this long (neither a token request nor a bearer use) is stale.
    stale_after_days integer NOT NULL DEFAULT 90 CHECK (stale_after_days BETWEEN 1 AND 3650),
    stale_action text NOT NULL DEFAULT 'warn'
        CHECK (stale_action IN ('nothing', 'warn', 'disable')),
    updated_at timestamptz NOT NULL,
    CHECK (default_lifetime_days IS NULL OR max_lifetime_days IS NULL
           OR default_lifetime_days <= max_lifetime_days)
);
