//! A slave applying the master's pages (`Db::apply_master_rows`), whose
//! rows' columns are read ahead of the write (`sync::MasterRows`).

use archive_db::sync::slave::Applied;
use archive_db::sync::{MasterRows, RowState};
use archive_testkit::on_each_backend;
use serde_json::json;
use uuid::Uuid;

fn artist(id: Uuid, name: &str, extra: Option<(&str, &str)>) -> RowState {
    let now = "2026-12-07T12:00:00Z";
    let mut row = json!({
        "id": id, "name": name, "name_key": name.to_lowercase(), "biography": null,
        "created_at": now, "updated_at": now,
    });
    if let Some((key, value)) = extra {
        row[key] = json!(value);
    }
    let serde_json::Value::Object(image) = row else { unreachable!("a JSON object") };
    RowState { table: "artists".into(), id, version: 1, row: Some(image) }
}

#[tokio::test]
async fn a_malformed_row_from_the_master_is_skipped_and_the_rest_of_its_page_applied() {
    on_each_backend(|t| async move {
        // Enough rows that SQLite writes them through its staging table.
        let mut rows: Vec<RowState> =
            (0..60).map(|n| artist(Uuid::now_v7(), &format!("Artist {n:02}"), None)).collect();
        let stranger = Uuid::now_v7();
        let forged = Uuid::now_v7();
        rows.insert(20, artist(stranger, "Stranger", Some(("owner", "someone"))));
        let mut wrong_id = artist(forged, "Forged", None);
        wrong_id.id = Uuid::now_v7();
        rows.insert(40, wrong_id);

        let page = MasterRows::new(rows);
        let applied = t.db.apply_master_rows(&page, "test.cursor", "c1").await.unwrap();
        assert_eq!(applied, Applied { written: 60, deleted: 0, skipped: 2 });

        let artists = t.db.artist_entries().await.unwrap();
        assert_eq!(artists.len(), 60);
        assert!(artists.iter().all(|a| a.id != stranger && a.id != forged && a.name != "Forged"));
        assert!(artists.iter().any(|a| a.name == "Artist 59" && a.name_key == "artist 59"));
        assert_eq!(t.db.sync_state("test.cursor").await.unwrap().as_deref(), Some("c1"));
    })
    .await;
}

#[tokio::test]
async fn a_page_of_edits_takes_each_newer_row_whole_and_leaves_rows_that_are_not_newer() {
    on_each_backend(|t| async move {
        let ids: Vec<Uuid> = (0..60).map(|_| Uuid::now_v7()).collect();
        let first: Vec<RowState> =
            ids.iter().enumerate().map(|(n, id)| artist(*id, &format!("Artist {n:02}"), None)).collect();
        t.db.apply_master_rows(&MasterRows::new(first), "test.cursor", "c1").await.unwrap();

        // Renamed (an indexed column) at version 2; renamed at the same
        // version 1, which must not stand; only a biography (no index) at
        // version 2; and five new rows.
        let mut second = Vec::new();
        for (n, id) in ids.iter().enumerate() {
            let mut row = match n {
                0..20 => artist(*id, &format!("Renamed {n:02}"), None),
                20..40 => artist(*id, &format!("Not newer {n:02}"), None),
                _ => artist(*id, &format!("Artist {n:02}"), Some(("biography", "Now with a story"))),
            };
            row.version = if (20..40).contains(&n) { 1 } else { 2 };
            second.push(row);
        }
        let new: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        second.extend(new.iter().enumerate().map(|(n, id)| artist(*id, &format!("New {n}"), None)));
        let applied = t.db.apply_master_rows(&MasterRows::new(second), "test.cursor", "c2").await.unwrap();
        assert_eq!(applied.written, 65);

        let rows = t.db.bootstrap_page("artists", None, 1000).await.unwrap().rows;
        assert_eq!(rows.len(), 65);
        for (n, id) in ids.iter().enumerate() {
            let row = rows.iter().find(|r| r.id == *id).expect("every artist is kept");
            let image = row.row.as_ref().expect("a row, not a tombstone");
            let (name, version, biography) = match n {
                0..20 => (format!("Renamed {n:02}"), 2, None),
                20..40 => (format!("Artist {n:02}"), 1, None),
                _ => (format!("Artist {n:02}"), 2, Some("Now with a story")),
            };
            assert_eq!(image["name"], json!(name), "artist {n}");
            assert_eq!(image["name_key"], json!(name.to_lowercase()), "artist {n}");
            assert_eq!(image["biography"], json!(biography), "artist {n}");
            assert_eq!(row.version, version, "artist {n}");
        }
        assert!(new.iter().all(|id| rows.iter().any(|r| r.id == *id)), "new rows are inserted");
        let by_name = t.db.artist_entries().await.unwrap();
        assert!(by_name.iter().any(|a| a.name_key == "renamed 05"), "the name index follows");
        assert!(!by_name.iter().any(|a| a.name_key.starts_with("not newer")));
    })
    .await;
}
