//! A credential's usage on its page: two bar charts drawn on the server as SVG (the last 24
//! hours by hour, the last 30 days by day; tokens issued at the bottom, refusals stacked on
//! top by reason), each with its numbers as a table, and the latest refusals. No script and
//! no inline style: colours come from classes in app.css, so the strict CSP holds.

use askama::Template;
use chrono::{DateTime, Utc};

use crate::usage::report::{Bucket, UsageReport};
use crate::usage::{RefusalReason, refusal_groups};
use crate::views::{absolute_time, clock_time, relative_time};

const WIDTH: f64 = 560.0;
const HEIGHT: f64 = 220.0;
/// Room for the y scale's labels on the left.
const LEFT: f64 = 44.0;
/// Room for the unit above the plot.
const TOP: f64 = 22.0;
/// Room for the axis labels under the bars.
const AXIS: f64 = 24.0;
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
    /// Tokens issued at the bottom, refusals stacked on top by reason.
    pub segments: Vec<Segment>,
    /// API calls (bearer uses of its tokens), drawn beside the token requests.
    pub api_x: String,
    pub api: Option<Segment>,
    /// Shown on hover, and read by screen readers that walk the SVG.
    pub title: String,
    /// An axis label under this bar, for every few bars.
    pub label: Option<String>,
    pub label_x: String,
}

/// A line of the y scale: where it is drawn and its number.
pub struct Tick {
    pub y: String,
    pub label_y: String,
    pub label: i64,
}

/// A row of the data table under a chart.
pub struct DataRow {
    pub period: String,
    pub issued: i64,
    /// Per reason of the chart's legend: its label and count.
    pub refused: Vec<(&'static str, i64)>,
    pub introspected: i64,
    pub bearer_used: i64,
}

pub struct Chart {
    pub id: &'static str,
    pub heading: &'static str,
    /// "per hour", "per day": the y scale's unit.
    pub unit: &'static str,
    pub summary: String,
    pub bars: Vec<Bar>,
    pub ticks: Vec<Tick>,
    /// The refusal reasons that occur in this period: the legend's and the table's columns.
    pub reasons: Vec<RefusalReason>,
    pub rows: Vec<DataRow>,
    pub empty: bool,
}

fn reason_class(reason: RefusalReason) -> &'static str {
    match reason {
        RefusalReason::WrongSecret => "bar-secret",
        RefusalReason::Disabled => "bar-disabled",
        RefusalReason::Expired => "bar-expired",
        RefusalReason::AddressNotAllowed => "bar-address",
        RefusalReason::ScopeNotAllowed => "bar-scope",
        RefusalReason::Throttled => "bar-throttled",
        RefusalReason::KeysOnly => "bar-keys-only",
        RefusalReason::BadAssertion => "bar-assertion",
        RefusalReason::AssertionExpired => "bar-assertion-expired",
        RefusalReason::AssertionReplayed => "bar-replayed",
        RefusalReason::UnknownKey => "bar-unknown-key",
    }
}

fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The top of the y scale: the smallest 1, 2 or 5 times a power of ten at or above `max`.
fn nice_ceiling(max: i64) -> i64 {
    if max <= 1 {
        return 1;
    }
    let mut power: i64 = 1;
    while power.saturating_mul(10) < max {
        power = power.saturating_mul(10);
    }
    [1, 2, 5, 10]
        .into_iter()
        .map(|m| power.saturating_mul(m))
        .find(|top| *top >= max)
        .unwrap_or(max)
}

impl Chart {
    fn new(
        id: &'static str,
        (heading, unit): (&'static str, &'static str),
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
            .map(|b| (b.issued + b.refused_total()).max(b.bearer_used))
            .max()
            .unwrap_or(0);
        let top = nice_ceiling(max);
        let plot_bottom = HEIGHT - AXIS;
        let plot = plot_bottom - TOP;
        let scale = plot / top as f64;
        let slot = (WIDTH - LEFT) / buckets.len().max(1) as f64;
        let bar_width = ((slot - GAP) / 2.0).max(0.5);
        let bars = buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let mut y = plot_bottom;
                let mut segments = Vec::new();
                let pieces = std::iter::once(("bar-ok", b.issued)).chain(
                    reasons
                        .iter()
                        .map(|r| (reason_class(*r), b.refused_for(*r))),
                );
                for (class, n) in pieces.filter(|(_, n)| *n > 0) {
                    let h = n as f64 * scale;
                    y -= h;
                    segments.push(Segment {
                        class,
                        y: format!("{y:.1}"),
                        height: format!("{h:.1}"),
                    });
                }
                let api = (b.bearer_used > 0).then(|| {
                    let h = b.bearer_used as f64 * scale;
                    Segment {
                        class: "bar-api",
                        y: format!("{:.1}", plot_bottom - h),
                        height: format!("{h:.1}"),
                    }
                });
                let x = LEFT + i as f64 * slot + GAP / 2.0;
                Bar {
                    x: format!("{x:.1}"),
                    width: format!("{bar_width:.1}"),
                    segments,
                    api_x: format!("{:.1}", x + bar_width),
                    api,
                    title: format!(
                        "{}: {}, {} refused, {}",
                        period(b.start),
                        plural(b.issued, "token issued", "tokens issued"),
                        b.refused_total(),
                        plural(b.bearer_used, "API call", "API calls")
                    ),
                    label: (i % label_every == 0).then(|| period(b.start)),
                    label_x: format!("{x:.1}"),
                }
            })
            .collect();
        let steps: &[i64] = if top % 2 == 0 { &[0, 1, 2] } else { &[0, 2] };
        let ticks = steps
            .iter()
            .map(|step| {
                let value = top * step / 2;
                let y = plot_bottom - value as f64 * scale;
                Tick {
                    y: format!("{y:.1}"),
                    label_y: format!("{:.1}", y + 4.0),
                    label: value,
                }
            })
            .collect();
        let issued: i64 = buckets.iter().map(|b| b.issued).sum();
        let refused: i64 = buckets.iter().map(Bucket::refused_total).sum();
        let api_calls: i64 = buckets.iter().map(|b| b.bearer_used).sum();
        let rows = buckets
            .iter()
            .map(|b| DataRow {
                period: period(b.start),
                issued: b.issued,
                refused: reasons
                    .iter()
                    .map(|r| (r.label(), b.refused_for(*r)))
                    .collect(),
                introspected: b.introspected,
                bearer_used: b.bearer_used,
            })
            .collect();
        Self {
            id,
            heading,
            unit,
            summary: format!(
                "{}, {} refused, {}",
                plural(issued, "token issued", "tokens issued"),
                refused,
                plural(api_calls, "API call", "API calls")
            ),
            bars,
            ticks,
            reasons,
            rows,
            empty: issued == 0 && refused == 0 && api_calls == 0,
        }
    }

    pub fn width(&self) -> String {
        format!("{WIDTH:.0}")
    }

    pub fn height(&self) -> String {
        format!("{HEIGHT:.0}")
    }

    pub fn left(&self) -> String {
        format!("{LEFT:.0}")
    }

    /// Where the y scale's numbers end (right-aligned against the plot).
    pub fn scale_x(&self) -> String {
        format!("{:.0}", LEFT - 6.0)
    }

    pub fn unit_y(&self) -> String {
        format!("{:.0}", TOP - 8.0)
    }

    pub fn label_y(&self) -> String {
        format!("{:.0}", HEIGHT - 6.0)
    }

    pub fn class_of(&self, reason: &RefusalReason) -> &'static str {
        reason_class(*reason)
    }
}

/// Identical refusals as the table lists them: one line per reason and address.
pub struct RefusalLine {
    pub reason: &'static str,
    pub ip: String,
    pub count: usize,
    pub first: String,
    pub last: String,
    pub last_iso: String,
    pub last_exact: String,
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
            ("Last 24 hours", "per hour"),
            &report.hours,
            |t| t.format("%H:00").to_string(),
            6,
        );
        let days = Chart::new(
            "usage-days",
            ("Last 30 days", "per day"),
            &report.days,
            |t| t.format("%b %-d").to_string(),
            7,
        );
        let refusals = refusal_groups::group(&report.refusals, None)
            .into_iter()
            .map(|g| RefusalLine {
                reason: g.reason.map_or("Other", RefusalReason::label),
                ip: g.ip.unwrap_or_else(|| "unknown".into()),
                count: g.count,
                first: clock_time(g.first, now),
                last: relative_time(g.last, now),
                last_iso: g.last.to_rfc3339(),
                last_exact: absolute_time(g.last),
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
            bucket(0, &[]),
        ];
        let chart = Chart::new("c", ("h", "per hour"), &buckets, |t| t.to_rfc3339(), 1);
        assert!(chart.bars[0].segments.is_empty());
        let tall = &chart.bars[1].segments;
        assert_eq!(tall.len(), 2);
        // The scale tops at 10 (8 requests rounded up): 174 units of plot, 17.4 each.
        assert_eq!(
            (tall[0].class, tall[0].height.as_str()),
            ("bar-ok", "104.4")
        );
        assert_eq!(
            (tall[1].class, tall[1].height.as_str()),
            ("bar-address", "34.8")
        );
        assert_eq!(chart.reasons, [RefusalReason::AddressNotAllowed]);
        assert_eq!(chart.rows[1].refused, [("Address not allowed", 2)]);
        assert_eq!(chart.summary, "6 tokens issued, 2 refused, 0 API calls");
        assert!(!chart.empty);
    }

    #[test]
    fn an_idle_period_draws_no_bars() {
        let chart = Chart::new(
            "c",
            ("h", "per day"),
            &[bucket(0, &[]), bucket(0, &[])],
            |_| String::new(),
            1,
        );
        assert!(chart.empty);
        assert!(chart.bars.iter().all(|b| b.segments.is_empty()));
    }

    #[test]
    fn the_y_scale_rounds_up_to_one_two_or_five_and_labels_whole_numbers() {
        let tops: Vec<i64> = [0, 1, 2, 3, 7, 10, 11, 140, 600, 999_999]
            .into_iter()
            .map(nice_ceiling)
            .collect();
        assert_eq!(tops, [1, 1, 2, 5, 10, 10, 20, 200, 1000, 1_000_000]);
        let mut b = bucket(3, &[]);
        b.bearer_used = 40;
        let chart = Chart::new("c", ("h", "per hour"), &[b], |_| String::new(), 1);
        let labels: Vec<i64> = chart.ticks.iter().map(|t| t.label).collect();
        assert_eq!(
            labels,
            [0, 25, 50],
            "API calls set the scale when they are the most"
        );
        let api = chart.bars[0].api.as_ref().unwrap();
        assert_eq!((api.class, api.height.as_str()), ("bar-api", "139.2"));
        let odd = Chart::new(
            "c",
            ("h", "per hour"),
            &[bucket(1, &[])],
            |_| String::new(),
            1,
        );
        let labels: Vec<i64> = odd.ticks.iter().map(|t| t.label).collect();
        assert_eq!(labels, [0, 1]);
    }
}
