//! The one route table.

use actix_web::body::BoxBody;
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{FromRequest, Handler, Responder, Route, guard, web};

use crate::auth::{invitation, login, setup, two_factor_login};
use crate::console::step_up_gate::{self, StepUp, param};
use crate::console::{
    account, apis, audit, credentials, invitations, policy, roles, sessions, settings, users,
    webhooks,
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

/// One state-changing route of the console, and what "Confirm it's you" does about it.
pub struct Write {
    pub method: Method,
    /// The full path pattern, as registered.
    pub path: String,
    pub step_up: StepUp,
    route: Route,
}

fn write<F, Args>(method: Method, path: impl Into<String>, step_up: StepUp, handler: F) -> Write
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    Write {
        route: web::route().method(method.clone()).to(handler),
        method,
        path: path.into(),
        step_up,
    }
}

fn post<F, Args>(path: impl Into<String>, step_up: StepUp, handler: F) -> Write
where
    F: Handler<Args>,
    Args: FromRequest + 'static,
    F::Output: Responder + 'static,
{
    write(Method::POST, path, step_up, handler)
}

/// Asks first; Cancel leads to the fixed page `$to`.
macro_rules! ask {
    ($what:expr, $to:expr) => {
        StepUp::ask($what, |_| $to.to_string())
    };
}

/// Asks first; Cancel leads to the page `$page` builds from the route's `{id}`.
macro_rules! ask_on {
    ($what:expr, $page:path) => {
        StepUp::ask($what, |path| $page(param(path, "id")))
    };
}

/// Every state-changing route of the console, each with its `StepUp`: deny by default, so
/// each either asks a Super Admin or Admin to confirm it's them, or says why it need not.
/// `console_routes` registers exactly these, each behind `step_up_gate::gate`.
pub fn console_writes() -> Vec<Write> {
    let m2m = |rest: &str| format!("{}{rest}", paths::M2M);
    let users = |rest: &str| format!("{}{rest}", paths::USERS);
    let apis = |rest: &str| format!("{}{rest}", paths::APIS);
    let roles = |rest: &str| format!("{}{rest}", paths::ROLES);
    let webhooks = |rest: &str| format!("{}{rest}", paths::WEBHOOKS);
    let security = paths::account_security_action;
    vec![
        // Signing in and out, and the first run, come before any session to confirm.
        post(
            paths::LOGIN,
            StepUp::Exempt("signing in: the password is the proof"),
            login::login,
        ),
        post(
            paths::LOGIN_CODE,
            StepUp::Exempt("signing in: the password and code are the proof"),
            two_factor_login::submit_code,
        ),
        post(
            paths::LOGOUT,
            StepUp::Exempt("signing out only ends access"),
            login::logout,
        ),
        post(
            paths::SETUP,
            StepUp::Exempt("the first run: no one is signed in, the one-time link is the proof"),
            setup::complete_setup,
        ),
        post(
            paths::INVITATION,
            StepUp::Exempt("accepting an invitation: no one is signed in, its link is the proof"),
            invitation::accept_invitation,
        ),
        // The user's own account.
        post(
            security("setup"),
            ask!("set up two-factor sign-in", paths::ACCOUNT_SECURITY),
            account::start_two_factor_setup,
        ),
        post(
            security("confirm"),
            ask!("turn on two-factor sign-in", paths::ACCOUNT_SECURITY),
            account::confirm_two_factor,
        ),
        post(
            security("recovery-codes"),
            ask!("get new recovery codes", paths::ACCOUNT_SECURITY),
            account::regenerate_recovery_codes,
        ),
        post(
            security("disable"),
            ask!("turn off two-factor sign-in", paths::ACCOUNT_SECURITY),
            account::disable_two_factor,
        ),
        post(
            security("password"),
            StepUp::Exempt("the form asks for the current password itself"),
            account::change_password,
        ),
        post(
            paths::ACCOUNT_SESSIONS_END_OTHERS,
            StepUp::Exempt(
                "only ends access, and must work at once for someone who fears a stolen session",
            ),
            sessions::end_other_sessions,
        ),
        // Credentials.
        post(
            paths::M2M,
            ask!("create credentials and see their secret", paths::M2M),
            credentials::create_credential,
        ),
        post(
            m2m("/{id}"),
            ask_on!("change this credential", paths::credential),
            credentials::update_credential,
        ),
        write(
            Method::DELETE,
            m2m("/{id}"),
            ask_on!("delete this credential", paths::credential),
            credentials::delete_credential,
        ),
        post(
            m2m("/{id}/rotate"),
            ask_on!("rotate this credential's secret", paths::credential),
            credentials::rotate_credential_secret,
        ),
        post(
            m2m("/{id}/retire"),
            ask_on!(
                "retire this credential's previous secret",
                paths::credential
            ),
            credentials::retire_previous_secret,
        ),
        post(
            m2m("/{id}/revoke"),
            ask_on!("revoke this credential", paths::credential),
            credentials::revoke_credential,
        ),
        post(
            m2m("/{id}/disable"),
            ask_on!("disable this credential", paths::credential),
            credentials::disable_credential,
        ),
        post(
            m2m("/{id}/enable"),
            ask_on!("enable this credential", paths::credential),
            credentials::enable_credential,
        ),
        post(
            m2m("/{id}/delete"),
            ask_on!("delete this credential", paths::credential),
            credentials::delete_credential,
        ),
        post(
            m2m("/{id}/token"),
            ask_on!("generate a test access token", paths::credential),
            credentials::generate_token,
        ),
        post(
            m2m("/{id}/stale-exemption"),
            ask_on!(
                "change this credential's exemption from staleness",
                paths::credential
            ),
            credentials::set_stale_exemption,
        ),
        post(
            m2m("/{id}/keys"),
            ask_on!("add a public key to this credential", paths::credential),
            credentials::add_public_key,
        ),
        post(
            m2m("/{id}/keys/{key_id}/remove"),
            ask_on!(
                "remove a public key from this credential",
                paths::credential
            ),
            credentials::remove_public_key,
        ),
        post(
            m2m("/{id}/keys-only"),
            ask_on!(
                "change whether this credential accepts its secret",
                paths::credential
            ),
            credentials::set_keys_only,
        ),
        post(
            m2m("/{id}/tokens/revoke"),
            ask_on!("revoke this credential's access tokens", paths::credential),
            credentials::revoke_all_access_tokens,
        ),
        post(
            m2m("/{id}/tokens/{token_id}/revoke"),
            ask_on!("revoke this access token", paths::credential),
            credentials::revoke_access_token,
        ),
        // Users.
        post(
            paths::USERS,
            ask!("invite a user", paths::USERS),
            invitations::invite_user,
        ),
        post(
            users("/invitations/{id}/resend"),
            ask!("send this invitation again", paths::USERS),
            invitations::resend_invitation,
        ),
        post(
            users("/invitations/{id}/revoke"),
            ask!("revoke this invitation", paths::USERS),
            invitations::revoke_invitation,
        ),
        post(
            users("/{id}/role"),
            ask!("change this user's role", paths::USERS),
            users::change_user_role,
        ),
        post(
            users("/{id}/disable"),
            ask!("disable this user", paths::USERS),
            users::disable_user,
        ),
        post(
            users("/{id}/enable"),
            ask!("enable this user", paths::USERS),
            users::enable_user,
        ),
        post(
            users("/{id}/two-factor/reset"),
            ask!("reset this user's two-factor sign-in", paths::USERS),
            users::reset_user_two_factor,
        ),
        post(
            users("/{id}/sessions/end"),
            ask!("sign this user out everywhere", paths::USERS),
            users::end_user_sessions,
        ),
        // The catalog, roles and the policy.
        post(
            paths::APIS,
            ask!("add an API to the catalog", paths::APIS),
            apis::create_api,
        ),
        post(
            apis("/{id}"),
            ask!("change this API", paths::APIS),
            apis::update_api,
        ),
        post(
            apis("/{id}/delete"),
            ask!("delete this API", paths::APIS),
            apis::delete_api,
        ),
        post(
            paths::ROLES,
            ask!("create a role", paths::ROLES),
            roles::create_role,
        ),
        post(
            roles("/{id}"),
            ask!("change this role", paths::ROLES),
            roles::update_role,
        ),
        post(
            roles("/{id}/delete"),
            ask!("delete this role", paths::ROLES),
            roles::delete_role,
        ),
        post(
            paths::POLICY,
            ask!("change the organisation's policy", paths::POLICY),
            policy::update_policy,
        ),
        // Webhooks.
        post(
            paths::WEBHOOKS,
            ask!("add a webhook endpoint", paths::WEBHOOKS),
            webhooks::create_webhook,
        ),
        post(
            webhooks("/{id}"),
            ask_on!("change this webhook endpoint", paths::webhook),
            webhooks::update_webhook,
        ),
        post(
            webhooks("/{id}/delete"),
            ask_on!("delete this webhook endpoint", paths::webhook),
            webhooks::delete_webhook,
        ),
        post(
            webhooks("/{id}/rotate"),
            ask_on!("rotate this endpoint's signing secret", paths::webhook),
            webhooks::rotate_webhook_secret,
        ),
        post(
            webhooks("/{id}/test"),
            ask_on!("send a test event to this endpoint", paths::webhook),
            webhooks::send_test_webhook,
        ),
        post(
            webhooks("/{id}/deliveries/{delivery}/redeliver"),
            ask_on!("send this delivery again", paths::webhook),
            webhooks::redeliver_webhook,
        ),
    ]
}

/// The console: runs inside the session and CSRF middleware. The state-changing routes
/// come first, from `console_writes`, each behind its step-up gate; a request of another
/// method passes them by for the pages below.
pub fn console_routes(cfg: &mut web::ServiceConfig) {
    for Write {
        method,
        path,
        step_up,
        route,
    } in console_writes()
    {
        cfg.service(
            web::resource(path)
                .guard(guard::Method(method))
                .wrap(from_fn(move |req, next: Next<BoxBody>| {
                    step_up_gate::gate(step_up, req, next)
                }))
                .route(route),
        );
    }
    cfg.route("/", web::get().to(home))
        .route(paths::LOGIN, web::get().to(login::login_form))
        .route(
            paths::LOGIN_CODE,
            web::get().to(two_factor_login::code_form),
        )
        .route(paths::SETUP, web::get().to(setup::setup_form))
        .route(
            paths::INVITATION,
            web::get().to(invitation::invitation_form),
        )
        .route(paths::SETTINGS, web::get().to(settings::settings_index))
        .route(
            paths::ACCOUNT_SECURITY,
            web::get().to(account::show_account_security),
        )
        .route(
            paths::ACCOUNT_SESSIONS,
            web::get().to(sessions::list_account_sessions),
        )
        .route(
            paths::INTEGRATIONS,
            web::get().to(settings::integrations_index),
        )
        .service(
            web::scope(paths::M2M)
                .route("", web::get().to(credentials::list_credentials))
                .route("/new", web::get().to(credentials::new_credential_form))
                .route("/{id}", web::get().to(credentials::show_credential))
                .route(
                    "/{id}/edit",
                    web::get().to(credentials::edit_credential_form),
                )
                .route("/{id}/menu", web::get().to(credentials::credential_menu))
                .route(
                    "/{id}/{action:rotate|revoke|delete|retire|disable|enable}",
                    web::get().to(credentials::confirm_form),
                ),
        )
        .route(paths::USERS, web::get().to(users::list_users))
        .service(
            web::scope(paths::APIS)
                .route("", web::get().to(apis::list_apis))
                .route("/{id}/edit", web::get().to(apis::edit_api_form))
                .route("/{id}/delete", web::get().to(apis::delete_api_form)),
        )
        .service(
            web::scope(paths::ROLES)
                .route("", web::get().to(roles::list_roles))
                .route("/{id}/edit", web::get().to(roles::edit_role_form))
                .route("/{id}/delete", web::get().to(roles::delete_role_form)),
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
        .service(
            web::scope(paths::WEBHOOKS)
                .route("", web::get().to(webhooks::list_webhooks))
                .route("/{id}", web::get().to(webhooks::show_webhook))
                .route("/{id}/edit", web::get().to(webhooks::edit_webhook_form))
                .route(
                    "/{id}/{action:delete|rotate}",
                    web::get().to(webhooks::confirm_webhook_action),
                ),
        );
}

async fn home() -> actix_web::HttpResponse {
    actix_web::HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, paths::M2M))
        .finish()
}
