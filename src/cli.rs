//! Subcommands other than `serve`: `migrate` and `create-user` (automation and tests).

use std::io::BufRead;

use secrecy::SecretString;

use crate::audit::Record;
use crate::client_ip::RequestMeta;
use crate::clock::Clock;
use crate::config::Settings;
use crate::db;
use crate::db::ids::UserId;
use crate::db::models::audit_event::NewAuditEvent;
use crate::db::models::organisation::Organisation;
use crate::db::models::user::{NewUser, StaffRole, User};
use crate::forms::{self, FieldErrors};
use crate::input::Lines;
use crate::staff::password;

pub async fn migrate(settings: &Settings) -> Result<(), anyhow::Error> {
    db::prepare(&settings.database_url).await?;
    println!(
        "database {} is up to date",
        settings.database_url.database_name()
    );
    Ok(())
}

/// Creates a staff user (and the organisation, when new) with a password read from stdin.
pub async fn create_user(
    settings: &Settings,
    org: &str,
    email: &str,
    role: StaffRole,
) -> Result<(), anyhow::Error> {
    let mut errors = FieldErrors::default();
    let org = forms::text(&mut errors, "org", org, true, 100, Lines::Single);
    let email = forms::email(&mut errors, "email", email);
    if let Some((field, message)) = errors.iter().next() {
        anyhow::bail!("--{field}: {message}");
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let password = SecretString::from(line.trim_end_matches(['\r', '\n']).to_string());
    let context = password::PasswordContext {
        email: &email,
        org_name: &org,
    };
    password::validate_new_password(&password, context)
        .map_err(|m| anyhow::anyhow!("password: {m}"))?;

    db::prepare(&settings.database_url).await?;
    let pool = db::pool(&settings.database_url, 1)?;
    let mut conn = pool.get().await?;
    if User::find_by_email(&mut conn, &email).await?.is_some() {
        anyhow::bail!("--email: a user with this email already exists");
    }
    let hash =
        password::hash_password(password::Argon2Pool::new(1).slot().await?, password).await?;
    let now = Clock::system().now();
    let org = match Organisation::find_by_name(&mut conn, &org).await? {
        Some(existing) => existing,
        None => Organisation::create(&mut conn, &org, now).await?,
    };
    let user = User::insert(
        &mut conn,
        &NewUser {
            id: UserId::new_random(),
            org_id: org.id,
            email: &email,
            role,
            password_hash: &hash,
            created_at: now,
            updated_at: now,
        },
    )
    .await?;
    db::models::setup_token::delete_all(&mut conn).await?;
    NewAuditEvent::new("user.created", &RequestMeta::default(), now)
        .org(org.id)
        .actor_email("command line")
        .target("user", user.id, &user.email)
        .details(serde_json::json!({ "role": role.as_str() }))
        .record(&mut conn)
        .await?;
    println!(
        "created {} ({}) in organisation {}",
        user.email,
        role.label(),
        org.name
    );
    Ok(())
}
