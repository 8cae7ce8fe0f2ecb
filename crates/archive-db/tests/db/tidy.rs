//! Rules of the codebase, checked by reading it.

use std::path::{Path, PathBuf};

use archive_db::{Backend, SYNCED_TABLES};
use archive_testkit::TestDb;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "target") {
                rust_files(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Only the database layer writes to synced tables (the capture triggers
/// record any write, but the write path stays in one place).
#[test]
fn only_archive_db_writes_synced_tables() {
    let mut files = Vec::new();
    for krate in std::fs::read_dir(workspace().join("crates")).unwrap() {
        let krate = krate.unwrap().path();
        if krate.ends_with("archive-db") {
            continue;
        }
        let src = krate.join("src");
        if src.is_dir() {
            rust_files(&src, &mut files);
        }
    }
    assert!(!files.is_empty());
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap().to_lowercase();
        for table in SYNCED_TABLES {
            for verb in ["insert into", "update", "delete from"] {
                let needle = format!("{verb} {table}");
                let hit = text.match_indices(&needle).any(|(i, _)| {
                    let after = text[i + needle.len()..].chars().next();
                    !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                assert!(!hit, "{} writes {table} directly; go through archive-db", file.display());
            }
        }
    }
}

#[test]
fn no_placeholders_or_debug_prints_in_the_code() {
    let mut files = Vec::new();
    rust_files(&workspace().join("crates"), &mut files);
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for banned in [concat!("todo", "!("), concat!("unimplemented", "!("), concat!("dbg", "!(")] {
            assert!(!text.contains(banned), "{} contains {banned}", file.display());
        }
    }
}

/// The code of a Rust file, line by line, without comments (`//` to the
/// end of a line; doc comments name things freely).
fn code_lines(file: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .map(|(i, line)| (i + 1, line.split(" // ").next().unwrap_or_default().to_owned()))
        .collect()
}

/// SQL that only one of the two databases speaks.
const DIALECT_SQL: &[&str] = &[
    "xid8",
    "::bigint",
    "::text",
    "::integer",
    "pg_snapshot",
    "pg_current",
    "pg_dump",
    "bool_or",
    "PRAGMA",
    ".pragma(",
    "sqlite_schema",
    "BEGIN IMMEDIATE",
    "VACUUM",
    "ts_rank",
    "bm25",
    "COLLATE",
    "unaccent",
    "tsvector",
    "set_config",
    "current_setting",
    "ILIKE",
    "REPEATABLE READ",
    "AUTOINCREMENT",
    "information_schema",
];

/// Dialect SQL is written in `sqlite.rs` and `postgres.rs`, and where
/// connections and migrations are set up (`backend.rs`, `migrations.rs`);
/// every other module of `archive-db` speaks SQL both databases take.
#[test]
fn dialect_sql_lives_only_in_the_dialect_modules() {
    let src = workspace().join("crates/archive-db/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let allowed = ["sqlite.rs", "postgres.rs", "backend.rs", "migrations.rs"];
    for file in files.iter().filter(|f| !allowed.iter().any(|a| f.ends_with(a))) {
        for (number, line) in code_lines(file) {
            for marker in DIALECT_SQL {
                assert!(
                    !line.contains(marker),
                    "{}:{number} has dialect SQL ({marker}); put it in sqlite.rs and postgres.rs",
                    file.display()
                );
            }
        }
    }
}

/// Outside `archive-db`, the product's code (the server and the importer)
/// never knows which database runs: no driver, no backend variant, no
/// database file name, no SQL. Words meant for people (`--help`, messages)
/// may name the two databases Archive supports.
#[test]
fn only_archive_db_knows_which_database_runs() {
    let mut files = Vec::new();
    for krate in ["archive", "archive-media"] {
        rust_files(&workspace().join("crates").join(krate).join("src"), &mut files);
    }
    assert!(files.len() > 20);
    let banned = [
        "sqlx",
        "Backend::Sqlite",
        "Backend::Postgres",
        "archive.db",
        "SQLITE_FILE",
        "SqlitePool",
        "PgPool",
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        "CREATE TABLE",
    ];
    for file in &files {
        for (number, line) in code_lines(file) {
            // `archive db backup` runs PostgreSQL's own dump tool when
            // archive-db answers that it is the way (`BackupOutcome`).
            for word in banned.iter().chain(DIALECT_SQL).filter(|w| **w != "pg_dump") {
                assert!(
                    !line.contains(word),
                    "{}:{number} names the database ({word}); that belongs in archive-db",
                    file.display()
                );
            }
        }
    }
}

/// The dialect modules are leaves: they use the error type, the SQL
/// builder, log positions and schema records, never the modules that call
/// them (so reading the log does not go round in a loop).
#[test]
fn the_dialect_modules_depend_only_on_leaf_modules() {
    let leaves = ["error", "sql", "position", "schema"];
    for dialect in ["sqlite.rs", "postgres.rs"] {
        let file = workspace().join("crates/archive-db/src").join(dialect);
        for (number, line) in code_lines(&file) {
            for (i, _) in line.match_indices("crate::") {
                let module: String = line[i + "crate::".len()..]
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                assert!(
                    leaves.contains(&module.as_str())
                        || module.chars().next().is_some_and(char::is_uppercase),
                    "{dialect}:{number} uses crate::{module}; the dialect modules use only {leaves:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn every_synced_table_has_a_uuid_id_and_a_version() {
    let t = TestDb::new(Backend::Sqlite).await.unwrap();
    let schema = t.db.schema().await.unwrap();
    for table in SYNCED_TABLES {
        let info = schema.iter().find(|t| t.name == *table).unwrap_or_else(|| panic!("{table} exists"));
        let column = |name: &str| info.columns.iter().find(|c| c.name == name);
        let id = column("id").unwrap_or_else(|| panic!("{table}.id"));
        assert_eq!(id.sql_type, "blob", "{table}.id is a UUID");
        assert!(column("version").is_some_and(|c| c.not_null), "{table}.version");
    }
}
