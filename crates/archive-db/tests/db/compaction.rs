//! Compaction of the master's change log: one entry per live row stays,
//! superseded entries go at once, tombstones go after the retention and
//! move the retention floor past them.

use archive_db::{ArtistPatch, NewArtist};
use archive_testkit::on_each_backend;

#[tokio::test]
async fn compaction_keeps_one_entry_per_row_and_drops_tombstones_after_the_retention() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let kept = tx.insert_artist(NewArtist { name: "Kept".into(), ..Default::default() }).await.unwrap();
        for name in ["Kept 2", "Kept 3"] {
            tx.update_artist(kept.id, ArtistPatch { name: Some(name.into()), ..Default::default() })
                .await
                .unwrap();
        }
        let gone = tx.insert_artist(NewArtist { name: "Gone".into(), ..Default::default() }).await.unwrap();
        tx.delete_artist(gone.id).await.unwrap();
        tx.commit().await.unwrap();
        let entries = crate::settled_changes(db).await.len();
        let floor = db.sync_retention_floor().await.unwrap();

        // Within the retention: superseded entries go, the tombstone stays.
        let first = db.compact_change_log(chrono::Duration::hours(1)).await.unwrap();
        assert_eq!((first.superseded, first.expired_tombstones), (3, 0));
        assert_eq!(crate::settled_changes(db).await.len(), entries - 3);
        assert_eq!(db.sync_retention_floor().await.unwrap(), floor, "the floor stays");

        // Past the retention: the tombstone goes and the floor moves past it.
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let second = db.compact_change_log(chrono::Duration::zero()).await.unwrap();
        assert_eq!((second.superseded, second.expired_tombstones), (0, 1));
        let remaining = crate::settled_changes(db).await;
        assert_eq!(remaining.len(), entries - 4);
        assert!(remaining.iter().any(|c| c.row_id == kept.id), "the live row keeps its entry");
        assert!(remaining.iter().all(|c| c.row_id != gone.id));
        assert!(db.sync_retention_floor().await.unwrap() > floor, "the floor moved");
    })
    .await;
}
