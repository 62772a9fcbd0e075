-- The API catalog, roles as sets of catalog entries, and machine-to-machine credentials.

CREATE TABLE apis (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    scope text NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (org_id, scope)
);

CREATE TABLE roles (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX roles_org_name_key ON roles (org_id, lower(name));

CREATE TABLE role_apis (
    role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    api_id uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    PRIMARY KEY (role_id, api_id)
);
CREATE INDEX role_apis_api_id_idx ON role_apis (api_id);

CREATE TABLE credentials (
    id uuid PRIMARY KEY,
    org_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    -- Public identifier (m2m_ci_…); the secret is kept only as its SHA-256 digest.
    client_id text NOT NULL UNIQUE,
    secret_hash bytea NOT NULL,
    name text NOT NULL,
    description text NOT NULL DEFAULT '',
    owner_email text NOT NULL,
    -- RESTRICT: a role still assigned to a credential cannot be deleted.
    role_id uuid NOT NULL REFERENCES roles (id) ON DELETE RESTRICT,
    access_level text NOT NULL CHECK (access_level IN ('full', 'fine_grained')),
    -- Normalised CIDR blocks; empty means any address.
    allowed_ips text[] NOT NULL DEFAULT '{}',
    expires_at timestamptz,
    revoked_at timestamptz,
    last_used_at timestamptz,
    last_used_ip text,
    created_by uuid,
    created_by_email text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    secret_rotated_at timestamptz,
    -- The create form's one-time key: a double-submitted form creates one credential.
    creation_key uuid UNIQUE
);
CREATE INDEX credentials_org_id_idx ON credentials (org_id, created_at);
CREATE INDEX credentials_role_id_idx ON credentials (role_id);

-- Fine Grained credentials: the chosen subset of their role's APIs.
CREATE TABLE credential_apis (
    credential_id uuid NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    api_id uuid NOT NULL REFERENCES apis (id) ON DELETE CASCADE,
    PRIMARY KEY (credential_id, api_id)
);
CREATE INDEX credential_apis_api_id_idx ON credential_apis (api_id);
