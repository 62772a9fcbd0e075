//! A credential's usage on its page: two bar charts drawn on the server as SVG (the last 24
//! hours by hour, the last 30 days by day; tokens issued at the bottom, refusals stacked on
//! top by reason), each with its numbers as a table, and the latest refusals. No script and
//! no inline style: colours come from classes in app.css, so the strict CSP holds.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::usage::RefusalReason;
use crate::usage::report::{Bucket, RecentRefusal, UsageReport};
use crate::views::{absolute_time, relative_time};

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 180.0;
/// Room for the axis labels under the bars.
const AXIS: f64 = 20.0;
const GAP: f64 = 2.0;

/// One coloured piece of a bar, in SVG user units.
pub struct Segment {
    pub class: &'static str,
    pub y: String,
    pub height: String,
}

pub struct Bar {
    pub x: String,
    pub width: String,
    pub segments: Vec<Segment>,
    /// Shown on hover, and read by screen readers that walk the SVG.
    pub title: String,
    /// An axis label under this bar, for every few bars.
    pub label: Option<String>,
    pub label_x: String,
}

/// A row of the data table under a chart.
pub struct DataRow {
    pub period: String,
    pub issued: i64,
    pub refused: Vec<i64>,
    pub introspected: i64,
    pub bearer_used: i64,
}

pub struct Chart {
    pub id: &'static str,
    pub heading: &'static str,
    pub summary: String,
    pub bars: Vec<Bar>,
    /// The refusal reasons that occur in this period: the legend's and the table's columns.
    pub reasons: Vec<RefusalReason>,
    pub rows: Vec<DataRow>,
    pub empty: bool,
    pub baseline: String,
}

fn reason_class(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::WrongSecret => "bar-secret",
        RefusalReason::Disabled => "bar-disabled",
        RefusalReason::Expired => "bar-expired",
        RefusalReason::AddressNotAllowed => "bar-address",
        RefusalReason::ScopeNotAllowed => "bar-scope",
        RefusalReason::Throttled => "bar-throttled",
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

impl Chart {
    fn new(
        id: &'static str,
        heading: &'static str,
        buckets: &[Bucket],
        period: impl Fn(DateTime<Utc>) -> String,
        label_every: usize,
    ) -> Self {
        let reasons: Vec<RefusalReason> = RefusalReason::ALL
            .into_iter()
            .filter(|r| buckets.iter().any(|b| b.refused_for(*r) > 0))
            .collect();
        let max = buckets
            .iter()
            .map(|b| b.issued + b.refused_total())
            .max()
            .unwrap_or(0);
        let plot = HEIGHT - AXIS;
        let scale = if max > 0 { plot / max as f64 } else { 0.0 };
        let slot = WIDTH / buckets.len().max(1) as f64;
        let bars = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut top = plot;
                let mut segments = Vec::new();
                let pieces = std::iter::once(("bar-ok", b.issued)).chain(
                    reasons
                        .iter()
                        .map(|r| (reason_class(*r), b.refused_for(*r))),
                );
                for (class, n) in pieces.filter(|(_, n)| *n > 0) {
                    let h = n as f64 * scale;
                    top -= h;
                    segments.push(Segment {
                        class,
                        y: format!("{top:.1}"),
                        height: format!("{h:.1}"),
                    });
                }
                let x = i as f64 * slot;
                Bar {
                    x: format!("{:.1}", x + GAP / 2.0),
                    width: format!("{:.1}", (slot - GAP).max(1.0)),
                    segments,
                    title: format!(
                        "{}: {}, {}",
                        period(b.start),
                        plural(b.issued, "token issued", "tokens issued"),
                        plural(b.refused_total(), "refused", "refused")
                    ),
                    label: (i % label_every == 0).then(|| period(b.start)),
                    label_x: format!("{:.1}", x + GAP / 2.0),
                }
            })
            .collect();
        let issued: i64 = buckets.iter().map(|b| b.issued).sum();
        let refused: i64 = buckets.iter().map(Bucket::refused_total).sum();
        let rows = buckets
            .iter()
            .map(|b| DataRow {
                period: period(b.start),
                issued: b.issued,
                refused: reasons.iter().map(|r| b.refused_for(*r)).collect(),
                introspected: b.introspected,
                bearer_used: b.bearer_used,
            })
            .collect();
        Self {
            id,
            heading,
            summary: format!(
                "{}, {} refused",
                plural(issued, "token issued", "tokens issued"),
                refused
            ),
            bars,
            reasons,
            rows,
            empty: issued == 0 && refused == 0,
            baseline: format!("{plot:.1}"),
        }
    }

    pub fn width(&self) -> String {
        format!("{WIDTH:.0}")
    }

    pub fn height(&self) -> String {
        format!("{HEIGHT:.0}")
    }

    pub fn label_y(&self) -> String {
        format!("{:.0}", HEIGHT - 5.0)
    }

    pub fn class_of(&self, reason: &RefusalReason) -> &'static str {
        reason_class(*reason)
    }
}

/// A refusal as the table lists it.
pub struct RefusalLine {
    pub at_iso: String,
    pub when: String,
    pub exact: String,
    pub reason: &'static str,
    pub ip: String,
}

#[derive(Template)]
#[template(path = "partials/credential_usage.html")]
pub struct UsageSection {
    pub charts: [Chart; 2],
    pub refusals: Vec<RefusalLine>,
}

impl UsageSection {
    pub fn new(report: &UsageReport, now: DateTime<Utc>) -> Self {
        let hours = Chart::new(
            "usage-hours",
            "Last 24 hours",
            &report.hours,
            |t| t.format("%H:00").to_string(),
            6,
        );
        let days = Chart::new(
            "usage-days",
            "Last 30 days",
            &report.days,
            |t| t.format("%b %-d").to_string(),
            7,
        );
        let refusals = report
            .refusals
            .iter()
            .map(|r: &RecentRefusal| RefusalLine {
                at_iso: r.at.to_rfc3339(),
                when: relative_time(r.at, now),
                exact: absolute_time(r.at),
                reason: r.reason.map_or("Other", RefusalReason::label),
                ip: r.ip.clone().unwrap_or_else(|| "unknown".into()),
            })
            .collect();
        Self {
            charts: [hours, days],
            refusals,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn bucket(issued: i64, refused: &[(RefusalReason, i64)]) -> Bucket {
        Bucket {
            start: "2026-12-02T10:00:00Z".parse().unwrap(),
            issued,
            introspected: 0,
            bearer_used: 0,
            refused: refused.iter().copied().collect::<BTreeMap<_, _>>(),
        }
    }

    #[test]
    fn the_tallest_bar_fills_the_plot_and_refusals_stack_on_successes() {
        let buckets = [
            bucket(0, &[]),
            bucket(6, &[(RefusalReason::AddressNotAllowed, 2)]),
            bucket(4, &[]),
        ];
        let chart = Chart::new("c", "h", &buckets, |t| t.to_rfc3339(), 1);
        assert!(chart.bars[0].segments.is_empty());
        let tall = &chart.bars[1].segments;
        assert_eq!(tall.len(), 2);
        assert_eq!(
            (tall[0].class, tall[0].height.as_str()),
            ("bar-ok", "120.0")
        );
        assert_eq!((tall[1].class, tall[1].y.as_str()), ("bar-address", "0.0"));
        assert_eq!(chart.reasons, [RefusalReason::AddressNotAllowed]);
        assert_eq!(chart.rows[1].refused, [2]);
        assert_eq!(chart.summary, "10 tokens issued, 2 refused");
        assert!(!chart.empty);
    }

    #[test]
    fn an_idle_period_draws_no_bars() {
        let chart = Chart::new(
            "c",
            "h",
            &[bucket(0, &[]), bucket(0, &[])],
            |_| String::new(),
            1,
        );
        assert!(chart.empty);
        assert!(chart.bars.iter().all(|b| b.segments.is_empty()));
    }
}
