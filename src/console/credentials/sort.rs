//! The credentials list's order: the column a person sorted by, read from the query string
//! and written back into the column headers' links.

use crate::paths;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Status,
    LastUsed,
    Expires,
}

impl SortKey {
    pub const ALL: [SortKey; 4] = [
        SortKey::Name,
        SortKey::Status,
        SortKey::LastUsed,
        SortKey::Expires,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortKey::Name => "name",
            SortKey::Status => "status",
            SortKey::LastUsed => "last_used",
            SortKey::Expires => "expires",
        }
    }
}

/// The list's order: needs attention first when no key is given; anything unknown is ignored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ListSort {
    pub key: Option<SortKey>,
    pub desc: bool,
}

impl ListSort {
    /// Reads the first `sort` and `dir` of a query string.
    pub fn parse(query: &str) -> Self {
        let mut sort = Self::default();
        let (mut seen_key, mut seen_dir) = (false, false);
        for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
            match k.as_ref() {
                "sort" if !seen_key => {
                    seen_key = true;
                    sort.key = SortKey::ALL.into_iter().find(|key| key.as_str() == v);
                }
                "dir" if !seen_dir => {
                    seen_dir = true;
                    sort.desc = v == "desc";
                }
                _ => {}
            }
        }
        sort
    }

    /// The link a column header points to: ascending, or the other way if already sorted by it.
    pub fn href(&self, key: &SortKey) -> String {
        let desc = self.key == Some(*key) && !self.desc;
        let dir = if desc { "desc" } else { "asc" };
        format!("{}?sort={}&dir={dir}", paths::M2M, key.as_str())
    }

    /// `aria-sort` of a column header.
    pub fn aria(&self, key: &SortKey) -> &'static str {
        match (self.key == Some(*key), self.desc) {
            (false, _) => "none",
            (true, false) => "ascending",
            (true, true) => "descending",
        }
    }
}
