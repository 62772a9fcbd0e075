//! The `m2m-console` binary: `serve` (default), `migrate`, `create-user`.

use clap::{Parser, Subcommand};

use m2m_console::clock::Clock;
use m2m_console::config::Settings;
use m2m_console::db::models::user::StaffRole;
use m2m_console::startup::Application;
use m2m_console::{cli, telemetry};

#[derive(Parser)]
#[command(
    version,
    about = "Machine-to-machine API credentials console and OAuth 2.0 server"
)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve,
    /// Create the database if needed and apply pending migrations, then exit.
    Migrate,
    /// Create a staff user, and the organisation if it is new; reads the password from stdin.
    CreateUser {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// super-admin, admin or viewer
        #[arg(long)]
        role: StaffRole,
        /// Read the password from the first line of standard input (required).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
}

#[tokio::main]
async fn main() {
    m2m_console::memory::return_large_blocks_to_the_system();
    let args = Args::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(e) => exit_with(&e.to_string()),
    };
    telemetry::init(settings.log_format, std::io::stderr);

    let result = match args.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => cli::migrate(&settings).await,
        Command::CreateUser {
            org, email, role, ..
        } => cli::create_user(&settings, &org, &email, role).await,
    };
    if let Err(e) = result {
        exit_with(&e.to_string());
    }
}

async fn serve(settings: Settings) -> Result<(), anyhow::Error> {
    let public_url = settings.public_url.clone();
    let app = Application::build(settings, Clock::system()).await?;
    if let Some(link) = &app.setup_link {
        println!(
            "No users yet. Open this one-time link to create the first organisation and its Super Admin:\n  {link}"
        );
    }
    println!(
        "m2m-console listening on {public_url} (port {})",
        app.port()
    );
    app.run_until_stopped().await?;
    Ok(())
}

fn exit_with(message: &str) -> ! {
    eprintln!("m2m-console: {message}");
    std::process::exit(1);
}
