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
