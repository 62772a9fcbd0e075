//! Settings read from the environment once at start. Every variable has a documented default;
//! a bad value becomes one line naming the variable, never a panic.

use std::fmt;
use std::net::SocketAddr;

use chrono::Duration;
use ipnet::IpNet;
use url::Url;

use crate::sealed::DataKey;

mod database_url;
pub use database_url::DatabaseUrl;

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/m2m_console";
pub const DEFAULT_BIND_ADDR: &str = "127.0.0.1:8080";
/// Introspections and revocations per calling credential and minute unless configured: 100 a
/// second, far above what a resource server checking each request of one integration needs.
pub const DEFAULT_INTROSPECTION_RATE_LIMIT: i64 = 6000;

#[derive(Debug, Clone)]
pub struct Settings {
    pub database_url: DatabaseUrl,
    pub bind_addr: SocketAddr,
    /// Where `/metrics` is served (`METRICS_ADDR`); `None`, the default: nowhere.
    pub metrics_addr: Option<SocketAddr>,
    /// The address people and integrations use; decides cookie hardening and the OAuth issuer.
    pub public_url: Url,
    pub session_idle: Duration,
    pub session_absolute: Duration,
    pub log_format: LogFormat,
    /// Peers whose `X-Forwarded-For` is believed (reverse proxies, load balancers).
    pub trusted_proxies: Vec<IpNet>,
    /// Password hashes computed at once (each takes 19 MiB and a core); sign-ins beyond it
    /// are told to retry at once.
    pub argon2_slots: usize,
    /// Where email goes (`SMTP_URL`, `SMTP_FROM`); `None`: email is off.
    pub smtp: Option<SmtpSettings>,
    /// How often each instance runs the background jobs (`JOB_INTERVAL_SECONDS`).
    pub job_interval: std::time::Duration,
    /// How often counted usage is written (`USAGE_FLUSH_SECONDS`, default 5): what a crash
    /// can lose.
    pub usage_flush: std::time::Duration,
    /// Management API requests each calling credential may make per minute and instance
    /// (`API_RATE_LIMIT_PER_MINUTE`, default 600).
    pub api_rate_limit: u32,
    /// Introspections and revocations each calling credential may make per minute, counted
    /// by every instance together (`INTROSPECTION_RATE_LIMIT_PER_MINUTE`, default 6000).
    pub introspection_rate_limit: u32,
    /// The key that seals secrets kept at rest (`DATA_KEY`); `None`: a key kept in the
    /// database (see `sealed`).
    pub data_key: Option<DataKey>,
    pub webhooks: WebhookSettings,
    /// How long a stopping instance reports not ready while still serving (`DRAIN_SECONDS`,
    /// default 5): long enough for a load balancer's health check to notice.
    pub drain: std::time::Duration,
}

/// How webhooks are registered and delivered.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// `http://` endpoints are accepted (`WEBHOOK_ALLOW_INSECURE`; for local testing).
    pub allow_insecure: bool,
    /// Endpoints may resolve to loopback, private, link-local and other internal addresses
    /// (`WEBHOOK_ALLOW_PRIVATE`; for local testing). Off, the server refuses to reach them.
    pub allow_private: bool,
    /// How often each instance looks for deliveries that are due (`WEBHOOK_POLL_MILLISECONDS`).
    pub poll: std::time::Duration,
}

/// The SMTP server and the sender of every email. The URL may carry a password: it is only
/// handed to the mailer, never shown.
#[derive(Clone)]
pub struct SmtpSettings {
    url: Url,
    pub from: lettre::message::Mailbox,
}

impl SmtpSettings {
    pub fn parse(url: &str, from: Option<&str>) -> Result<Self, ConfigError> {
        let url_error = || ConfigError {
            var: "SMTP_URL",
            message: "expected smtp://[user:password@]host[:port][?tls=required] or smtps://…"
                .into(),
        };
        let url = Url::parse(url.trim()).map_err(|_| url_error())?;
        if !matches!(url.scheme(), "smtp" | "smtps") || url.host_str().is_none_or(str::is_empty) {
            return Err(url_error());
        }
        let from = from.ok_or_else(|| ConfigError {
            var: "SMTP_FROM",
            message: "required when SMTP_URL is set, such as \"API console <noreply@example.com>\""
                .into(),
        })?;
        let from = from.trim().parse().map_err(|_| ConfigError {
            var: "SMTP_FROM",
            message: "expected an address such as noreply@example.com or \"Name <addr>\"".into(),
        })?;
        Ok(Self { url, from })
    }

    /// The URL, password included: only for building the transport.
    pub fn expose_url(&self) -> &str {
        self.url.as_str()
    }

    /// Host and port, for log lines.
    pub fn server(&self) -> String {
        let host = self.url.host_str().unwrap_or_default();
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        }
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("server", &self.server())
            .field("from", &self.from.to_string())
            .finish()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// One bad variable: rendered as `NAME: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` so tests need not touch the process environment.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &'static str| lookup(name).filter(|v| !v.trim().is_empty());

        let database_url = DatabaseUrl::parse(
            var("DATABASE_URL")
                .as_deref()
                .unwrap_or(DEFAULT_DATABASE_URL),
        )
        .map_err(|message| ConfigError {
            var: "DATABASE_URL",
            message,
        })?;

        let bind_addr: SocketAddr = var("BIND_ADDR")
            .as_deref()
            .unwrap_or(DEFAULT_BIND_ADDR)
            .trim()
            .parse()
            .map_err(|_| ConfigError {
                var: "BIND_ADDR",
                message: "expected HOST:PORT with an IP address, such as 127.0.0.1:8080".into(),
            })?;

        let public_url = match var("PUBLIC_URL") {
            Some(raw) => parse_public_url(&raw)?,
            None => parse_public_url(&format!("http://{bind_addr}"))?,
        };

        let session_idle = positive_number(var("SESSION_IDLE_MINUTES"), "SESSION_IDLE_MINUTES", 30)
            .map(Duration::minutes)?;
        let session_absolute =
            positive_number(var("SESSION_ABSOLUTE_HOURS"), "SESSION_ABSOLUTE_HOURS", 12)
                .map(Duration::hours)?;

        let log_format = match var("LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("pretty") => LogFormat::Pretty,
            Some("json") => LogFormat::Json,
            Some(_) => {
                return Err(ConfigError {
                    var: "LOG_FORMAT",
                    message: "expected `pretty` or `json`".into(),
                });
            }
        };

        let trusted_proxies = match var("TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => parse_networks(&raw).map_err(|message| ConfigError {
                var: "TRUSTED_PROXIES",
                message,
            })?,
        };

        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        let argon2_slots = positive_number(var("ARGON2_SLOTS"), "ARGON2_SLOTS", cores as i64)?
            .clamp(1, 64) as usize;

        let smtp = match var("SMTP_URL") {
            None => None,
            Some(url) => Some(SmtpSettings::parse(&url, var("SMTP_FROM").as_deref())?),
        };
        let job_interval = positive_number(var("JOB_INTERVAL_SECONDS"), "JOB_INTERVAL_SECONDS", 60)
            .map(|s| std::time::Duration::from_secs(s.unsigned_abs()))?;

        let metrics_addr = match var("METRICS_ADDR") {
            None => None,
            Some(raw) => Some(raw.trim().parse().map_err(|_| ConfigError {
                var: "METRICS_ADDR",
                message: "expected HOST:PORT with an IP address, such as 127.0.0.1:9100".into(),
            })?),
        };
        let usage_flush = positive_number(var("USAGE_FLUSH_SECONDS"), "USAGE_FLUSH_SECONDS", 5)
            .map(|s| std::time::Duration::from_secs(s.unsigned_abs()))?;
        let api_rate_limit = positive_number(
            var("API_RATE_LIMIT_PER_MINUTE"),
            "API_RATE_LIMIT_PER_MINUTE",
            600,
        )
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))?;
        let introspection_rate_limit = positive_number(
            var("INTROSPECTION_RATE_LIMIT_PER_MINUTE"),
            "INTROSPECTION_RATE_LIMIT_PER_MINUTE",
            DEFAULT_INTROSPECTION_RATE_LIMIT,
        )
        .map(|n| u32::try_from(n).unwrap_or(u32::MAX))?;

        let data_key = match var("DATA_KEY") {
            None => None,
            Some(raw) => Some(DataKey::from_base64(&raw).map_err(|message| ConfigError {
                var: "DATA_KEY",
                message,
            })?),
        };
        let webhooks = WebhookSettings {
            allow_insecure: flag(var("WEBHOOK_ALLOW_INSECURE"), "WEBHOOK_ALLOW_INSECURE")?,
            allow_private: flag(var("WEBHOOK_ALLOW_PRIVATE"), "WEBHOOK_ALLOW_PRIVATE")?,
            poll: positive_number(
                var("WEBHOOK_POLL_MILLISECONDS"),
                "WEBHOOK_POLL_MILLISECONDS",
                1000,
            )
            .map(|ms| std::time::Duration::from_millis(ms.unsigned_abs()))?,
        };

        let drain = match var("DRAIN_SECONDS") {
            None => std::time::Duration::from_secs(5),
            Some(raw) => match raw.trim().parse::<u64>() {
                Ok(secs) if secs <= 3600 => std::time::Duration::from_secs(secs),
                _ => {
                    return Err(ConfigError {
                        var: "DRAIN_SECONDS",
                        message: format!("expected a whole number from 0 to 3600, got {raw:?}"),
                    });
                }
            },
        };

        Ok(Self {
            database_url,
            bind_addr,
            metrics_addr,
            public_url,
            session_idle,
            session_absolute,
            log_format,
            trusted_proxies,
            argon2_slots,
            smtp,
            job_interval,
            usage_flush,
            api_rate_limit,
            introspection_rate_limit,
            data_key,
            webhooks,
            drain,
        })
    }

    /// The OAuth issuer identifier: `PUBLIC_URL` without a trailing slash (RFC 8414).
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// Cookies get `Secure` and the `__Host-` prefix only when people reach us over https.
    pub fn is_https(&self) -> bool {
        self.public_url.scheme() == "https"
    }
}

fn parse_public_url(raw: &str) -> Result<Url, ConfigError> {
    let err = |message: &str| ConfigError {
        var: "PUBLIC_URL",
        message: message.into(),
    };
    let url = Url::parse(raw.trim()).map_err(|_| err("expected an absolute http(s) URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(err("expected an absolute http(s) URL"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(err("must not carry a query or fragment"));
    }
    Ok(url)
}

fn positive_number(
    raw: Option<String>,
    var: &'static str,
    default: i64,
) -> Result<i64, ConfigError> {
    let Some(raw) = raw else { return Ok(default) };
    match raw.trim().parse::<i64>() {
        Ok(n) if (1..=1_000_000).contains(&n) => Ok(n),
        _ => Err(ConfigError {
            var,
            message: format!("expected a whole number from 1 to 1000000, got {raw:?}"),
        }),
    }
}

/// `true` or `false` (also `1`/`0`, `yes`/`no`); unset is `false`.
fn flag(raw: Option<String>, var: &'static str) -> Result<bool, ConfigError> {
    let Some(raw) = raw else { return Ok(false) };
    match raw.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(ConfigError {
            var,
            message: format!("expected true or false, got {raw:?}"),
        }),
    }
}

/// Comma- or whitespace-separated addresses and CIDR blocks; a bare address is a /32 or /128.
fn parse_networks(raw: &str) -> Result<Vec<IpNet>, String> {
    raw.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<IpNet>()
                .map(|net| net.trunc())
                .or_else(|_| part.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| format!("{part:?} is not an IP address or CIDR block"))
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.database_url.to_string(), DEFAULT_DATABASE_URL);
        assert_eq!(s.bind_addr.to_string(), DEFAULT_BIND_ADDR);
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:8080/");
        assert_eq!(s.session_idle, Duration::minutes(30));
        assert_eq!(s.session_absolute, Duration::hours(12));
        assert_eq!(s.log_format, LogFormat::Pretty);
        assert!(!s.is_https());
    }

    #[test]
    fn bad_values_name_their_variable() {
        for (var, value) in [
            ("DATABASE_URL", "mysql://x/y"),
            ("BIND_ADDR", "localhost"),
            ("PUBLIC_URL", "ftp://x"),
            ("SESSION_IDLE_MINUTES", "0"),
            ("SESSION_ABSOLUTE_HOURS", "twelve"),
            ("LOG_FORMAT", "xml"),
            ("TRUSTED_PROXIES", "10.0.0.0/33"),
            ("SMTP_URL", "http://mail.example.com"),
            ("SMTP_URL", "smtp://"),
            ("JOB_INTERVAL_SECONDS", "0"),
            ("DATA_KEY", "c2hvcnQ="),
            ("WEBHOOK_ALLOW_PRIVATE", "maybe"),
            ("WEBHOOK_POLL_MILLISECONDS", "0"),
            ("DRAIN_SECONDS", "-1"),
            ("DRAIN_SECONDS", "soon"),
            ("DATABASE_URL", "postgres://u@h1:5432,h2:x/db"),
        ] {
            let err = settings(&[(var, value)]).unwrap_err();
            assert_eq!(err.var, var);
            assert!(err.to_string().starts_with(&format!("{var}: ")));
        }
    }

    #[test]
    fn email_needs_a_sender_and_never_shows_the_smtp_password() {
        assert!(
            settings(&[]).unwrap().smtp.is_none(),
            "email is off by default"
        );
        let err = settings(&[("SMTP_URL", "smtp://mail:2525")]).unwrap_err();
        assert_eq!(err.var, "SMTP_FROM");
        let err = settings(&[
            ("SMTP_URL", "smtp://m:2525"),
            ("SMTP_FROM", "not an address"),
        ]);
        assert_eq!(err.unwrap_err().var, "SMTP_FROM");
        let s = settings(&[
            (
                "SMTP_URL",
                "smtp://relay:hunter2@mail.example.com:587?tls=required",
            ),
            ("SMTP_FROM", "API console <noreply@example.com>"),
        ])
        .unwrap();
        let smtp = s.smtp.unwrap();
        assert_eq!(smtp.server(), "mail.example.com:587");
        assert!(!format!("{smtp:?}").contains("hunter2"));
        assert_eq!(smtp.from.email.to_string(), "noreply@example.com");
    }

    #[test]
    fn the_data_key_is_read_and_never_shown() {
        use base64::Engine;
        assert!(settings(&[]).unwrap().data_key.is_none());
        let raw = base64::engine::general_purpose::STANDARD.encode([9u8; 32]);
        let s = settings(&[("DATA_KEY", &raw)]).unwrap();
        assert_eq!(s.data_key.as_ref().unwrap().as_bytes(), &[9u8; 32]);
        assert!(!format!("{s:?}").contains(&raw));
        let err = settings(&[("DATA_KEY", "not base64")]).unwrap_err();
        assert!(!err.to_string().contains('\n'), "one line: {err}");
    }

    #[test]
    fn webhook_settings_default_to_safe() {
        let w = settings(&[]).unwrap().webhooks;
        assert!(!w.allow_insecure && !w.allow_private);
        assert_eq!(w.poll, std::time::Duration::from_secs(1));
        let w = settings(&[
            ("WEBHOOK_ALLOW_INSECURE", "true"),
            ("WEBHOOK_ALLOW_PRIVATE", "1"),
            ("WEBHOOK_POLL_MILLISECONDS", "50"),
        ])
        .unwrap()
        .webhooks;
        assert!(w.allow_insecure && w.allow_private);
        assert_eq!(w.poll, std::time::Duration::from_millis(50));
    }

    #[test]
    fn the_drain_defaults_to_five_seconds_and_may_be_zero() {
        assert_eq!(
            settings(&[]).unwrap().drain,
            std::time::Duration::from_secs(5)
        );
        let s = settings(&[("DRAIN_SECONDS", "0")]).unwrap();
        assert_eq!(s.drain, std::time::Duration::ZERO);
    }

    #[test]
    fn database_url_takes_several_hosts_in_either_form() {
        for raw in [
            "postgres://app@db1:5432,db2:5432/m2m?target_session_attrs=read-write",
            "host=db1,db2 port=5432,5432 dbname=m2m user=app target_session_attrs=read-write",
        ] {
            let s = settings(&[("DATABASE_URL", raw)]).unwrap();
            assert_eq!(s.database_url.hosts(), ["db1", "db2"]);
            assert_eq!(s.database_url.database_name(), "m2m");
        }
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_blocks() {
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.1, 192.168.0.0/16 ::1")]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 3);
    }
}
