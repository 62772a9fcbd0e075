// @generated automatically by Diesel CLI.

diesel::table! {
    access_tokens (id) {
        id -> Int8,
        token_hash -> Bytea,
        credential_id -> Uuid,
        // PostgreSQL arrays may hold NULLs; ours never do (written only by the application
        // and the scope-copy triggers), so the elements are read as plain text.
        scopes -> Array<Text>,
        issued_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        issuing_ip -> Nullable<Text>,
        last_used_at -> Nullable<Timestamptz>,
        secret_version -> Int4,
    }
}

diesel::table! {
    api_idempotency_keys (caller_id, key) {
        caller_id -> Uuid,
        key -> Text,
        request_digest -> Bytea,
        status -> Int4,
        body -> Jsonb,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    apis (id) {
        id -> Uuid,
        org_id -> Uuid,
        scope -> Text,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        org_id -> Nullable<Uuid>,
        actor_user_id -> Nullable<Uuid>,
        actor_email -> Nullable<Text>,
        action -> Text,
        target_type -> Nullable<Text>,
        target_id -> Nullable<Text>,
        target_label -> Nullable<Text>,
        ip -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        details -> Jsonb,
        created_at -> Timestamptz,
        actor_client_id -> Nullable<Text>,
    }
}

diesel::table! {
    client_assertion_jtis (credential_id, jti) {
        credential_id -> Uuid,
        jti -> Text,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    credential_apis (credential_id, api_id) {
        credential_id -> Uuid,
        api_id -> Uuid,
    }
}

diesel::table! {
    credential_keys (id) {
        id -> Uuid,
        credential_id -> Uuid,
        algorithm -> Text,
        jwk -> Jsonb,
        thumbprint -> Text,
        expires_at -> Nullable<Timestamptz>,
        added_by -> Text,
        created_at -> Timestamptz,
        last_used_at -> Nullable<Timestamptz>,
        last_used_ip -> Nullable<Text>,
    }
}

diesel::table! {
    credential_refusals (id) {
        id -> Int8,
        credential_id -> Uuid,
        at -> Timestamptz,
        reason -> Text,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    /// A view (see the hot_path migration): what each credential may use now.
    credential_scopes (credential_id) {
        credential_id -> Uuid,
        scopes -> Array<Text>,
    }
}

diesel::table! {
    credential_usage (credential_id, hour, event) {
        credential_id -> Uuid,
        hour -> Timestamptz,
        event -> Text,
        count -> Int8,
    }
}

diesel::table! {
    credentials (id) {
        id -> Uuid,
        org_id -> Uuid,
        client_id -> Text,
        secret_hash -> Bytea,
        name -> Text,
        description -> Text,
        owner_email -> Text,
        role_id -> Uuid,
        access_level -> Text,
        allowed_ips -> Array<Text>,
        expires_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
        last_used_at -> Nullable<Timestamptz>,
        last_used_ip -> Nullable<Text>,
        created_by -> Nullable<Uuid>,
        created_by_email -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        secret_rotated_at -> Nullable<Timestamptz>,
        creation_key -> Nullable<Uuid>,
        scopes -> Array<Text>,
        secret_version -> Int4,
        secret_last_four -> Nullable<Text>,
        secret_last_used_at -> Nullable<Timestamptz>,
        secret_last_used_ip -> Nullable<Text>,
        secret_uses -> Int8,
        previous_secret_hash -> Nullable<Bytea>,
        previous_secret_last_four -> Nullable<Text>,
        previous_secret_retires_at -> Nullable<Timestamptz>,
        previous_secret_last_used_at -> Nullable<Timestamptz>,
        previous_secret_last_used_ip -> Nullable<Text>,
        previous_secret_uses -> Int8,
        disabled_at -> Nullable<Timestamptz>,
        enabled_at -> Nullable<Timestamptz>,
        rotation_key -> Nullable<Uuid>,
        management_scopes -> Array<Text>,
        disabled_reason -> Nullable<Text>,
        disabled_by -> Nullable<Text>,
        disabled_why -> Nullable<Text>,
        leak_reported_at -> Nullable<Timestamptz>,
        leak_repeat_recorded_at -> Nullable<Timestamptz>,
        stale_exempt -> Bool,
        token_lifetime_seconds -> Int4,
        keys_only -> Bool,
    }
}

diesel::table! {
    limit_windows (kind, subject, network) {
        kind -> Text,
        subject -> Text,
        network -> Cidr,
        started_at -> Timestamptz,
        hits -> Int4,
    }
}

diesel::table! {
    invitations (id) {
        id -> Uuid,
        org_id -> Uuid,
        email -> Text,
        role -> Text,
        token_hash -> Bytea,
        invited_by -> Nullable<Uuid>,
        invited_by_email -> Text,
        sent_at -> Timestamptz,
        expires_at -> Timestamptz,
        emailed_at -> Nullable<Timestamptz>,
        email_error -> Nullable<Text>,
        accepted_at -> Nullable<Timestamptz>,
        accepted_user_id -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    login_attempts (key) {
        key -> Bytea,
        attempts -> Int4,
        window_started_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        lockouts -> Int4,
    }
}

diesel::table! {
    notices (id) {
        id -> Uuid,
        org_id -> Uuid,
        credential_id -> Nullable<Uuid>,
        kind -> Text,
        subject_at -> Timestamptz,
        recipient -> Text,
        subject -> Text,
        body -> Text,
        link_path -> Nullable<Text>,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamptz>,
        abandoned_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    org_policies (org_id) {
        org_id -> Uuid,
        default_lifetime_days -> Nullable<Int4>,
        max_lifetime_days -> Nullable<Int4>,
        expires_soon_days -> Int4,
        stale_after_days -> Int4,
        stale_action -> Text,
        updated_at -> Timestamptz,
        require_two_factor -> Bool,
        max_token_lifetime_seconds -> Int4,
    }
}

diesel::table! {
    organisations (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    recovery_codes (user_id, code_hash) {
        user_id -> Uuid,
        code_hash -> Bytea,
        used_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    role_apis (role_id, api_id) {
        role_id -> Uuid,
        api_id -> Uuid,
    }
}

diesel::table! {
    roles (id) {
        id -> Uuid,
        org_id -> Uuid,
        name -> Text,
        description -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    server_secrets (name) {
        name -> Text,
        value -> Bytea,
    }
}

diesel::table! {
    sessions (key_hash) {
        key_hash -> Bytea,
        user_id -> Nullable<Uuid>,
        state -> Jsonb,
        created_at -> Timestamptz,
        idle_expires_at -> Timestamptz,
        absolute_expires_at -> Timestamptz,
        pending_user_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    setup_tokens (token_hash) {
        token_hash -> Bytea,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    users (id) {
        id -> Uuid,
        org_id -> Uuid,
        email -> Text,
        role -> Text,
        password_hash -> Text,
        disabled -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    token_sweep_progress (id) {
        id -> Bool,
        swept_up_to -> Int8,
    }
}

diesel::table! {
    user_two_factor (user_id) {
        user_id -> Uuid,
        sealed_key -> Bytea,
        enabled_at -> Nullable<Timestamptz>,
        last_used_step -> Nullable<Int8>,
        created_at -> Timestamptz,
        failed_codes -> Int4,
        alerted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_attempts (id) {
        id -> Int8,
        delivery_id -> Uuid,
        attempted_at -> Timestamptz,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        duration_ms -> Int4,
        response_body -> Nullable<Text>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Uuid,
        endpoint_id -> Uuid,
        org_id -> Uuid,
        event -> Text,
        credential_id -> Nullable<Uuid>,
        payload -> Jsonb,
        dedup_key -> Text,
        status -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        claim -> Nullable<Uuid>,
        first_attempt_at -> Nullable<Timestamptz>,
        last_attempt_at -> Nullable<Timestamptz>,
        last_status_code -> Nullable<Int4>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamptz>,
        failed_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Uuid,
        org_id -> Uuid,
        url -> Text,
        // Never NULL elements (checked by the migration).
        events -> Array<Text>,
        enabled -> Bool,
        secret_sealed -> Bytea,
        secret_rotated_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

// No foreign key any more (lock_free_issuance migration), but still the join of every lookup.
diesel::joinable!(access_tokens -> credentials (credential_id));
diesel::joinable!(apis -> organisations (org_id));
diesel::joinable!(client_assertion_jtis -> credentials (credential_id));
diesel::joinable!(credential_apis -> apis (api_id));
diesel::joinable!(credential_apis -> credentials (credential_id));
diesel::joinable!(credential_keys -> credentials (credential_id));
diesel::joinable!(credential_refusals -> credentials (credential_id));
diesel::joinable!(credential_scopes -> credentials (credential_id));
diesel::joinable!(credential_usage -> credentials (credential_id));
diesel::joinable!(credentials -> organisations (org_id));
diesel::joinable!(credentials -> roles (role_id));
diesel::joinable!(invitations -> organisations (org_id));
diesel::joinable!(notices -> credentials (credential_id));
diesel::joinable!(notices -> organisations (org_id));
diesel::joinable!(org_policies -> organisations (org_id));
diesel::joinable!(recovery_codes -> user_two_factor (user_id));
diesel::joinable!(role_apis -> apis (api_id));
diesel::joinable!(role_apis -> roles (role_id));
diesel::joinable!(roles -> organisations (org_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(user_two_factor -> users (user_id));
diesel::joinable!(users -> organisations (org_id));
diesel::joinable!(webhook_attempts -> webhook_deliveries (delivery_id));
diesel::joinable!(webhook_deliveries -> organisations (org_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(webhook_endpoints -> organisations (org_id));

diesel::allow_tables_to_appear_in_same_query!(
    access_tokens,
    api_idempotency_keys,
    apis,
    audit_events,
    client_assertion_jtis,
    credential_apis,
    credential_keys,
    credential_refusals,
    credential_scopes,
    credential_usage,
    credentials,
    invitations,
    limit_windows,
    login_attempts,
    notices,
    org_policies,
    organisations,
    recovery_codes,
    role_apis,
    roles,
    server_secrets,
    sessions,
    setup_tokens,
    token_sweep_progress,
    user_two_factor,
    users,
    webhook_attempts,
    webhook_deliveries,
    webhook_endpoints,
);

diesel::define_sql_function! {
    /// Whether a caller at `ip` may use a credential with the `allowed` list (the
    /// lock_free_issuance migration; the allow-list rule lives there only).
    fn ip_allowed(ip: diesel::sql_types::Nullable<diesel::sql_types::Text>, allowed: diesel::sql_types::Array<diesel::sql_types::Text>) -> diesel::sql_types::Bool;
}

diesel::define_sql_function! {
    /// Whether a token of `token_version` is of a live secret at `at` (the secret_rotation
    /// migration; the rule lives there only).
    fn secret_version_live(token_version: diesel::sql_types::Integer, current_version: diesel::sql_types::Integer, previous_retires_at: diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>, at: diesel::sql_types::Timestamptz) -> diesel::sql_types::Bool;
}
