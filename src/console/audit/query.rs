//! The audit log's query string as typed: parsed without ever failing, checked field by
//! field, shown back in the filter form and carried by the page and export links.

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::db::models::audit_event::{AuditFilter, CredentialFilter};
use crate::input::{self, Lines};
use crate::paths;

/// Far beyond any real log; keeps the offset arithmetic small.
const MAX_PAGE: u32 = 1_000_000;
const MAX_FILTER_CHARS: usize = 254;
/// The text filters, in the order links carry them.
const FIELDS: [&str; 5] = ["credential", "actor", "action", "from", "to"];

/// The query string as typed: shown back in the filter form and kept by the page links.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// A credential's ID, or part of its name.
    pub credential: String,
    pub actor: String,
    pub action: String,
    /// The first and last day shown (`YYYY-MM-DD`, UTC, both inclusive).
    pub from: String,
    pub to: String,
    pub page: u32,
    /// Filters refused for holding control characters (shown as such, never searched for).
    pub refused: Vec<&'static str>,
}

impl AuditQuery {
    /// Reads the filters and `page`; the first value of each wins and nothing here can fail.
    pub fn parse(query: &str) -> Self {
        let mut out = Self {
            page: 1,
            ..Self::default()
        };
        let mut seen: Vec<&str> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
            let Some(field) = FIELDS
                .into_iter()
                .chain(["page"])
                .find(|f| *f == key && !seen.contains(f))
            else {
                continue;
            };
            seen.push(field);
            let value = input::truncate(value.trim(), MAX_FILTER_CHARS);
            if field == "page" {
                out.page = value
                    .parse::<u32>()
                    .ok()
                    .filter(|p| (1..=MAX_PAGE).contains(p))
                    .unwrap_or(1);
            } else if input::has_control(&value, Lines::Single) {
                out.refused.push(field);
            } else if let Some(slot) = out.slot(field) {
                *slot = value;
            }
        }
        out
    }

    fn slot(&mut self, field: &str) -> Option<&mut String> {
        match field {
            "credential" => Some(&mut self.credential),
            "actor" => Some(&mut self.actor),
            "action" => Some(&mut self.action),
            "from" => Some(&mut self.from),
            "to" => Some(&mut self.to),
            _ => None,
        }
    }

    fn value(&self, field: &str) -> &str {
        match field {
            "credential" => &self.credential,
            "actor" => &self.actor,
            "action" => &self.action,
            "from" => &self.from,
            "to" => &self.to,
            _ => "",
        }
    }

    /// Whether the `field` filter was refused for holding control characters.
    pub fn is_refused(&self, field: &'static str) -> bool {
        self.refused.contains(&field)
    }

    /// The credential filter: an exact ID when it is a UUID, else part of a name.
    pub fn credential_filter(&self) -> Option<CredentialFilter> {
        if self.credential.is_empty() {
            return None;
        }
        Some(match self.credential.parse() {
            Ok(id) => CredentialFilter::Id(id),
            Err(_) => CredentialFilter::Name(self.credential.clone()),
        })
    }

    /// Why the `from` or `to` date was ignored, if it was.
    pub fn date_error(&self, field: &str) -> Option<&'static str> {
        let typed = self.value(field);
        if typed.is_empty() {
            return None;
        }
        if date(typed).is_none() {
            return Some("Not a date (use YYYY-MM-DD), so it was ignored.");
        }
        match (field, self.range_dates()) {
            ("to", Err(RangeError::Reversed)) => {
                Some("This is before the From date, so the dates were ignored.")
            }
            _ => None,
        }
    }

    /// The valid dates; a reversed range counts as no range at all.
    fn range_dates(&self) -> Result<(Option<NaiveDate>, Option<NaiveDate>), RangeError> {
        let (from, to) = (date(&self.from), date(&self.to));
        match (from, to) {
            (Some(from), Some(to)) if from > to => Err(RangeError::Reversed),
            dates => Ok(dates),
        }
    }

    pub fn filter(&self) -> AuditFilter {
        let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
        let (from, to) = self.range_dates().unwrap_or((None, None));
        AuditFilter {
            credential: self.credential_filter(),
            actor: non_empty(&self.actor),
            action: non_empty(&self.action),
            since: from.map(start_of),
            // `to` covers its whole day: everything before the next one begins.
            before: to.and_then(|d| d.succ_opt()).map(start_of),
        }
    }

    pub fn is_filtered(&self) -> bool {
        FIELDS.iter().any(|f| !self.value(f).is_empty()) || !self.refused.is_empty()
    }

    /// The filters as a query string (without the page), for links that keep them.
    fn filters_query(&self) -> url::form_urlencoded::Serializer<'static, String> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        for field in FIELDS {
            let value = self.value(field);
            if !value.is_empty() {
                query.append_pair(field, value);
            }
        }
        query
    }

    /// The link to `page` with the same filters.
    pub fn href(&self, page: u32) -> String {
        let mut query = self.filters_query();
        query.append_pair("page", &page.to_string());
        format!("{}?{}", paths::AUDIT, query.finish())
    }

    /// The export at `path` of the events these filters match.
    pub fn export_href(&self, path: &str) -> String {
        let query = self.filters_query().finish();
        if query.is_empty() {
            path.to_string()
        } else {
            format!("{path}?{query}")
        }
    }
}

enum RangeError {
    Reversed,
}

/// A calendar date as `<input type="date">` sends it, within years PostgreSQL and people
/// both handle.
fn date(typed: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(typed, "%Y-%m-%d")
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
}

fn start_of(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn nonsense_query_values_fall_back_to_defaults() {
        for raw in ["page=abc", "page=0", "page=-3", "page=99999999999", ""] {
            assert_eq!(AuditQuery::parse(raw).page, 1, "{raw}");
        }
        let q = AuditQuery::parse(
            "credential=nope&actor=+ops%40acme.test+&action=api.created&page=3&page=9&actor=x",
        );
        assert_eq!(q.page, 3);
        assert_eq!(q.actor, "ops@acme.test");
        assert_eq!(
            q.filter().credential,
            Some(CredentialFilter::Name("nope".into()))
        );
        assert_eq!(
            q.href(4),
            "/settings/audit?credential=nope&actor=ops%40acme.test&action=api.created&page=4"
        );
        assert_eq!(
            q.export_href("/x.csv"),
            "/x.csv?credential=nope&actor=ops%40acme.test&action=api.created"
        );
        assert_eq!(AuditQuery::parse("page=2").export_href("/x.csv"), "/x.csv");
    }

    #[test]
    fn a_uuid_filters_by_id_and_anything_else_by_name() {
        let id = "0b7a0c1e-8d8e-4c55-9c2f-6f3f1b0e9a11";
        let q = AuditQuery::parse(&format!("credential={id}"));
        assert!(
            matches!(q.credential_filter(), Some(CredentialFilter::Id(c)) if c.to_string() == id)
        );
        assert!(
            AuditQuery::parse("credential=")
                .credential_filter()
                .is_none()
        );
    }

    #[test]
    fn filters_with_control_characters_are_refused_not_searched() {
        let q = AuditQuery::parse("actor=ops%00x&action=a%0Ab&credential=%01&from=20%0A26");
        assert!(q.actor.is_empty() && q.action.is_empty() && q.credential.is_empty());
        assert!(q.is_refused("actor") && q.is_refused("action") && q.is_refused("credential"));
        assert!(q.is_refused("from") && q.from.is_empty());
        assert!(q.filter().actor.is_none());
        assert!(q.is_filtered());
    }

    #[test]
    fn dates_are_inclusive_utc_days_and_bad_ones_are_ignored_with_a_reason() {
        let q = AuditQuery::parse("from=2026-11-01&to=2026-11-22");
        let f = q.filter();
        assert_eq!(f.since, Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).single());
        assert_eq!(
            f.before,
            Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).single()
        );
        assert!(q.date_error("from").is_none() && q.date_error("to").is_none());

        let q = AuditQuery::parse("from=yesterday&to=2026-02-30");
        assert!(q.date_error("from").is_some() && q.date_error("to").is_some());
        assert!(q.filter().since.is_none() && q.filter().before.is_none());

        let q = AuditQuery::parse("from=2026-11-22&to=2026-11-01");
        assert!(q.date_error("from").is_none());
        assert!(
            q.date_error("to")
                .is_some_and(|e| e.contains("before the From"))
        );
        assert!(q.filter().since.is_none() && q.filter().before.is_none());

        let q = AuditQuery::parse("from=0000-01-01&to=99999-01-01");
        assert!(q.date_error("from").is_some() && q.date_error("to").is_some());
        let q = AuditQuery::parse("to=9999-12-31");
        assert!(q.filter().before.is_some());
        let q = AuditQuery::parse("from=2026-11-22&to=2026-11-22");
        assert!(q.date_error("to").is_none() && q.filter().since < q.filter().before);
    }
}
