//! Structured logs: pretty for people, JSON for machines. Every request gets a span with a
//! request id, method, path (never the query string, which could carry a setup token) and
//! status. Secrets, tokens, passwords and cookies are never recorded.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init<W>(format: LogFormat, writer: W)
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
    log_panics();
}

/// A panic (none should be reachable from a request) goes to the log with its location, as
/// well as to stderr, so that it is seen where the rest of the server's story is told.
fn log_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            tracing::error!(panic = %info, "a thread panicked");
            previous(info);
        }));
    });
}

pub struct RequestSpan;

struct Started(Instant);

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        request.extensions_mut().insert(Started(Instant::now()));
        tracing::info_span!(
            "request",
            request_id = %request_id,
            method = %request.method(),
            path = %request.path(),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        let _entered = span.enter();
        match outcome {
            Ok(res) => {
                let status = res.status().as_u16();
                span.record("status", status);
                let elapsed_ms = res
                    .request()
                    .extensions()
                    .get::<Started>()
                    .map(|s| s.0.elapsed().as_secs_f64() * 1000.0)
                    .unwrap_or_default();
                if status >= 500 {
                    tracing::warn!(status, elapsed_ms, "request failed");
                } else {
                    tracing::debug!(status, elapsed_ms, "request finished");
                }
            }
            Err(e) => {
                let status = e.as_response_error().status_code().as_u16();
                span.record("status", status);
                tracing::warn!(status, "request failed");
            }
        }
    }
}
