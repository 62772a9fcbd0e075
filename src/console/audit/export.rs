//! Settings → Audit log → Export: the events the log's filters match, as CSV (for
//! spreadsheets) or NDJSON (for scripts). The body streams page by page (1,000 events,
//! newest first), so memory stays flat whatever the log's size, and stops at
//! [`MAX_ROWS`]. Each page borrows a pooled connection only while it is read: a slow
//! download never pins one.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse};
use futures_util::stream;
use serde::Serialize;

use super::labels;
use super::query::AuditQuery;
use crate::console::request::ConsoleRequest;
use crate::db::DbPool;
use crate::db::ids::OrgId;
use crate::db::models::audit_event::{AuditEvent, AuditFilter, Window};
use crate::db::models::user::StaffRole;
use crate::error::AppError;

/// The most events one export holds; far beyond what a spreadsheet opens.
pub const MAX_ROWS: usize = 100_000;
const PAGE_ROWS: usize = 1_000;
const COLUMNS: [&str; 10] = [
    "time",
    "actor",
    "action",
    "action_label",
    "target_type",
    "target_id",
    "target_label",
    "ip",
    "user_agent",
    "details",
];

#[derive(Debug, Clone, Copy)]
enum Format {
    Csv,
    Ndjson,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }

    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Ndjson => "ndjson",
        }
    }

    /// What comes before the first event.
    fn header(self) -> String {
        match self {
            Format::Csv => csv_record(COLUMNS.iter().copied()),
            Format::Ndjson => String::new(),
        }
    }

    fn write(self, event: &AuditEvent, out: &mut String) -> Result<(), AppError> {
        let record = Record::of(event);
        match self {
            Format::Csv => out.push_str(&csv_record(record.cells().iter().map(String::as_str))),
            Format::Ndjson => {
                let line = serde_json::to_string(&record).map_err(|e| {
                    AppError::Unexpected(anyhow::Error::new(e).context("audit export line"))
                })?;
                out.push_str(&line);
                out.push('\n');
            }
        }
        Ok(())
    }
}

/// One exported event: the same fields in both formats.
#[derive(Serialize)]
struct Record<'a> {
    time: String,
    actor: Option<&'a str>,
    action: &'a str,
    action_label: &'a str,
    target_type: Option<&'a str>,
    target_id: Option<&'a str>,
    target_label: Option<&'a str>,
    ip: Option<&'a str>,
    user_agent: Option<&'a str>,
    details: &'a serde_json::Value,
}

impl<'a> Record<'a> {
    fn of(event: &'a AuditEvent) -> Self {
        Self {
            time: event
                .created_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            actor: event
                .actor_email
                .as_deref()
                .or(event.actor_client_id.as_deref()),
            action: &event.action,
            action_label: labels::label(&event.action),
            target_type: event.target_type.as_deref(),
            target_id: event.target_id.as_deref(),
            target_label: event.target_label.as_deref(),
            ip: event.ip.as_deref(),
            user_agent: event.user_agent.as_deref(),
            details: &event.details,
        }
    }

    /// The CSV cells, in [`COLUMNS`] order.
    fn cells(&self) -> [String; 10] {
        let text = |v: Option<&str>| v.unwrap_or_default().to_string();
        [
            self.time.clone(),
            text(self.actor),
            self.action.to_string(),
            self.action_label.to_string(),
            text(self.target_type),
            text(self.target_id),
            text(self.target_label),
            text(self.ip),
            text(self.user_agent),
            self.details.to_string(),
        ]
    }
}

/// One CSV line (RFC 4180, CRLF-terminated) of `cells`, each escaped by [`csv_cell`].
fn csv_record<'a>(cells: impl Iterator<Item = &'a str>) -> String {
    let mut line = cells.map(csv_cell).collect::<Vec<_>>().join(",");
    line.push_str("\r\n");
    line
}

/// `value` as a CSV cell. A cell a spreadsheet would take for a formula (it starts with
/// `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, so a credential named
/// `=HYPERLINK(…)` stays text (OWASP "CSV injection"). Then RFC 4180: a cell holding a comma,
/// a quote or a line break is quoted, its quotes doubled.
pub fn csv_cell(value: &str) -> String {
    let guarded = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if guarded.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", guarded.replace('"', "\"\""))
    } else {
        guarded
    }
}

/// `GET /settings/audit/export.csv`: the filtered events as a CSV download.
#[tracing::instrument(skip_all)]
pub async fn export_audit_csv(
    rq: ConsoleRequest,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    export(rq, &req, Format::Csv).await
}

/// `GET /settings/audit/export.ndjson`: the filtered events, one JSON object a line.
#[tracing::instrument(skip_all)]
pub async fn export_audit_ndjson(
    rq: ConsoleRequest,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    export(rq, &req, Format::Ndjson).await
}

/// Where the stream stands between pages.
struct Cursor {
    pool: DbPool,
    org: OrgId,
    filter: AuditFilter,
    format: Format,
    /// The last event sent; `None` once the export is complete.
    after: Option<AuditEvent>,
    sent: usize,
}

async fn export(
    rq: ConsoleRequest,
    req: &HttpRequest,
    format: Format,
) -> Result<HttpResponse, AppError> {
    rq.require(StaffRole::Viewer, "read the audit log")?;
    let query = AuditQuery::parse(req.query_string());
    let mut cursor = Cursor {
        pool: rq.state.pool.clone(),
        org: rq.user.org_id,
        filter: query.filter(),
        format,
        after: None,
        sent: 0,
    };
    // The first page is read before answering, so a database that is down still gets the
    // usual error page instead of a download cut short.
    let mut first = format.header();
    let more = cursor.next_page(&mut first).await?;
    let rest = stream::unfold((cursor, more), |(mut cursor, more)| async move {
        if !more {
            return None;
        }
        let mut chunk = String::new();
        match cursor.next_page(&mut chunk).await {
            Ok(more) => Some((Ok(Bytes::from(chunk)), (cursor, more))),
            Err(e) => {
                // The status line is long gone: cutting the body short is all that is left.
                tracing::error!(error = %e, "audit export stopped");
                Some((Err(e), (cursor, false)))
            }
        }
    });
    let body = stream::once(async move { Ok::<_, AppError>(Bytes::from(first)) });
    let filename = format!("audit-{}.{}", rq.now.format("%Y%m%d"), format.extension());
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(futures_util::StreamExt::chain(body, rest)))
}

impl Cursor {
    /// Appends the next page to `out`; true when there may be more.
    async fn next_page(&mut self, out: &mut String) -> Result<bool, AppError> {
        let limit = PAGE_ROWS.min(MAX_ROWS.saturating_sub(self.sent));
        if limit == 0 {
            return Ok(false);
        }
        let window = match &self.after {
            Some(last) => Window::After(last.created_at, last.id),
            None => Window::Offset(0),
        };
        let events = {
            let mut conn = self.pool.get().await?;
            AuditEvent::search(&mut conn, self.org, &self.filter, window, limit as i64).await?
        };
        for event in &events {
            self.format.write(event, out)?;
        }
        self.sent += events.len();
        let full = events.len() == limit;
        self.after = events.into_iter().last();
        Ok(full && self.sent < MAX_ROWS)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_quoted_as_rfc_4180_says() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell(""), "");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_cell("Ünïcödé ✓"), "Ünïcödé ✓");
        assert_eq!(csv_record(["a", "b,c", ""].into_iter()), "a,\"b,c\",\r\n");
    }

    #[test]
    fn cells_a_spreadsheet_would_run_as_formulas_are_defused() {
        for (raw, cell) in [
            ("=1+1", "'=1+1"),
            ("+33 1 23", "'+33 1 23"),
            ("-2", "'-2"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tx", "'\tx"),
            ("\rx", "\"'\rx\""),
            (
                "=HYPERLINK(\"http://evil\",\"x\")",
                "\"'=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\"",
            ),
            ("a=b", "a=b"),
            (" =1", " =1"),
        ] {
            assert_eq!(csv_cell(raw), cell, "{raw:?}");
        }
    }
}
