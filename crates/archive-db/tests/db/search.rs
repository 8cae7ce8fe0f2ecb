//! Search: ranked, prefix, case and diacritics insensitive, paged, and always
//! in step with the library.

use archive_db::{ArtistPatch, Db, DbError, NewAlbum, NewArtist, NewSong, SearchRequest};
use archive_testkit::on_each_backend;
use uuid::Uuid;

fn request(query: &str) -> SearchRequest {
    SearchRequest { query: query.into(), limit: 20, offset: 0 }
}

async fn song_titles(db: &Db, query: &str) -> Vec<String> {
    db.search_songs(&request(query)).await.unwrap().items.into_iter().map(|s| s.title).collect()
}

/// Beyoncé with one album, Nina Simone with one, and a few loose songs.
async fn library(db: &Db) -> (Uuid, Uuid) {
    let mut tx = db.begin().await.unwrap();
    let beyonce =
        tx.insert_artist(NewArtist { name: "Beyoncé".into(), ..Default::default() }).await.unwrap().id;
    let nina =
        tx.insert_artist(NewArtist { name: "Nina Simone".into(), ..Default::default() }).await.unwrap().id;
    let four = tx
        .insert_album(NewAlbum {
            title: "I Am... Sasha Fierce".into(),
            artist_id: Some(beyonce),
            ..Default::default()
        })
        .await
        .unwrap()
        .id;
    let pastel = tx
        .insert_album(NewAlbum { title: "Pastel Blues".into(), artist_id: Some(nina), ..Default::default() })
        .await
        .unwrap()
        .id;
    for (title, artist, album) in [
        ("Halo", beyonce, four),
        ("Single Ladies", beyonce, four),
        ("Sinnerman", nina, pastel),
        ("Be My Husband", nina, pastel),
    ] {
        let song = NewSong {
            title: title.into(),
            artist_id: Some(artist),
            album_id: Some(album),
            ..Default::default()
        };
        tx.insert_song(song).await.unwrap();
    }
    tx.insert_song(NewSong { title: "Halo Benders Live".into(), ..Default::default() }).await.unwrap();
    tx.commit().await.unwrap();
    (beyonce, nina)
}

#[tokio::test]
async fn finds_names_whatever_their_case_and_diacritics() {
    on_each_backend(|t| async move {
        let db = &t.db;
        library(db).await;
        for query in ["beyonce", "BEYONCÉ", "Beyoncé", "beyoncé"] {
            let artists = db.search_artists(&request(query)).await.unwrap().items;
            assert_eq!(artists.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Beyoncé"], "{query}");
        }
        let albums = db.search_albums(&request("sasha fierce")).await.unwrap().items;
        assert_eq!(albums.len(), 1);
        assert_eq!(albums[0].title, "I Am... Sasha Fierce");
    })
    .await;
}

#[tokio::test]
async fn every_word_is_a_prefix_and_every_word_is_required() {
    on_each_backend(|t| async move {
        let db = &t.db;
        library(db).await;
        let mut typed = song_titles(db, "sin").await;
        typed.sort();
        assert_eq!(typed, ["Single Ladies", "Sinnerman"]);
        assert_eq!(song_titles(db, "sinner nina").await, ["Sinnerman"], "title and artist words together");
        assert_eq!(song_titles(db, "sinnerman beyonce").await, Vec::<String>::new());
        assert_eq!(song_titles(db, "pastel husb").await, ["Be My Husband"], "album words count as context");
        assert_eq!(song_titles(db, " ...!? ").await, Vec::<String>::new(), "no words, no results");
    })
    .await;
}

#[tokio::test]
async fn a_match_in_the_title_ranks_above_a_match_in_the_artist_or_album() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let halo = tx
            .insert_artist(NewArtist { name: "Halo Benders".into(), ..Default::default() })
            .await
            .unwrap()
            .id;
        for title in ["Canned Oceans", "Virginia Reel Around the Fountain"] {
            let song = NewSong { title: title.into(), artist_id: Some(halo), ..Default::default() };
            tx.insert_song(song).await.unwrap();
        }
        tx.insert_song(NewSong { title: "Halo".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let titles = song_titles(db, "halo").await;
        assert_eq!(titles.len(), 3);
        assert_eq!(titles[0], "Halo");
    })
    .await;
}

#[tokio::test]
async fn renames_and_deletes_are_searchable_at_once() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let (beyonce, _) = library(db).await;
        let mut tx = db.begin().await.unwrap();
        tx.update_artist(beyonce, ArtistPatch { name: Some("Queen Bey".into()), ..Default::default() })
            .await
            .unwrap();
        tx.commit().await.unwrap();
        assert!(db.search_artists(&request("beyonce")).await.unwrap().items.is_empty());
        assert_eq!(db.search_artists(&request("queen")).await.unwrap().items.len(), 1);
        let mut by_new_name = song_titles(db, "queen bey").await;
        by_new_name.sort();
        assert_eq!(by_new_name, ["Halo", "Single Ladies"], "songs follow their artist's new name");
        assert_eq!(db.search_albums(&request("queen fierce")).await.unwrap().items.len(), 1);

        let halo = db.search_songs(&request("halo queen")).await.unwrap().items.remove(0);
        let mut tx = db.begin().await.unwrap();
        tx.delete_song(halo.id).await.unwrap();
        tx.delete_artist(beyonce).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(song_titles(db, "halo").await, ["Halo Benders Live"]);
        assert!(db.search_artists(&request("queen")).await.unwrap().items.is_empty());
        assert_eq!(song_titles(db, "single").await, ["Single Ladies"], "a song outlives its deleted artist");
    })
    .await;
}

#[tokio::test]
async fn compacting_the_search_index_merges_it_into_one_piece_and_keeps_every_match() {
    on_each_backend(|t| async move {
        let db = &t.db;
        library(db).await;
        // A dozen commits (a segment each on SQLite), a rename and a delete.
        for n in 0..12 {
            let mut tx = db.begin().await.unwrap();
            tx.insert_song(NewSong { title: format!("Piece {n}"), ..Default::default() }).await.unwrap();
            tx.commit().await.unwrap();
        }
        let sinnerman = db.search_songs(&request("sinnerman")).await.unwrap().items[0].id;
        let benders = db.search_songs(&request("benders")).await.unwrap().items[0].id;
        let mut tx = db.begin().await.unwrap();
        tx.update_song(
            sinnerman,
            archive_db::SongPatch { title: Some("Sinner".into()), ..Default::default() },
        )
        .await
        .unwrap();
        tx.delete_song(benders).await.unwrap();
        tx.commit().await.unwrap();
        if t.backend() == archive_db::Backend::Sqlite {
            assert!(archive_testkit::song_search_segments(db).await > 1, "one segment per commit so far");
        }

        db.compact_search_index().await.unwrap();

        if t.backend() == archive_db::Backend::Sqlite {
            assert_eq!(archive_testkit::song_search_segments(db).await, 1, "merged into one");
        }
        assert_eq!(all_pages(db, "piece", 5).await.len(), 12);
        assert_eq!(song_titles(db, "sinner").await, ["Sinner"]);
        assert!(song_titles(db, "sinnerman").await.is_empty(), "the old title is gone");
        assert_eq!(song_titles(db, "halo").await, ["Halo"], "the deleted song is gone");
        assert_eq!(song_titles(db, "beyonce sasha").await.len(), 2, "matches by artist and album stay");
    })
    .await;
}

#[tokio::test]
async fn results_are_paged_without_gaps_or_repeats() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        for i in 0..25 {
            tx.insert_song(NewSong { title: format!("Variation {i:02}"), ..Default::default() })
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        let mut seen = Vec::new();
        let mut offset = 0;
        for _ in 0..5 {
            let page = db
                .search_songs(&SearchRequest { query: "variation".into(), limit: 10, offset })
                .await
                .unwrap();
            seen.extend(page.items.into_iter().map(|s| s.title));
            match page.next_offset {
                Some(next) => offset = next,
                None => break,
            }
        }
        seen.sort();
        let expected: Vec<String> = (0..25).map(|i| format!("Variation {i:02}")).collect();
        assert_eq!(seen, expected);
    })
    .await;
}

#[tokio::test]
async fn out_of_range_pages_are_invalid() {
    on_each_backend(|t| async move {
        for (limit, offset) in [(0, 0), (101, 0), (10, -1), (10, 10_001)] {
            let err =
                t.db.search_songs(&SearchRequest { query: "x".into(), limit, offset }).await.unwrap_err();
            assert!(matches!(err, DbError::Invalid { .. }), "limit {limit} offset {offset}: {err:?}");
        }
    })
    .await;
}

/// Every page of a search for `query`, `limit` at a time, in order.
async fn all_pages(db: &Db, query: &str, limit: i64) -> Vec<String> {
    let mut seen = Vec::new();
    let mut offset = 0;
    for _ in 0..100 {
        let page = db.search_songs(&SearchRequest { query: query.into(), limit, offset }).await.unwrap();
        assert!(page.items.len() as i64 <= limit);
        seen.extend(page.items.into_iter().map(|s| s.title));
        match page.next_offset {
            Some(next) => offset = next,
            None => return seen,
        }
    }
    panic!("the pages never ended: {seen:?}");
}

#[tokio::test]
async fn a_short_prefix_lists_names_that_start_with_it_in_name_order_then_the_other_matches() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let zoe =
            tx.insert_artist(NewArtist { name: "Zoé Zola".into(), ..Default::default() }).await.unwrap().id;
        for title in ["Zoo Station", "zombie", "Across the Zone", "Amazon", "Zoetrope", "Ozone"] {
            tx.insert_song(NewSong { title: title.into(), ..Default::default() }).await.unwrap();
        }
        let by_zoe = NewSong { title: "Untitled".into(), artist_id: Some(zoe), ..Default::default() };
        tx.insert_song(by_zoe).await.unwrap();
        tx.commit().await.unwrap();

        let expected = ["Zoetrope", "zombie", "Zoo Station", "Across the Zone", "Untitled"];
        let first: Vec<String> = all_pages(db, "zo", 20).await;
        assert_eq!(first[..3], expected[..3], "names that start with it, in name order");
        let mut rest = first[3..].to_vec();
        rest.sort();
        assert_eq!(rest, ["Across the Zone", "Untitled"], "then a later word, and the artist");
        for limit in [1, 2, 3] {
            assert_eq!(all_pages(db, "ZO", limit).await, first, "pages of {limit}: no gap, no repeat");
        }
        assert_eq!(all_pages(db, "z", 20).await[..3], expected[..3]);
        assert!(!all_pages(db, "zom", 20).await.contains(&"Ozone".to_owned()), "a prefix, not a substring");
        // Past the names that start with it, straight into the other matches.
        let page = db.search_songs(&SearchRequest { query: "zo".into(), limit: 1, offset: 4 }).await.unwrap();
        assert_eq!(page.items.len(), 1);
        assert_eq!(page.next_offset, None);
        assert!(
            db.search_songs(&SearchRequest { query: "zo".into(), limit: 5, offset: 9 })
                .await
                .unwrap()
                .items
                .is_empty()
        );
    })
    .await;
}

#[tokio::test]
async fn songs_written_in_bulk_and_one_by_one_in_the_same_transaction_are_all_searchable() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let bulk = (0..3)
            .map(|i| archive_db::ImportedSong {
                song: NewSong {
                    id: Some(Uuid::now_v7()),
                    title: format!("Bulkhead {i}"),
                    ..Default::default()
                },
                bytes_changed: false,
            })
            .collect();
        tx.upsert_songs(bulk).await.unwrap();
        tx.insert_song(NewSong { title: "Bulkhead alone".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(song_titles(db, "bulkhead").await.len(), 4);
        let mut tx = db.begin().await.unwrap();
        tx.insert_song(NewSong { title: "Bulkhead later".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(
            song_titles(db, "bulkhead").await.len(),
            5,
            "the next transaction indexes one by one again"
        );
    })
    .await;
}

#[tokio::test]
async fn songs_written_in_bulk_after_the_newest_songs_were_deleted_are_each_found_once_by_title_and_artist() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let artist = tx.ensure_artist("Quillfeather", Uuid::now_v7()).await.unwrap();
        let old = NewSong { title: "Kept Tune".into(), artist_id: Some(artist), ..Default::default() };
        tx.insert_song(old).await.unwrap();
        let newest =
            tx.insert_song(NewSong { title: "Gone Tune".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();
        let mut tx = db.begin().await.unwrap();
        tx.delete_song(newest.id).await.unwrap();
        tx.commit().await.unwrap();

        let bulk = (0..3)
            .map(|i| archive_db::ImportedSong {
                song: NewSong {
                    id: Some(Uuid::now_v7()),
                    title: format!("Fresh Tune {i}"),
                    artist_id: Some(artist),
                    ..Default::default()
                },
                bytes_changed: false,
            })
            .collect();
        let mut tx = db.begin().await.unwrap();
        tx.upsert_songs(bulk).await.unwrap();
        tx.commit().await.unwrap();

        assert_eq!(song_titles(db, "fresh tune").await.len(), 3);
        let mut by_artist = song_titles(db, "quillfeather").await;
        by_artist.sort();
        assert_eq!(by_artist, ["Fresh Tune 0", "Fresh Tune 1", "Fresh Tune 2", "Kept Tune"]);
        assert!(song_titles(db, "gone tune").await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn artists_and_albums_created_in_bulk_are_searchable_by_name_and_albums_by_their_artist() {
    on_each_backend(|t| async move {
        let db = &t.db;
        let mut tx = db.begin().await.unwrap();
        let names: Vec<(String, Uuid)> =
            ["Ottoline Vale", "Ottoline Ash"].iter().map(|name| (name.to_string(), Uuid::now_v7())).collect();
        let artists = tx.ensure_artists(&names).await.unwrap();
        let albums = (0..2)
            .map(|n| NewAlbum {
                id: Some(Uuid::now_v7()),
                title: format!("Harbour Lights {n}"),
                artist_id: Some(artists[0]),
                year: None,
            })
            .collect();
        tx.ensure_albums(albums).await.unwrap();
        // One by one again after the bulk write, in the same transaction.
        tx.insert_artist(NewArtist { name: "Ottoline Later".into(), ..Default::default() }).await.unwrap();
        tx.commit().await.unwrap();

        let artist_names = |query: &'static str| async move {
            let page = db.search_artists(&request(query)).await.unwrap();
            let mut names: Vec<String> = page.items.into_iter().map(|a| a.name).collect();
            names.sort();
            names
        };
        assert_eq!(artist_names("ottoline").await, ["Ottoline Ash", "Ottoline Later", "Ottoline Vale"]);
        let by_artist = db.search_albums(&request("vale")).await.unwrap().items;
        assert_eq!(by_artist.len(), 2, "albums are found by their artist's name");
        assert_eq!(db.search_albums(&request("harbour lights")).await.unwrap().items.len(), 2);
    })
    .await;
}
