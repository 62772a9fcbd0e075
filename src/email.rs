//! Sends the server's emails over SMTP (lettre): plain text, one recipient per message, with
//! a timeout so a stuck server holds a delivery for seconds, not forever.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::SmtpSettings;

const TIMEOUT: Duration = Duration::from_secs(10);

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    server: String,
}

/// Why a message was not sent.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The server refused for good (5xx), or the message cannot be built: retrying is futile.
    #[error("{0}")]
    Permanent(String),
    /// Anything else (unreachable, 4xx, timeout): worth another try later.
    #[error("{0}")]
    Transient(String),
}

impl Mailer {
    pub fn new(settings: &SmtpSettings) -> Result<Self, String> {
        // The URL carries the SMTP password: its parse error is not repeated.
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.expose_url())
            .map_err(|_| format!("SMTP_URL for {} is not usable", settings.server()))?
            .timeout(Some(TIMEOUT))
            .build();
        Ok(Self {
            transport,
            from: settings.from.clone(),
            server: settings.server(),
        })
    }

    /// Host and port of the SMTP server, for log lines.
    pub fn server(&self) -> &str {
        &self.server
    }

    pub async fn send(&self, to: &str, subject: &str, body: &str) -> Result<(), SendError> {
        let to: Mailbox = to
            .parse()
            .map_err(|_| SendError::Permanent("the recipient's address is not valid".into()))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .header(ContentType::TEXT_PLAIN)
            .body(body.to_string())
            .map_err(|e| SendError::Permanent(format!("cannot build the message: {e}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
            Err(e) => Err(SendError::Transient(e.to_string())),
        }
    }
}
