//! The one route table.

use actix_web::web;

use crate::auth::{login, setup, two_factor_login};
use crate::console::{
    account, apis, audit, credentials, policy, roles, sessions, settings, users, webhooks,
};
use crate::{api, assets, health, oauth, paths};

/// Routes that need no session: probes and static files (and later the OAuth endpoints).
pub fn machine_routes(cfg: &mut web::ServiceConfig) {
    // Their bodies are read, and bounded, by `oauth::form::OAuthForm`.
    let post_only = |path: &str, handler| {
        web::resource(path)
            .route(handler)
            .default_service(web::to(oauth::token::method_not_allowed))
    };
    cfg.service(post_only(
        "/oauth/token",
        web::post().to(oauth::token::issue_token),
    ))
    .service(post_only(
        "/oauth/introspect",
        web::post().to(oauth::introspect::introspect_token),
    ))
    .service(post_only(
        "/oauth/revoke",
        web::post().to(oauth::revoke::revoke_token),
    ))
    .route(
        "/.well-known/oauth-authorization-server",
        web::get().to(oauth::metadata::server_metadata),
    )
    .route("/api/v1/whoami", web::get().to(oauth::bearer::whoami))
    .service(
        web::resource("/api/v1/leaks")
            .app_data(web::PayloadConfig::new(api::leaks::BODY_LIMIT))
            .route(web::post().to(api::leaks::report_leaks))
            .default_service(web::to(oauth::token::method_not_allowed)),
    )
    .configure(api::v1::routes)
    .route("/healthz", web::get().to(health::healthz))
    .route("/readyz", web::get().to(health::readyz))
    .route("/static/{file}", web::get().to(assets::serve_static));
}

/// The console: runs inside the session and CSRF middleware.
pub fn console_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(home))
        .route(paths::LOGIN, web::get().to(login::login_form))
        .route(paths::LOGIN, web::post().to(login::login))
        .route(
            paths::LOGIN_CODE,
            web::get().to(two_factor_login::code_form),
        )
        .route(
            paths::LOGIN_CODE,
            web::post().to(two_factor_login::submit_code),
        )
        .route(paths::LOGOUT, web::post().to(login::logout))
        .route(paths::SETUP, web::get().to(setup::setup_form))
        .route(paths::SETUP, web::post().to(setup::complete_setup))
        .route(paths::SETTINGS, web::get().to(settings::settings_index))
        .service(
            web::scope(paths::ACCOUNT_SECURITY)
                .route("", web::get().to(account::show_account_security))
                .route("/setup", web::post().to(account::start_two_factor_setup))
                .route("/confirm", web::post().to(account::confirm_two_factor))
                .route(
                    "/recovery-codes",
                    web::post().to(account::regenerate_recovery_codes),
                )
                .route("/disable", web::post().to(account::disable_two_factor))
                .route("/password", web::post().to(account::change_password)),
        )
        .route(
            paths::ACCOUNT_SESSIONS,
            web::get().to(sessions::list_account_sessions),
        )
        .route(
            paths::ACCOUNT_SESSIONS_END_OTHERS,
            web::post().to(sessions::end_other_sessions),
        )
        .route(
            paths::INTEGRATIONS,
            web::get().to(settings::integrations_index),
        )
        .service(
            web::scope(paths::M2M)
                .route("", web::get().to(credentials::list_credentials))
                .route("", web::post().to(credentials::create_credential))
                .route("/new", web::get().to(credentials::new_credential_form))
                .route("/{id}", web::get().to(credentials::show_credential))
                .route("/{id}", web::post().to(credentials::update_credential))
                .route("/{id}", web::delete().to(credentials::delete_credential))
                .route(
                    "/{id}/edit",
                    web::get().to(credentials::edit_credential_form),
                )
                .route("/{id}/menu", web::get().to(credentials::credential_menu))
                .route(
                    "/{id}/{action:rotate|revoke|delete|retire|disable|enable}",
                    web::get().to(credentials::confirm_form),
                )
                .route(
                    "/{id}/rotate",
                    web::post().to(credentials::rotate_credential_secret),
                )
                .route(
                    "/{id}/retire",
                    web::post().to(credentials::retire_previous_secret),
                )
                .route(
                    "/{id}/revoke",
                    web::post().to(credentials::revoke_credential),
                )
                .route(
                    "/{id}/disable",
                    web::post().to(credentials::disable_credential),
                )
                .route(
                    "/{id}/enable",
                    web::post().to(credentials::enable_credential),
                )
                .route(
                    "/{id}/delete",
                    web::post().to(credentials::delete_credential),
                )
                .route("/{id}/token", web::post().to(credentials::generate_token))
                .route(
                    "/{id}/stale-exemption",
                    web::post().to(credentials::set_stale_exemption),
                )
                .route(
                    "/{id}/tokens/revoke",
                    web::post().to(credentials::revoke_all_access_tokens),
                )
                .route(
                    "/{id}/tokens/{token_id}/revoke",
                    web::post().to(credentials::revoke_access_token),
                ),
        )
        .service(
            web::scope(paths::USERS)
                .route("", web::get().to(users::list_users))
                .route("", web::post().to(users::create_user))
                .route("/{id}/role", web::post().to(users::change_user_role))
                .route("/{id}/disable", web::post().to(users::disable_user))
                .route("/{id}/enable", web::post().to(users::enable_user))
                .route(
                    "/{id}/two-factor/reset",
                    web::post().to(users::reset_user_two_factor),
                )
                .route(
                    "/{id}/sessions/end",
                    web::post().to(users::end_user_sessions),
                ),
        )
        .service(
            web::scope(paths::APIS)
                .route("", web::get().to(apis::list_apis))
                .route("", web::post().to(apis::create_api))
                .route("/{id}/edit", web::get().to(apis::edit_api_form))
                .route("/{id}", web::post().to(apis::update_api))
                .route("/{id}/delete", web::get().to(apis::delete_api_form))
                .route("/{id}/delete", web::post().to(apis::delete_api)),
        )
        .service(
            web::scope(paths::ROLES)
                .route("", web::get().to(roles::list_roles))
                .route("", web::post().to(roles::create_role))
                .route("/{id}/edit", web::get().to(roles::edit_role_form))
                .route("/{id}", web::post().to(roles::update_role))
                .route("/{id}/delete", web::get().to(roles::delete_role_form))
                .route("/{id}/delete", web::post().to(roles::delete_role)),
        )
        .route(paths::AUDIT, web::get().to(audit::list_audit_events))
        .route(
            paths::AUDIT_EXPORT_CSV,
            web::get().to(audit::export_audit_csv),
        )
        .route(
            paths::AUDIT_EXPORT_NDJSON,
            web::get().to(audit::export_audit_ndjson),
        )
        .route(paths::POLICY, web::get().to(policy::show_policy))
        .route(paths::POLICY, web::post().to(policy::update_policy))
        .service(
            web::scope(paths::WEBHOOKS)
                .route("", web::get().to(webhooks::list_webhooks))
                .route("", web::post().to(webhooks::create_webhook))
                .route("/{id}", web::get().to(webhooks::show_webhook))
                .route("/{id}", web::post().to(webhooks::update_webhook))
                .route("/{id}/edit", web::get().to(webhooks::edit_webhook_form))
                .route(
                    "/{id}/{action:delete|rotate}",
                    web::get().to(webhooks::confirm_webhook_action),
                )
                .route("/{id}/delete", web::post().to(webhooks::delete_webhook))
                .route(
                    "/{id}/rotate",
                    web::post().to(webhooks::rotate_webhook_secret),
                )
                .route(
                    "/{id}/deliveries/{delivery}/redeliver",
                    web::post().to(webhooks::redeliver_webhook),
                ),
        );
}

async fn home() -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, paths::M2M))
        .finish()
}
