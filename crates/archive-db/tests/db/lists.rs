//! Paged lists and playlist order.

use std::collections::BTreeSet;

use archive_db::{DbError, NewArtist, NewSong, PageRequest, SongFilter, SortOrder};
use archive_testkit::on_each_backend;

use crate::fixture;

#[tokio::test]
async fn keyset_pages_return_every_row_once_in_order() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        for i in 0..23 {
            // Upper and lower case mixed: sorting is by the normalised name.
            let name = if i % 2 == 0 { format!("artist {i:02}") } else { format!("ARTIST {i:02}") };
            tx.insert_artist(NewArtist { name, ..Default::default() }).await.unwrap();
        }
        tx.commit().await.unwrap();
        for order in [SortOrder::Asc, SortOrder::Desc] {
            let mut names = Vec::new();
            let mut cursor = None;
            let mut pages = 0;
            loop {
                let page = db
                    .artists(&PageRequest { limit: Some(5), cursor, order, ..Default::default() })
                    .await
                    .unwrap();
                pages += 1;
                assert!(page.items.len() <= 5);
                names.extend(page.items.iter().map(|a| a.name.to_lowercase()));
                match page.next_cursor {
                    Some(next) => cursor = Some(next),
                    None => break,
                }
            }
            assert_eq!(pages, 5);
            let mut expected: Vec<String> = (0..23).map(|i| format!("artist {i:02}")).collect();
            if order == SortOrder::Desc {
                expected.reverse();
            }
            assert_eq!(names, expected);
        }
    })
    .await;
}

#[tokio::test]
async fn paging_edges_are_checked() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let empty = db.artists(&PageRequest::default()).await.unwrap();
        assert!(empty.items.is_empty());
        assert_eq!(empty.next_cursor, None);
        for limit in [0, -1, 501] {
            let err =
                db.artists(&PageRequest { limit: Some(limit), ..Default::default() }).await.unwrap_err();
            assert!(matches!(err, DbError::Invalid { .. }), "limit {limit}: {err:?}");
        }
        let err = db.artists(&PageRequest { offset: Some(-1), ..Default::default() }).await.unwrap_err();
        assert!(matches!(err, DbError::Invalid { .. }));
        let err = db
            .artists(&PageRequest { sort: Some("password".into()), ..Default::default() })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("name, created_at, updated_at"), "{err}");
        for cursor in ["zz", "00", "7b7d"] {
            let err = db
                .artists(&PageRequest { cursor: Some(cursor.into()), ..Default::default() })
                .await
                .unwrap_err();
            assert!(matches!(err, DbError::Invalid { .. }), "{cursor}: {err:?}");
        }
    })
    .await;
}

#[tokio::test]
async fn a_cursor_from_one_sort_is_refused_for_another() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        for i in 0..3 {
            tx.insert_artist(NewArtist { name: format!("A{i}"), ..Default::default() }).await.unwrap();
        }
        tx.commit().await.unwrap();
        let page = db.artists(&PageRequest { limit: Some(1), ..Default::default() }).await.unwrap();
        let cursor = page.next_cursor.unwrap();
        let err = db
            .artists(&PageRequest {
                cursor: Some(cursor),
                sort: Some("created_at".into()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(matches!(err, DbError::Invalid { .. }));
    })
    .await;
}

#[tokio::test]
async fn songs_filter_by_artist_album_genre_and_year() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let mut tx = db.begin().await.unwrap();
        tx.insert_song(NewSong { title: "Other".into(), year: Some(1999), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        let all = db.songs(&SongFilter::default(), &PageRequest::default()).await.unwrap();
        assert_eq!(all.items.len(), 2);
        for filter in [
            SongFilter { artist_id: Some(f.artist), ..Default::default() },
            SongFilter { album_id: Some(f.album), ..Default::default() },
            SongFilter { genre_id: Some(f.genre), ..Default::default() },
        ] {
            let page = db.songs(&filter, &PageRequest::default()).await.unwrap();
            assert_eq!(page.items.iter().map(|s| s.id).collect::<Vec<_>>(), vec![f.song], "{filter:?}");
        }
        let by_year = db
            .songs(&SongFilter { year: Some(1999), ..Default::default() }, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(by_year.items.len(), 1);
        assert_eq!(by_year.items[0].title, "Other");
    })
    .await;
}

#[tokio::test]
async fn four_hundred_songs_added_at_the_top_of_a_playlist_record_four_hundred_changes() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let before = db.change_count().await.unwrap();
        let mut added = Vec::new();
        for _ in 0..400 {
            let mut tx = db.begin().await.unwrap();
            added.push(tx.add_playlist_entry(f.playlist, f.song, Some(0)).await.unwrap().id);
            tx.commit().await.unwrap();
        }
        assert_eq!(db.change_count().await.unwrap() - before, 400, "one change per added entry");
        // Moving the last to the top and removing one are one change each too.
        let mut tx = db.begin().await.unwrap();
        let moved = tx.move_playlist_entry(f.playlist, f.entry, 0).await.unwrap();
        assert_eq!(moved.position, 0);
        tx.remove_playlist_entry(f.playlist, added[0]).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(db.change_count().await.unwrap() - before, 402);
        let page = db
            .playlist_entries(f.playlist, &PageRequest { limit: Some(500), ..Default::default() })
            .await
            .unwrap();
        let mut expected = vec![f.entry];
        expected.extend(added.iter().rev().take(399));
        assert_eq!(page.items.iter().map(|e| e.id).collect::<Vec<_>>(), expected);
    })
    .await;
}

#[tokio::test]
async fn playlist_positions_stay_dense_through_add_move_and_remove() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let mut tx = db.begin().await.unwrap();
        let mut entries = vec![f.entry];
        for _ in 0..4 {
            entries.push(tx.add_playlist_entry(f.playlist, f.song, None).await.unwrap().id);
        }
        // Insert at the front, move the last to position 1, remove the third.
        let front = tx.add_playlist_entry(f.playlist, f.song, Some(0)).await.unwrap().id;
        entries.insert(0, front);
        let last = *entries.last().unwrap();
        tx.move_playlist_entry(f.playlist, last, 1).await.unwrap();
        entries.pop();
        entries.insert(1, last);
        tx.remove_playlist_entry(f.playlist, entries[2]).await.unwrap();
        entries.remove(2);
        tx.commit().await.unwrap();

        let page = db.playlist_entries(f.playlist, &PageRequest::default()).await.unwrap();
        assert_eq!(page.items.iter().map(|e| e.id).collect::<Vec<_>>(), entries);
        assert_eq!(
            page.items.iter().map(|e| e.position).collect::<Vec<_>>(),
            (0..entries.len() as i64).collect::<Vec<_>>()
        );
        let unique: BTreeSet<i64> = page.items.iter().map(|e| e.position).collect();
        assert_eq!(unique.len(), entries.len());
        // Paged two at a time, positions go on from page to page.
        let mut cursor = None;
        let mut positions = Vec::new();
        loop {
            let request = PageRequest { limit: Some(2), cursor: cursor.clone(), ..Default::default() };
            let page = db.playlist_entries(f.playlist, &request).await.unwrap();
            positions.extend(page.items.iter().map(|e| e.position));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(positions, (0..entries.len() as i64).collect::<Vec<_>>());
    })
    .await;
}

#[tokio::test]
async fn listening_data_counts_plays_and_keeps_favourite_and_rating() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let f = fixture(db).await;
        let mut tx = db.begin().await.unwrap();
        tx.set_rating(f.user, f.song, Some(4)).await.unwrap();
        tx.record_play(f.user, f.song, archive_db::now()).await.unwrap();
        assert!(matches!(tx.set_rating(f.user, f.song, Some(6)).await, Err(DbError::Invalid { .. })));
        tx.commit().await.unwrap();
        let data = db.listening(f.user, f.song).await.unwrap();
        assert!(data.favourite);
        assert_eq!(data.rating, Some(4));
        assert_eq!(data.play_count, 2);
        assert!(data.last_played_at.is_some());
        let favourites = db.favourite_songs(f.user, &PageRequest::default()).await.unwrap();
        assert_eq!(favourites.items.len(), 1);
        let most = db.most_played(f.user, 10, 0).await.unwrap();
        assert_eq!(most[0].play_count, 2);
        let recent = db.recent_plays(f.user, &PageRequest::default()).await.unwrap();
        assert_eq!(recent.items.len(), 2);
        assert!(recent.items[0].played_at >= recent.items[1].played_at);
    })
    .await;
}
