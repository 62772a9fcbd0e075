//! Subcommands other than `serve`: `migrate` and `create-user` (automation and tests).

use std::io::BufRead;

use secrecy::SecretString;

use crate::clock::Clock;
use crate::config::Settings;
use crate::db;
use crate::db::models::user::{StaffRole, User};
use crate::domain_error::DomainError;
use crate::forms::{self, FieldErrors};
use crate::input::Lines;
use crate::staff::{accounts, password};

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
    let (user, org) = accounts::create_from_command_line(&mut conn, &org, &email, role, &hash, now)
        .await
        .map_err(|e| match e {
            DomainError::Invalid(errors) => errors.iter().next().map_or_else(
                || anyhow::anyhow!("invalid input"),
                |(field, message)| anyhow::anyhow!("--{field}: {message}"),
            ),
            other => anyhow::anyhow!(other),
        })?;
    println!(
        "created {} ({}) in organisation {}",
        user.email,
        role.label(),
        org.name
    );
    Ok(())
}
