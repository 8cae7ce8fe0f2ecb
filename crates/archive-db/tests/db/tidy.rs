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
