//! Files of `src/` as modules, and the edges between them read from their paths.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

pub struct Graph {
    /// Module path (`["db", "models", "usage"]`) to file (`db/models/usage.rs`).
    modules: BTreeMap<Vec<String>, String>,
    /// File to the files it names, each with the names it takes from it.
    edges: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Graph {
    pub fn read(root: &str) -> Graph {
        let mut files = Vec::new();
        collect(Path::new(root), Path::new(root), &mut files);
        let modules: BTreeMap<Vec<String>, String> =
            files.iter().map(|f| (module_of(f), f.clone())).collect();
        let mut edges = BTreeMap::new();
        for file in &files {
            let text = std::fs::read_to_string(Path::new(root).join(file)).unwrap();
            let here = module_of(file);
            let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
            for path in paths_in(&code_only(&text)) {
                let Some(absolute) = absolute(&path, &here, &modules) else {
                    continue;
                };
                if let Some((target, name)) = resolve(&absolute, &modules) {
                    // A file taking from its own parent module (`super::x`) is part of that
                    // module, not a circle: the parent holds what its files share.
                    if target != *file && !is_ancestor(&module_of(&target), &here) {
                        out.entry(target).or_default().insert(name);
                    }
                }
            }
            edges.insert(file.clone(), out);
        }
        Graph { modules, edges }
    }

    pub fn files(&self) -> impl Iterator<Item = &str> {
        self.modules.values().map(String::as_str)
    }

    pub fn edges<'a>(&'a self, from: &str) -> impl Iterator<Item = &'a str> {
        self.edges
            .get(from)
            .into_iter()
            .flat_map(|m| m.keys().map(String::as_str))
    }

    pub fn names(&self, from: &str, to: &str) -> String {
        let names = self.edges.get(from).and_then(|m| m.get(to));
        names
            .map(|n| n.iter().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    }
}

/// Files that import each other, directly or through others (strongly connected components
/// of more than one file, by Tarjan's algorithm).
pub fn circles(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.edges(v) {
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[v].min(s.low[w]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.low[v].min(s.index[w]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for file in graph.files() {
        if !state.index.contains_key(file) {
            visit(&mut state, file);
        }
    }
    state.found
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            collect(root, &path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let relative = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            if relative != "main.rs" {
                out.push(relative);
            }
        }
    }
}

fn is_ancestor(module: &[String], of: &[String]) -> bool {
    module.len() < of.len() && of.starts_with(module)
}

/// `db/models/usage.rs` → `["db", "models", "usage"]`; `db/mod.rs` → `["db"]`; `lib.rs` → `[]`.
fn module_of(file: &str) -> Vec<String> {
    let mut parts: Vec<String> = file
        .trim_end_matches(".rs")
        .split('/')
        .map(String::from)
        .collect();
    if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
        parts.pop();
    }
    parts
}

/// The source with comments, string and character literals blanked out.
fn code_only(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == 'r'
            && (next == Some('#') || next == Some('"'))
            && !ident_char_before(&chars, i)
        {
            let mut hashes = 0;
            let mut j = i + 1;
            while chars.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if chars.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= chars.len() {
                    break;
                }
                if chars[j] == '"' && (1..=hashes).all(|k| chars.get(j + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            i = j;
            out.push_str("\"\"");
        } else if c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == '\'' {
            // A character literal ('x', '\n', '\u{..}'); otherwise a lifetime, kept.
            if next == Some('\\') {
                i += 2;
                while i < chars.len() && chars[i] != '\'' {
                    i += 1;
                }
                i += 1;
                out.push_str("' '");
            } else if chars.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char_before(chars: &[char], i: usize) -> bool {
    i > 0
        && chars
            .get(i - 1)
            .is_some_and(|c| c.is_alphanumeric() || *c == '_')
}

/// Every path that starts a `::` chain in the code, grouped imports expanded:
/// `use crate::{a::b, c::{d, self}}` gives `crate::a::b`, `crate::c::d`, `crate::c`.
fn paths_in(code: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = code.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if (chars[i].is_alphabetic() || chars[i] == '_') && !ident_char_before(&chars, i) {
            let (first, after) = ident(&chars, i);
            let mut j = skip_space(&chars, after);
            if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') && !first.is_empty() {
                j += 2;
                let mut prefix = vec![first];
                let end = path_tree(&chars, j, &mut prefix, &mut found);
                i = end.max(i + 1);
                continue;
            }
            i = after.max(i + 1);
        } else {
            i += 1;
        }
    }
    found
}

/// Reads the rest of a path after `prefix::`, pushing each complete path; returns where it ended.
fn path_tree(
    chars: &[char],
    start: usize,
    prefix: &mut Vec<String>,
    found: &mut Vec<Vec<String>>,
) -> usize {
    let mut i = skip_space(chars, start);
    if chars.get(i) == Some(&'{') {
        i += 1;
        loop {
            i = skip_space(chars, i);
            match chars.get(i) {
                None => return i,
                Some('}') => return i + 1,
                Some(',') => i += 1,
                _ => {
                    let depth = prefix.len();
                    let before = i;
                    i = path_tree(chars, i, prefix, found);
                    prefix.truncate(depth);
                    if i == before {
                        i += 1;
                    }
                }
            }
        }
    }
    if chars.get(i) == Some(&'*') {
        found.push(prefix.clone());
        return i + 1;
    }
    let (segment, after) = ident(chars, i);
    if segment.is_empty() {
        found.push(prefix.clone());
        return i;
    }
    let j = skip_space(chars, after);
    if chars.get(j) == Some(&':') && chars.get(j + 1) == Some(&':') {
        prefix.push(segment);
        return path_tree(chars, j + 2, prefix, found);
    }
    if segment != "self" {
        prefix.push(segment);
    }
    found.push(prefix.clone());
    after
}

fn ident(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    while chars
        .get(i)
        .is_some_and(|c| c.is_alphanumeric() || *c == '_')
    {
        i += 1;
    }
    (
        chars
            .get(start..i)
            .map(|s| s.iter().collect())
            .unwrap_or_default(),
        i,
    )
}

fn skip_space(chars: &[char], mut i: usize) -> usize {
    while chars.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

/// A path as written in a file, made absolute from the crate root; `None` for paths that do not
/// name a module of this crate (std, other crates, enum variants, associated items).
fn absolute(
    path: &[String],
    here: &[String],
    modules: &BTreeMap<Vec<String>, String>,
) -> Option<Vec<String>> {
    let (first, rest) = path.split_first()?;
    // The module that `super` and child names are relative to: a `foo.rs` or `foo/mod.rs`
    // file is module `foo`; its children are `foo::x`.
    let mut base: Vec<String> = here.to_vec();
    match first.as_str() {
        "crate" => Some(rest.to_vec()),
        "super" => {
            base.pop();
            let mut rest = rest;
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = rest.get(1..).unwrap_or_default();
            }
            base.extend(rest.iter().cloned());
            Some(base)
        }
        "self" => {
            base.extend(rest.iter().cloned());
            Some(base)
        }
        _ => {
            // A child module named without a prefix (`lifecycle::rotate` in `credentials/mod.rs`).
            let mut child = base;
            child.push(first.clone());
            if modules.contains_key(&child) {
                child.extend(rest.iter().cloned());
                Some(child)
            } else {
                None
            }
        }
    }
}

/// The file holding the longest module prefix of `path`, and the name taken from it.
fn resolve(path: &[String], modules: &BTreeMap<Vec<String>, String>) -> Option<(String, String)> {
    for len in (0..=path.len()).rev() {
        let prefix = path.get(..len)?;
        if let Some(file) = modules.get(prefix) {
            let name = path
                .get(len)
                .or(path.last())
                .cloned()
                .unwrap_or_else(|| "crate".into());
            return Some((file.clone(), name));
        }
    }
    None
}
