//! Builds the application: database, pool, middleware and routes. `main` and the tests both
//! go through `Application::build`, so tests exercise exactly what production runs.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::cookie::{Key, SameSite};
use actix_web::dev::Server;
use actix_web::middleware::{DefaultHeaders, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use tracing_actix_web::TracingLogger;

use crate::app_state::Readiness;
use crate::app_state::{AppState, WorkerPool};
use crate::auth::{csrf, setup};
use crate::clock::Clock;
use crate::config::Settings;
use crate::db::models::limit_window::LimitKind;
use crate::db::{self, DbPool};
use crate::email::Mailer;
use crate::error::error_pages;
use crate::metrics::{self, Metrics};
use crate::oauth::batch_queue::Batches;
use crate::oauth::bearer::BearerChecks;
use crate::oauth::introspect_batch::IntrospectionBatches;
use crate::oauth::state::OAuthState;
use crate::oauth::token_batch::TokenBatches;
use crate::random;
use crate::rate_limit::WindowLimiter;
use crate::sealed::{self, DataKey, Sealer};
use crate::security_headers::security_headers;
use crate::session_store::PgSessionStore;
use crate::shutdown::{self, Stopper};
use crate::staff::password;
use crate::telemetry::RequestSpan;
use crate::{jobs, routes};

/// Connections per instance for the console, the management API and the background jobs.
const POOL_SIZE: usize = 16;
/// Connections per instance for the machine side's hot path (token, introspection,
/// revocation, bearer checks), split between the worker threads: enough concurrent commits
/// for PostgreSQL to group them while 2 cores are busy.
const MACHINE_POOL_SIZE: usize = 16;
/// Largest console form body read (actix's default is 256 KiB).
const CONSOLE_BODY_LIMIT: usize = 1024 * 1024;
/// Leak report requests per address and minute (each may hold many reports).
const LEAK_REPORTS_PER_MINUTE: u32 = 30;
/// How long requests in flight may take to finish once the listener stops accepting.
const IN_FLIGHT_GRACE_SECS: u64 = 10;
/// How long background jobs may take to finish the batch they are in at shutdown.
const JOBS_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] db::StartupDbError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The metrics listener and its port, when `METRICS_ADDR` is set.
    metrics: Option<(u16, Server)>,
    jobs: jobs::Jobs,
    stopper: Stopper,
    /// The first-run link, when the database has no users yet.
    pub setup_link: Option<String>,
}

impl Application {
    pub async fn build(settings: Settings, clock: Clock) -> Result<Self, StartupError> {
        crate::tls::install_crypto_provider();
        if settings.database_url.hosts().len() > 1 && !settings.database_url.requires_primary() {
            tracing::warn!(
                "DATABASE_URL names several hosts without target_session_attrs=read-write: \
                 the instance may connect to a standby, whose answers lag and which refuses \
                 writes; add target_session_attrs=read-write"
            );
        }
        db::prepare(&settings.database_url).await?;
        let pool = db::pool(&settings.database_url, POOL_SIZE)
            .map_err(|e| StartupError::Other(e.to_string()))?;
        let cookie_key = cookie_key(&pool).await?;
        let sealer = sealer(&pool, &settings).await?;
        password::warm_up().await;
        let setup_link = setup::issue_link_if_needed(&pool, &settings.public_url, clock.now())
            .await
            .map_err(|e| StartupError::Other(format!("cannot prepare the setup link: {e}")))?;

        let listener =
            TcpListener::bind(settings.bind_addr).map_err(|source| StartupError::Bind {
                addr: settings.bind_addr,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|e| StartupError::Other(e.to_string()))?
            .port();

        let argon2 = password::Argon2Pool::new(settings.argon2_slots);
        let mailer = match &settings.smtp {
            None => {
                tracing::info!(
                    "email is off (SMTP_URL is not set): reminders and alerts are not sent"
                );
                None
            }
            Some(smtp) => Some(Arc::new(Mailer::new(smtp).map_err(StartupError::Other)?)),
        };
        let settings_api_rate_limit = settings.api_rate_limit;
        let introspections_per_minute = settings.introspection_rate_limit;
        let state = web::Data::new(AppState {
            pool: pool.clone(),
            clock: clock.clone(),
            settings: Arc::new(settings),
            oauth: OAuthState::new(
                Metrics::new().map_err(|e| StartupError::Other(format!("metrics: {e}")))?,
                introspections_per_minute,
            ),
            argon2,
            cookie_key: cookie_key.clone(),
            mailer,
            leak_reports: WindowLimiter::new(
                LimitKind::LeakReports,
                LEAK_REPORTS_PER_MINUTE,
                std::time::Duration::from_secs(60),
            ),
            api_calls: WindowLimiter::new(
                LimitKind::ApiCalls,
                settings_api_rate_limit,
                std::time::Duration::from_secs(60),
            ),
            sealer,
            readiness: Readiness::default(),
        });
        let jobs = jobs::spawn(state.clone().into_inner());
        let metrics = match state.settings.metrics_addr {
            None => None,
            Some(addr) => Some(
                metrics_server(addr, state.clone())
                    .map_err(|source| StartupError::Bind { addr, source })?,
            ),
        };
        let settings = state.settings.clone();
        let app_state = state.clone();
        let workers = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
        let worker_pool_size = MACHINE_POOL_SIZE.div_ceil(workers).max(2);
        let server = HttpServer::new(move || {
            // Built in the worker's own thread: its connections are opened, and driven, there.
            let worker_pool =
                db::pool(&settings.database_url, worker_pool_size).unwrap_or_else(|_| pool.clone());
            let store = PgSessionStore::new(
                pool.clone(),
                clock.clone(),
                settings.session_idle,
                settings.session_absolute,
            );
            App::new()
                .app_data(state.clone())
                .app_data(IntrospectionBatches::new(worker_pool.clone()))
                .app_data(Batches::<BearerChecks>::new(worker_pool.clone()))
                .app_data(TokenBatches::new(worker_pool.clone()))
                .app_data(WorkerPool(worker_pool))
                .configure(routes::machine_routes)
                .service(
                    web::scope("")
                        // Forms with long descriptions and lists of addresses stay far below.
                        .app_data(web::PayloadConfig::new(CONSOLE_BODY_LIMIT))
                        .configure(routes::console_routes)
                        .wrap(from_fn(csrf::verify_csrf))
                        .wrap(session_middleware(store, cookie_key.clone(), &settings))
                        .wrap(from_fn(error_pages))
                        .wrap(DefaultHeaders::new().add(("Cache-Control", "no-store"))),
                )
                .wrap(from_fn(security_headers))
                .wrap(from_fn(shutdown::close_while_draining))
                .wrap(from_fn(metrics::http::observe_latency))
                .wrap(TracingLogger::<RequestSpan>::new())
        })
        .workers(workers)
        // `run` handles the signals: it drains before it stops (see `shutdown`).
        .disable_signals()
        .listen(listener)
        .map_err(|e| StartupError::Other(e.to_string()))?
        .shutdown_timeout(IN_FLIGHT_GRACE_SECS)
        .run();

        Ok(Self {
            port,
            server,
            state: app_state,
            metrics,
            jobs,
            stopper: Stopper::default(),
            setup_link,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What every handler shares: tests flush its usage counter and run its jobs' steps.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// The metrics listener's port, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics.as_ref().map(|(port, _)| *port)
    }

    /// Starts the shutdown sequence of `run` (tests stop an instance with it).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// Serves until SIGTERM or SIGINT, then stops as `run` says.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stopper = self.stopper();
        // A second signal cuts the drain short (an impatient Ctrl-C).
        let signal = tokio::spawn(async move {
            loop {
                shutdown::os_signal().await;
                stopper.stop();
            }
        });
        let result = self.run().await;
        signal.abort();
        result
    }

    /// Serves until the stopper fires, then: reports not ready for `DRAIN_SECONDS` while still
    /// serving, stops accepting and finishes the requests in flight, stops the background jobs
    /// (a batch under way finishes), and writes the usage counted in memory.
    pub async fn run(self) -> std::io::Result<()> {
        let Self {
            server,
            state,
            metrics,
            jobs,
            stopper,
            ..
        } = self;
        let handles: Vec<_> = std::iter::once(server.handle())
            .chain(metrics.as_ref().map(|(_, m)| m.handle()))
            .collect();
        let mut serving = tokio::spawn(async move {
            match metrics {
                None => server.await,
                Some((_, metrics)) => tokio::try_join!(server, metrics).map(|_| ()),
            }
        });
        let ended_by_itself = tokio::select! {
            result = &mut serving => Some(result),
            () = stopper.stopped() => None,
        };
        if ended_by_itself.is_none() {
            let drain = state.settings.drain;
            state.readiness.start_draining();
            tracing::info!(
                seconds = drain.as_secs(),
                "draining: /readyz answers 503 while requests are still served"
            );
            tokio::select! {
                () = tokio::time::sleep(drain) => {}
                () = stopper.stopped() => tracing::info!("asked again: the drain is cut short"),
            }
            tracing::info!("no longer accepting; finishing the requests in flight");
            for handle in &handles {
                handle.stop(true).await;
            }
        }
        let result = match ended_by_itself {
            Some(result) => result,
            None => serving.await,
        }
        .map_err(std::io::Error::other)
        .and_then(|served| served);
        jobs.stop(JOBS_GRACE).await;
        write_counted_usage(&state).await;
        tracing::info!("stopped");
        result
    }
}

/// The last flush of the usage counted in memory, once no request can add to it.
async fn write_counted_usage(state: &AppState) {
    let written = match state.pool.get().await {
        Ok(mut conn) => crate::usage::flush::flush(&state.oauth.usage, &mut conn)
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(error) = written {
        tracing::error!(%error, "could not write the usage counted since the last flush; it is lost");
    }
}

/// `GET /metrics` on a listener of its own: the Prometheus text format, nothing else.
fn metrics_server(
    addr: std::net::SocketAddr,
    state: web::Data<AppState>,
) -> std::io::Result<(u16, Server)> {
    let listener = TcpListener::bind(addr)?;
    let port = listener.local_addr()?.port();
    tracing::info!(%addr, "metrics are served on /metrics");
    let server = HttpServer::new(move || {
        App::new().app_data(state.clone()).route(
            "/metrics",
            web::get().to(async |state: web::Data<AppState>| {
                HttpResponse::Ok()
                    .content_type("text/plain; version=0.0.4; charset=utf-8")
                    .insert_header(("Cache-Control", "no-store"))
                    .body(state.oauth.metrics.render(&state.pool))
            }),
        )
    })
    .workers(1)
    .listen(listener)?
    .shutdown_timeout(5)
    .run();
    Ok((port, server))
}

fn session_middleware(
    store: PgSessionStore,
    key: Key,
    settings: &Settings,
) -> SessionMiddleware<PgSessionStore> {
    let https = settings.is_https();
    // `__Host-` makes browsers refuse the cookie unless Secure, path=/ and no Domain.
    let name = if https {
        "__Host-m2m_session"
    } else {
        "m2m_session"
    };
    let idle = actix_web::cookie::time::Duration::seconds(settings.session_idle.num_seconds());
    SessionMiddleware::builder(store, key)
        .cookie_name(name.to_string())
        .cookie_secure(https)
        .cookie_http_only(true)
        .cookie_same_site(SameSite::Lax)
        .cookie_path("/".to_string())
        // The cookie holds only a random key; signing it is enough.
        .cookie_content_security(CookieContentSecurity::Signed)
        .session_lifecycle(
            BrowserSession::default()
                .state_ttl(idle)
                .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
        )
        .build()
}

/// The cookie-signing key, created by the first instance and shared through the database.
async fn cookie_key(pool: &DbPool) -> Result<Key, StartupError> {
    let candidate = random::os_random::<64>().map_err(|e| StartupError::Other(e.to_string()))?;
    let mut conn = pool
        .get()
        .await
        .map_err(|e| StartupError::Other(format!("database: {e}")))?;
    let bytes = db::models::server_secret::get_or_init(&mut conn, "session_cookie_key", &candidate)
        .await
        .map_err(|e| StartupError::Other(format!("database: {e}")))?;
    Key::try_from(bytes.as_slice()).map_err(|e| StartupError::Other(format!("cookie key: {e}")))
}

/// The key that seals secrets at rest: `DATA_KEY`, or else one created once and kept in the
/// database. With `DATA_KEY` set, a key kept earlier still opens what it sealed.
async fn sealer(pool: &DbPool, settings: &Settings) -> Result<Sealer, StartupError> {
    let db_error = |e: &dyn std::fmt::Display| StartupError::Other(format!("database: {e}"));
    let mut conn = pool.get().await.map_err(|e| db_error(&e))?;
    let stored = db::models::server_secret::find(&mut conn, sealed::FALLBACK_KEY_NAME)
        .await
        .map_err(|e| db_error(&e))?
        .and_then(|bytes| DataKey::from_bytes(&bytes));
    if let Some(key) = &settings.data_key {
        return Ok(Sealer::new(key.clone(), stored.into_iter().collect()));
    }
    let key = match stored {
        Some(key) => key,
        None => {
            let candidate = DataKey::random().map_err(|e| StartupError::Other(e.to_string()))?;
            let bytes = db::models::server_secret::get_or_init(
                &mut conn,
                sealed::FALLBACK_KEY_NAME,
                candidate.as_bytes(),
            )
            .await
            .map_err(|e| db_error(&e))?;
            DataKey::from_bytes(&bytes)
                .ok_or_else(|| StartupError::Other("the stored data key is not 32 bytes".into()))?
        }
    };
    tracing::warn!(
        "DATA_KEY is not set: secrets kept at rest (webhook signing secrets) are sealed with a \
         key stored in the database, so they are only as safe as the database and its backups; \
         see README, \"Secrets at rest\""
    );
    Ok(Sealer::new(key, Vec::new()))
}
