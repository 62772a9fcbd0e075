//! The schema stays honest: a landed migration never changes, and `src/db/schema.rs` says
//! exactly what the migrations create (see migrations/README.md).

use std::collections::BTreeMap;

use diesel::QueryableByName;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;
use sha2::{Digest, Sha256};

use crate::helpers::TestApp;

fn repo(path: &str) -> String {
    format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn sha256_hex(path: &str) -> String {
    let bytes = std::fs::read(repo(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    hex::encode(Sha256::digest(bytes))
}

#[test]
fn landed_migrations_are_never_edited() {
    let readme = std::fs::read_to_string(repo("migrations/README.md")).unwrap();
    let mut listed = BTreeMap::new();
    for line in readme.lines().filter(|l| l.starts_with("| 20")) {
        let cells: Vec<&str> = line
            .split('|')
            .map(|c| c.trim().trim_matches('`'))
            .collect();
        listed.insert(
            cells[1].to_string(),
            (cells[2].to_string(), cells[3].to_string()),
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(repo("migrations"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(
        listed.keys().cloned().collect::<Vec<_>>(),
        on_disk,
        "every migration is listed in migrations/README.md, with its checksums"
    );
    for (name, (up, down)) in &listed {
        assert_eq!(
            &sha256_hex(&format!("migrations/{name}/up.sql")),
            up,
            "{name}/up.sql changed after it landed: write a new migration instead"
        );
        assert_eq!(
            &sha256_hex(&format!("migrations/{name}/down.sql")),
            down,
            "{name}/down.sql changed after it landed"
        );
    }
}

/// `table -> column -> (type, nullable)`.
type Tables = BTreeMap<String, Columns>;
type Columns = BTreeMap<String, (String, bool)>;

/// The tables as `src/db/schema.rs` declares them, with diesel's type names.
fn declared() -> Tables {
    let text = std::fs::read_to_string(repo("src/db/schema.rs")).unwrap();
    let mut tables = BTreeMap::new();
    let mut current: Option<(String, Columns)> = None;
    for line in text.lines().map(str::trim) {
        if let Some((name, _)) = line.split_once(" (").filter(|_| line.ends_with(") {")) {
            current = Some((name.to_string(), BTreeMap::new()));
        } else if let (Some((_, columns)), Some((column, ty))) =
            (current.as_mut(), line.split_once(" -> "))
        {
            let ty = ty.trim_end_matches(',');
            let (ty, nullable) = match ty.strip_prefix("Nullable<") {
                Some(inner) => (inner.trim_end_matches('>'), true),
                None => (ty, false),
            };
            columns.insert(column.to_string(), (ty.to_string(), nullable));
        } else if line == "}"
            && let Some((name, columns)) = current.take()
        {
            tables.insert(name, columns);
        }
    }
    tables
}

/// PostgreSQL's type name (`udt_name`) for a diesel type.
fn udt(diesel_type: &str) -> &str {
    match diesel_type {
        "Uuid" => "uuid",
        "Text" => "text",
        "Timestamptz" => "timestamptz",
        "Bool" => "bool",
        "Int4" => "int4",
        "Int8" => "int8",
        "Bytea" => "bytea",
        "Jsonb" => "jsonb",
        "Cidr" => "cidr",
        "Array<Text>" => "_text",
        other => other,
    }
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    column_name: String,
    #[diesel(sql_type = Text)]
    udt_name: String,
    #[diesel(sql_type = Text)]
    is_nullable: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schema_rs_says_exactly_what_the_migrations_create() {
    let app = TestApp::spawn().await;
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text, column_name::text, udt_name::text, is_nullable::text \
         FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
    )
    .load(&mut *app.conn().await)
    .await
    .unwrap();
    let mut actual = Tables::new();
    for c in columns {
        actual
            .entry(c.table_name)
            .or_default()
            .insert(c.column_name, (c.udt_name, c.is_nullable == "YES"));
    }
    let declared: Tables = declared()
        .into_iter()
        .map(|(table, columns)| {
            let columns = columns
                .into_iter()
                .map(|(name, (ty, nullable))| (name, (udt(&ty).to_string(), nullable)))
                .collect();
            (table, columns)
        })
        .collect();
    assert_eq!(
        declared.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "tables and views"
    );
    for (table, columns) in &actual {
        let mut columns = columns.clone();
        if table == "credential_scopes" {
            // A view's columns all read as nullable to PostgreSQL; schema.rs says what they hold.
            columns
                .values_mut()
                .for_each(|(_, nullable)| *nullable = false);
        }
        assert_eq!(&declared[table], &columns, "columns of {table}");
    }
}
