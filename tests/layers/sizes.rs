//! The size rules of the guide, read from source text: no file in `src/` over 500 lines, no
//! async function over 60 lines in the front ends (`console/`, `api/`, `auth/`, `oauth/`),
//! where a long handler means work that belongs in the domain.

use std::path::{Path, PathBuf};

pub const MAX_FILE_LINES: usize = 500;
pub const MAX_HANDLER_LINES: usize = 60;
pub const FRONT_ENDS: [&str; 4] = ["console", "api", "auth", "oauth"];

/// Every `.rs` file below `dir`, sorted.
pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                todo.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// The async functions of `text` with their length in lines, from the `async fn` line to the
/// closing brace at the same indentation (rustfmt's layout).
pub fn async_fn_lengths(text: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (start, line) in lines.iter().enumerate() {
        let trimmed = line.trim_start();
        let indent = " ".repeat(line.len() - trimmed.len());
        let signature = ["pub async fn ", "pub(crate) async fn ", "async fn "]
            .iter()
            .find_map(|prefix| trimmed.strip_prefix(prefix));
        let Some(rest) = signature else { continue };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let closing = format!("{indent}}}");
        if let Some(end) = lines[start..].iter().position(|l| *l == closing) {
            found.push((name, end + 1));
        }
    }
    found
}
