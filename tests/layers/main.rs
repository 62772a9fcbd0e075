//! The layer check: reads every `crate::…` and `super::…` path in `src/` and fails on an
//! import circle between files or on an import that runs against the layers README's
//! Architecture section describes (front ends → domain → data → foundation).
//!
//! It reads source text rather than compiled items, so it stays a few milliseconds of std-only
//! code; `graph.rs` turns files into module paths and paths into edges, `rules.rs` holds the
//! layer of every top-level module. `sizes.rs` keeps the size rules (files, front-end
//! handlers).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

mod graph;
mod rules;
mod sizes;

use std::collections::BTreeSet;

use graph::{Graph, circles};

#[test]
fn no_import_circle_between_files() {
    let graph = Graph::read("src");
    let found = circles(&graph);
    let shown: Vec<String> = found
        .iter()
        .map(|circle| {
            let mut lines = vec![format!("circle of {} files:", circle.len())];
            for from in circle {
                for to in graph.edges(from).filter(|to| circle.contains(*to)) {
                    lines.push(format!("  {from} -> {to}: {}", graph.names(from, to)));
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(
        shown.is_empty(),
        "import circles in src/:\n{}",
        shown.join("\n")
    );
}

#[test]
fn every_import_goes_down_the_layers() {
    let graph = Graph::read("src");
    let mut breaks = BTreeSet::new();
    for from in graph.files() {
        let Some(from_layer) = rules::layer_of(from) else {
            panic!("{from} has no layer: add its top-level module to tests/layers/rules.rs");
        };
        for to in graph.edges(from) {
            let to_layer = rules::layer_of(to).expect("every file has a layer");
            if !rules::may_import(from_layer, to_layer) {
                breaks.insert(format!(
                    "{from} ({from_layer:?}) -> {to} ({to_layer:?}): {}",
                    graph.names(from, to)
                ));
            }
        }
    }
    let breaks: Vec<String> = breaks.into_iter().collect();
    assert!(
        breaks.is_empty(),
        "imports against the layers:\n{}",
        breaks.join("\n")
    );
}

#[test]
fn no_file_is_too_long_and_no_handler_either() {
    let mut over = Vec::new();
    for path in sizes::rust_files(std::path::Path::new("src")) {
        let text = std::fs::read_to_string(&path).unwrap();
        let shown = path.display();
        let lines = text.lines().count();
        if lines > sizes::MAX_FILE_LINES {
            over.push(format!(
                "{shown}: {lines} lines (at most {})",
                sizes::MAX_FILE_LINES
            ));
        }
        let front_end = sizes::FRONT_ENDS
            .iter()
            .any(|dir| path.starts_with(std::path::Path::new("src").join(dir)));
        if !front_end {
            continue;
        }
        for (name, lines) in sizes::async_fn_lengths(&text) {
            if lines > sizes::MAX_HANDLER_LINES {
                over.push(format!(
                    "{shown}: async fn {name} is {lines} lines (at most {})",
                    sizes::MAX_HANDLER_LINES
                ));
            }
        }
    }
    assert!(over.is_empty(), "too long:\n{}", over.join("\n"));
}

/// The length check measures what it claims: a function from its `async fn` line to its
/// closing brace, nested ones on their own.
#[test]
fn the_length_check_measures_functions_whole() {
    let text = "pub async fn outer() {\n    async fn inner() {\n        a();\n    }\n    b();\n}\n";
    assert_eq!(
        sizes::async_fn_lengths(text),
        vec![("outer".to_string(), 6), ("inner".to_string(), 3)]
    );
}

/// The check must see what it claims to see: a planted circle and a planted layer break in a
/// scratch tree are both found.
#[test]
fn the_check_sees_a_planted_circle_and_a_planted_break() {
    let dir = std::env::temp_dir().join(format!("layers-selftest-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("db")).unwrap();
    std::fs::create_dir_all(dir.join("console")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod db;\npub mod console;\n").unwrap();
    std::fs::write(dir.join("db/mod.rs"), "pub mod a;\npub mod b;\n").unwrap();
    std::fs::write(dir.join("db/a.rs"), "use super::b::Thing;\n").unwrap();
    std::fs::write(
        dir.join("db/b.rs"),
        "use crate::{db::a::Other, console::{page::Page}};\n// use crate::console::x;\n",
    )
    .unwrap();
    std::fs::write(dir.join("console/mod.rs"), "pub mod page;\n").unwrap();
    std::fs::write(dir.join("console/page.rs"), "use crate::db::b::Thing;\n").unwrap();

    let graph = Graph::read(dir.to_str().unwrap());
    let found = circles(&graph);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("db/a.rs") && found[0].contains("db/b.rs"),
        "{found:?}"
    );
    let down: Vec<&str> = graph.edges("db/b.rs").collect();
    assert_eq!(
        down,
        vec!["console/page.rs", "db/a.rs"],
        "comments are not imports"
    );
    assert!(!rules::may_import(
        rules::layer_of("db/b.rs").unwrap(),
        rules::layer_of("console/page.rs").unwrap()
    ));
    assert!(rules::may_import(
        rules::layer_of("console/page.rs").unwrap(),
        rules::layer_of("db/b.rs").unwrap()
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
