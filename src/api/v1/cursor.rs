//! Cursor pagination: a page starts after the last item of the previous one, by a key that
//! orders the list (time, then id). The cursor is that key, opaque to callers.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::api::v1::problem::Problem;

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 100;

/// The page size asked for, checked.
pub fn limit(asked: Option<u32>) -> Result<usize, Problem> {
    match asked.unwrap_or(DEFAULT_LIMIT) {
        n @ 1..=MAX_LIMIT => Ok(n as usize),
        _ => Err(Problem::invalid(
            "limit",
            format!("Use a limit from 1 to {MAX_LIMIT}."),
        )),
    }
}

pub fn encode(at: DateTime<Utc>, id: impl std::fmt::Display) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}.{id}", at.timestamp_micros()))
}

/// The `(time, id)` a cursor holds.
pub fn decode<T: std::str::FromStr>(cursor: &str) -> Result<(DateTime<Utc>, T), Problem> {
    let bad =
        || Problem::bad_request("The cursor is not one this API gave; start again without it.");
    if cursor.len() > 200 {
        return Err(bad());
    }
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| bad())?;
    let text = String::from_utf8(raw).map_err(|_| bad())?;
    let (micros, id) = text.split_once('.').ok_or_else(bad)?;
    let at = micros
        .parse::<i64>()
        .ok()
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(bad)?;
    Ok((at, id.parse().map_err(|_| bad())?))
}

/// The page of `all` (sorted by `key`) after `cursor`, and the cursor of the next page.
pub fn page<'a, T>(
    all: &'a [T],
    cursor: Option<&str>,
    limit: usize,
    key: impl Fn(&T) -> (DateTime<Utc>, Uuid),
) -> Result<(Vec<&'a T>, Option<String>), Problem> {
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(decode::<Uuid>)
        .transpose()?;
    let rest: Vec<&T> = all
        .iter()
        .filter(|item| after.is_none_or(|a| key(item) > a))
        .collect();
    let more = rest.len() > limit;
    let page: Vec<&T> = rest.into_iter().take(limit).collect();
    let next = match page.last() {
        Some(last) if more => {
            let (at, id) = key(last);
            Some(encode(at, id))
        }
        _ => None,
    };
    Ok((page, next))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_each_other_without_gaps_or_repeats() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let all: Vec<(DateTime<Utc>, Uuid)> = (0..7)
            .map(|i| (t0 + chrono::Duration::seconds(i / 2), Uuid::new_v4()))
            .collect();
        let mut sorted = all.clone();
        sorted.sort();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = page(&sorted, cursor.as_deref(), 3, |x| *x).unwrap();
            seen.extend(page.into_iter().copied());
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, sorted);
    }

    #[test]
    fn nonsense_cursors_and_limits_are_refused() {
        let none: [(DateTime<Utc>, Uuid); 0] = [];
        for bad in ["!!", "bm90LWEta2V5", &"A".repeat(500)] {
            assert!(page(&none, Some(bad), 10, |x| *x).is_err(), "{bad}");
        }
        assert!(limit(Some(0)).is_err());
        assert!(limit(Some(101)).is_err());
        assert_eq!(limit(None).unwrap(), 50);
    }
}
