//! Identical refusals grouped: one line per (reason, address) with how many, the first and
//! the last, so fifty "Address not allowed from 10.12.9.30" rows read as one line, and the
//! group that dominates a failing streak names its cause.

use chrono::{DateTime, Utc};

use crate::usage::RefusalReason;
use crate::usage::report::RecentRefusal;

/// Refusals of one reason from one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusalGroup {
    /// `None`: a reason this build does not know (written by a newer one).
    pub reason: Option<RefusalReason>,
    pub ip: Option<String>,
    pub count: usize,
    pub first: DateTime<Utc>,
    pub last: DateTime<Utc>,
}

/// The refusals in `refusals` newer than `since` (all with `None`), grouped by reason and
/// address: the largest group first, then the most recent.
pub fn group(refusals: &[RecentRefusal], since: Option<DateTime<Utc>>) -> Vec<RefusalGroup> {
    let mut groups: Vec<RefusalGroup> = Vec::new();
    for r in refusals.iter().filter(|r| since.is_none_or(|s| r.at > s)) {
        match groups
            .iter_mut()
            .find(|g| g.reason == r.reason && g.ip == r.ip)
        {
            Some(g) => {
                g.count += 1;
                g.first = g.first.min(r.at);
                g.last = g.last.max(r.at);
            }
            None => groups.push(RefusalGroup {
                reason: r.reason,
                ip: r.ip.clone(),
                count: 1,
                first: r.at,
                last: r.at,
            }),
        }
    }
    groups.sort_by(|a, b| b.count.cmp(&a.count).then(b.last.cmp(&a.last)));
    groups
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn refusal(minute: u32, reason: RefusalReason, ip: &str) -> RecentRefusal {
        RecentRefusal {
            at: format!("2026-12-07T06:{minute:02}:00Z").parse().unwrap(),
            reason: Some(reason),
            ip: Some(ip.into()),
        }
    }

    #[test]
    fn identical_refusals_become_one_group_with_count_first_and_last() {
        use RefusalReason::*;
        let refusals = [
            refusal(20, AddressNotAllowed, "10.12.9.30"),
            refusal(19, WrongSecret, "10.0.0.7"),
            refusal(12, AddressNotAllowed, "10.12.9.30"),
            refusal(5, AddressNotAllowed, "10.12.9.30"),
            refusal(4, AddressNotAllowed, "2001:db8::1"),
            refusal(1, WrongSecret, "10.0.0.7"),
        ];
        let groups = group(&refusals, None);
        assert_eq!(groups.len(), 3);
        assert_eq!(groups[0].reason, Some(AddressNotAllowed));
        assert_eq!(groups[0].ip.as_deref(), Some("10.12.9.30"));
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[0].first, refusals[3].at);
        assert_eq!(groups[0].last, refusals[0].at);
        assert_eq!((groups[1].reason, groups[1].count), (Some(WrongSecret), 2));
        assert_eq!(groups[2].ip.as_deref(), Some("2001:db8::1"));

        let since = group(&refusals, Some(refusals[3].at));
        assert_eq!(since[0].count, 2, "refusals up to `since` are left out");
        assert_eq!(since.len(), 2);
    }
}
