//! Importing folders: the library it builds, bad files, re-imports, identity.

use std::path::Path;
use std::sync::Arc;

use archive_db::{Db, PageRequest, SongFilter};
use archive_media::{ImportReport, Progress, import};
use archive_testkit::{TestDb, on_each_backend};

use crate::audio::{ffmpeg_available, format, full_tags, make};

async fn run(db: &Db, root: &Path) -> ImportReport {
    import(db, &[root.to_owned()], Arc::new(Progress::default())).await.unwrap()
}

async fn all_songs(db: &Db) -> Vec<archive_db::Song> {
    db.songs(&SongFilter::default(), &PageRequest { limit: Some(500), ..Default::default() })
        .await
        .unwrap()
        .items
}

/// A small library: two albums by one artist, one by another.
fn library(root: &Path) {
    for (artist, album, titles) in [
        ("Nina Simone", "Pastel Blues", &["Be My Husband", "Sinnerman"][..]),
        ("Nina Simone", "Wild Is the Wind", &["Four Women"][..]),
        ("Miles Davis", "Kind of Blue", &["So What", "Blue in Green"][..]),
    ] {
        for (i, title) in titles.iter().enumerate() {
            let path = root.join(artist).join(album).join(format!("{:02} - {title}.flac", i + 1));
            let mut tags = full_tags(title, artist, album);
            tags.retain(|(k, _)| *k != "track");
            let track = (i + 1).to_string();
            tags.push(("track", &track));
            make(&path, format("flac"), &tags, 0.5, 300 + 100 * i as u32 + title.len() as u32);
        }
    }
}

#[tokio::test]
async fn a_folder_becomes_artists_albums_genres_and_songs() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    on_each_backend(|t| {
        let root = dir.path().to_owned();
        async move {
            let db = &t.db;
            let report = run(db, &root).await;
            assert_eq!((report.seen, report.imported, report.skipped), (5, 5, 0), "{report:?}");
            assert!(report.failed.is_empty(), "{:?}", report.failed);
            let songs = all_songs(db).await;
            assert_eq!(songs.len(), 5);
            let nina = db.artist_by_name("nina simone").await.unwrap().expect("the artist exists");
            assert_eq!(nina.name, "Nina Simone");
            let albums = db
                .albums(
                    &archive_db::AlbumFilter { artist_id: Some(nina.id), year: None },
                    &PageRequest::default(),
                )
                .await
                .unwrap();
            assert_eq!(albums.items.len(), 2);
            let sinnerman = songs.iter().find(|s| s.title == "Sinnerman").unwrap();
            assert_eq!(sinnerman.track_number, Some(2));
            assert_eq!(sinnerman.year, Some(1965));
            assert_eq!(sinnerman.format.as_deref(), Some("flac"));
            assert!(sinnerman.content_hash.as_ref().is_some_and(|h| h.len() == 64));
            assert_eq!(db.genres(&PageRequest::default()).await.unwrap().items.len(), 1);
            let location = db.file_location(sinnerman.id).await.unwrap().unwrap();
            assert!(location.path.ends_with("Nina Simone/Pastel Blues/02 - Sinnerman.flac"));
            // Written in bulk, found by search like any other song.
            let found = db
                .search_songs(&archive_db::SearchRequest {
                    query: "sinnerm pastel".into(),
                    limit: 5,
                    offset: 0,
                })
                .await
                .unwrap();
            assert_eq!(found.items.iter().map(|s| s.id).collect::<Vec<_>>(), [sinnerman.id]);
            assert_eq!(location.status.as_str(), "present");
        }
    })
    .await;
}

#[tokio::test]
async fn bad_files_are_reported_and_skipped_while_the_import_goes_on() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    make(&root.join("good/01 - Fine.mp3"), format("mp3"), &[("title", "Fine")], 0.5, 440);
    make(&root.join("good/disguised.flac"), format("flac"), &[("title", "Disguised")], 0.5, 550);
    std::fs::rename(root.join("good/disguised.flac"), root.join("good/actually flac.mp3")).unwrap();
    std::fs::create_dir_all(root.join("bad")).unwrap();
    std::fs::write(root.join("bad/zero.mp3"), b"").unwrap();
    std::fs::write(root.join("bad/letter.ogg"), "Dear Archive,\n".repeat(100)).unwrap();
    let noise: Vec<u8> = (0..50_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
    std::fs::write(root.join("bad/noise.flac"), noise).unwrap();
    let flac = root.join("bad/whole.flac");
    make(&flac, format("flac"), &[("title", "Cut short")], 0.5, 660);
    let bytes = std::fs::read(&flac).unwrap();
    std::fs::write(root.join("bad/truncated.flac"), &bytes[..60]).unwrap();
    std::fs::remove_file(&flac).unwrap();
    std::fs::write(root.join("bad/cover.jpg"), b"not audio, and not looked at").unwrap();

    on_each_backend(|t| {
        let root = root.to_owned();
        async move {
            let db = &t.db;
            let report = run(db, &root).await;
            let mut failed: Vec<&str> =
                report.failed.iter().map(|f| f.path.rsplit('/').next().unwrap()).collect();
            failed.sort();
            assert_eq!(failed, ["letter.ogg", "noise.flac", "truncated.flac", "zero.mp3"], "{report:?}");
            assert!(report.failed.iter().all(|f| !f.error.is_empty()));
            assert_eq!(report.imported, 2);
            let titles: Vec<String> = all_songs(db).await.into_iter().map(|s| s.title).collect();
            assert_eq!(titles.len(), 2, "nothing is written for a bad file: {titles:?}");
            assert!(titles.contains(&"Disguised".to_owned()));
        }
    })
    .await;
}

/// Writes `path` again with `change` applied to its bytes.
fn damage(path: &Path, change: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    change(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

/// Where `needle` starts in `bytes`.
fn find(bytes: &[u8], needle: &[u8]) -> usize {
    bytes.windows(needle.len()).position(|w| w == needle).expect("the bytes are there")
}

#[tokio::test]
async fn a_playable_file_with_damaged_tags_is_kept_and_what_was_skipped_is_reported() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("Band/Record");
    // An invalid frame among good ones: the date frame's text encoding is
    // not one ID3v2 has.
    let frame = root.join("01 - Bad Frame.mp3");
    make(&frame, format("mp3"), &full_tags("Kept Title", "Kept Artist", "Kept Album"), 0.5, 440);
    damage(&frame, |b| {
        let at = find(b, b"TDRC");
        b[at + 10] = 9;
    });
    // An ID3v2 tag whose header claims far more bytes than the file has.
    let sized = root.join("02 - Wrong Size.mp3");
    make(&sized, format("mp3"), &full_tags("Lost", "Lost", "Lost"), 0.5, 550);
    damage(&sized, |b| b[6..10].copy_from_slice(&[0x7f, 0x7f, 0x7f, 0x7f]));
    // A FLAC metadata block (the tags) shorter than the data it holds.
    let block = root.join("03 - Short Block.flac");
    make(&block, format("flac"), &full_tags("Lost", "Lost", "Lost"), 0.5, 660);
    damage(&block, |b| {
        let mut at = 4;
        loop {
            let (kind, length) = (b[at] & 0x7f, u32::from_be_bytes([0, b[at + 1], b[at + 2], b[at + 3]]));
            if kind == 4 {
                b[at + 1..at + 4].copy_from_slice(&(length - 10).to_be_bytes()[1..]);
                break;
            }
            at += 4 + length as usize;
        }
    });
    // A file cut off half way: its first half still plays.
    let cut = root.join("04 - Cut.mp3");
    make(&cut, format("mp3"), &full_tags("Cut", "Band", "Record"), 1.0, 770);
    damage(&cut, |b| b.truncate(b.len() / 2));

    on_each_backend(|t| {
        let root = dir.path().to_owned();
        async move {
            let db = &t.db;
            let report = run(db, &root).await;
            assert!(report.failed.is_empty(), "{report:?}");
            assert_eq!(report.imported, 4, "{report:?}");
            let warned = |name: &str| {
                report
                    .warnings
                    .iter()
                    .find(|w| w.path.ends_with(name))
                    .map(|w| w.error.clone())
                    .unwrap_or_default()
            };
            let frame = warned("01 - Bad Frame.mp3");
            assert!(frame.contains("tag frame was skipped") && frame.contains("TDRC"), "{frame}");
            assert!(warned("02 - Wrong Size.mp3").contains("ID3v2 tag claims a wrong size"), "{report:?}");
            assert!(
                warned("03 - Short Block.flac").contains("metadata block has a wrong size"),
                "{report:?}"
            );
            assert_eq!(warned("04 - Cut.mp3"), "", "a cut file with readable tags needs no warning");

            let songs = all_songs(db).await;
            let title =
                |t: &str| songs.iter().find(|s| s.title == t).unwrap_or_else(|| panic!("{t}: {songs:?}"));
            // The good frames of the first file are kept; the others take
            // their names from the path.
            assert!(title("Kept Title").duration_ms.is_some_and(|d| d > 0));
            assert_eq!(title("Wrong Size").track_number, Some(2));
            assert!(title("Short Block").duration_ms.is_some_and(|d| d > 0));
            assert!(title("Cut").duration_ms.is_some());
        }
    })
    .await;
}

#[tokio::test]
async fn reimport_skips_unchanged_files_updates_changed_ones_and_marks_removed_ones() {
    if !ffmpeg_available() {
        return;
    }
    on_each_backend(|t| async move {
        let db = &t.db;
        let dir = tempfile::tempdir().unwrap();
        library(dir.path());
        let first = run(db, dir.path()).await;
        assert_eq!(first.imported, 5);
        let changes_after_first = db.change_count().await.unwrap();

        let again = run(db, dir.path()).await;
        assert_eq!((again.imported, again.skipped, again.missing), (0, 5, 0), "{again:?}");
        assert_eq!(
            db.change_count().await.unwrap(),
            changes_after_first,
            "an unchanged library writes nothing"
        );

        // Re-tag one file (new content, new modification time) and delete another.
        let retagged = dir.path().join("Miles Davis/Kind of Blue/01 - So What.flac");
        let before = all_songs(db).await.into_iter().find(|s| s.title == "So What").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        make(
            &retagged,
            format("flac"),
            &full_tags("So What (Take 3)", "Miles Davis", "Kind of Blue"),
            0.5,
            777,
        );
        std::fs::remove_file(dir.path().join("Nina Simone/Wild Is the Wind/01 - Four Women.flac")).unwrap();

        let third = run(db, dir.path()).await;
        assert_eq!((third.imported, third.skipped, third.missing), (1, 3, 1), "{third:?}");
        let after = db.song(before.id).await.unwrap().expect("a re-tagged file keeps its song");
        assert_eq!(after.title, "So What (Take 3)");
        assert_ne!(after.content_hash, before.content_hash);
        let gone = all_songs(db).await.into_iter().find(|s| s.title == "Four Women").unwrap();
        assert_eq!(db.file_location(gone.id).await.unwrap().unwrap().status.as_str(), "missing");
    })
    .await;
}

#[tokio::test]
async fn the_same_files_imported_on_two_nodes_get_the_same_ids() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let mut nodes = Vec::new();
    for backend in archive_testkit::backends().into_iter().chain([archive_db::Backend::Sqlite]) {
        let node = TestDb::new(backend).await.unwrap();
        run(&node.db, dir.path()).await;
        nodes.push(node);
    }
    let ids = |songs: Vec<archive_db::Song>| {
        let mut v: Vec<_> = songs.into_iter().map(|s| (s.id, s.artist_id, s.album_id, s.genre_id)).collect();
        v.sort();
        v
    };
    let first = ids(all_songs(&nodes[0].db).await);
    assert_eq!(first.len(), 5);
    for node in &nodes[1..] {
        assert_eq!(ids(all_songs(&node.db).await), first);
    }
}

#[tokio::test]
async fn an_import_stops_at_a_full_database_and_says_so_instead_of_failing_every_file() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    let t = TestDb::sqlite_nearly_full(4).await;
    // Fill what little room is left, with smaller rows as it runs out.
    let mut n = 0;
    for size in [3000, 300, 10] {
        let filled = loop {
            n += 1;
            assert!(n < 5000, "the database never filled up");
            let artist = archive_db::NewArtist {
                name: format!("Filler {n}"),
                biography: Some("x".repeat(size)),
                ..Default::default()
            };
            let written = async {
                let mut tx = t.db.begin().await?;
                tx.insert_artist(artist).await?;
                tx.commit().await
            };
            if let Err(e) = written.await {
                break e;
            }
        };
        assert!(filled.is_unavailable(), "{filled}");
    }
    let result = import(&t.db, &[dir.path().to_owned()], Arc::new(Progress::default())).await;
    match result {
        Err(archive_media::ImportError::Db(e)) => {
            assert!(e.is_unavailable() && e.to_string().contains("disk is full"), "{e}")
        }
        other => panic!("the import went on: {other:?}"),
    }
    // Once there is room again (the limit is a connection's, so a fresh
    // database stands for freed space), the same import succeeds.
    let roomy = TestDb::new(archive_db::Backend::Sqlite).await.unwrap();
    let report = run(&roomy.db, dir.path()).await;
    assert_eq!(report.imported, 5, "{report:?}");
}

/// A WAV file of `seconds` (about 176 kB a second: 8 s is past the size
/// read whole by an identity).
fn large_wav(path: &Path, title: &str, seconds: f64, frequency: u32) {
    make(path, format("wav"), &full_tags(title, "Large Ensemble", "Long Album"), seconds, frequency);
    assert!(std::fs::metadata(path).unwrap().len() > archive_media::identity::WHOLE_FILE_UP_TO);
}

#[tokio::test]
async fn a_large_file_is_imported_from_a_sample_and_its_full_hash_is_recorded_in_the_background() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Large Ensemble/Long Album/01 - Long.wav");
    make(&dir.path().join("small.mp3"), format("mp3"), &[("title", "Small")], 0.5, 550);
    on_each_backend(|t| {
        let (root, path) = (dir.path().to_owned(), path.clone());
        async move {
            let db = &t.db;
            large_wav(&path, "Long", 8.0, 440);
            assert_eq!(run(db, &root).await.imported, 2);
            let songs = all_songs(db).await;
            let long = songs.iter().find(|s| s.title == "Long").unwrap();
            assert_eq!(long.content_hash, None, "an import does not read a large file whole");
            let small = songs.iter().find(|s| s.title == "Small").unwrap();
            assert_eq!(
                small.content_hash.as_ref().map(String::len),
                Some(64),
                "a small file is read whole anyway"
            );

            let changes = db.change_count().await.unwrap();
            let pass = archive_media::hash_pending(db, u64::MAX, &mut Default::default()).await.unwrap();
            assert_eq!((pass.recorded, pass.differ, pass.skipped), (1, 0, 0));
            let hash = archive_media::content_hash(&path).unwrap();
            assert_eq!(db.song(long.id).await.unwrap().unwrap().content_hash, Some(hash.clone()));
            assert_eq!(db.change_count().await.unwrap(), changes + 1, "the hash is a change that syncs");
            assert_eq!(
                archive_media::hash_pending(db, u64::MAX, &mut Default::default()).await.unwrap(),
                Default::default()
            );

            // New bytes at the same path: the song stays, its old hash goes, and the new one comes.
            std::thread::sleep(std::time::Duration::from_millis(20));
            large_wav(&path, "Long", 8.0, 660);
            assert_eq!(run(db, &root).await.imported, 1);
            assert_eq!(db.song(long.id).await.unwrap().unwrap().content_hash, None);
            assert_eq!(
                archive_media::hash_pending(db, u64::MAX, &mut Default::default()).await.unwrap().recorded,
                1
            );
            let rehashed = db.song(long.id).await.unwrap().unwrap().content_hash.unwrap();
            assert_ne!(rehashed, hash);
            assert_eq!(rehashed, archive_media::content_hash(&path).unwrap());
        }
    })
    .await;
}

#[tokio::test]
async fn a_song_imported_before_sampling_keeps_its_id_when_a_node_imports_its_file() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let large = dir.path().join("Large Ensemble/Long Album/01 - Long.wav");
    large_wav(&large, "Long", 8.0, 440);
    let small = dir.path().join("Large Ensemble/Long Album/02 - Short.mp3");
    make(&small, format("mp3"), &full_tags("Short", "Large Ensemble", "Long Album"), 0.5, 550);
    on_each_backend(|t| {
        let root = dir.path().to_owned();
        let files = [large.clone(), small.clone()];
        async move {
            let db = &t.db;
            // The rows an earlier release wrote (here, or on another node and
            // synced): ids from the whole file's hash, and no file here yet.
            let mut old_ids = Vec::new();
            let mut tx = db.begin().await.unwrap();
            for path in &files {
                let hash = archive_media::content_hash(path).unwrap();
                let id = archive_media::identity::song_id_from_full_hash(&hash);
                let song = archive_db::NewSong {
                    id: Some(id),
                    title: "Synced before".into(),
                    file_size: Some(std::fs::metadata(path).unwrap().len() as i64),
                    content_hash: Some(hash),
                    ..Default::default()
                };
                tx.insert_song(song).await.unwrap();
                old_ids.push(id);
            }
            tx.commit().await.unwrap();

            let report = run(db, &root).await;
            assert_eq!(report.imported, 2, "{report:?}");
            let mut ids: Vec<_> = all_songs(db).await.into_iter().map(|s| s.id).collect();
            ids.sort();
            old_ids.sort();
            assert_eq!(ids, old_ids, "no second song for the same file");
            for id in old_ids {
                assert!(db.file_location(id).await.unwrap().is_some());
            }
        }
    })
    .await;
}

#[tokio::test]
async fn two_nodes_importing_the_same_large_file_agree_on_its_song_before_either_hashes_it_whole() {
    if !ffmpeg_available() {
        return;
    }
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    large_wav(&one.path().join("a/Long.wav"), "Long", 8.0, 440);
    // The same bytes, under another name and folder on the other node.
    std::fs::create_dir_all(two.path().join("elsewhere")).unwrap();
    std::fs::copy(one.path().join("a/Long.wav"), two.path().join("elsewhere/copy.wav")).unwrap();
    let mut ids = Vec::new();
    for (backend, root) in archive_testkit::backends()
        .into_iter()
        .chain([archive_db::Backend::Sqlite])
        .zip([one.path(), two.path()].into_iter().cycle())
    {
        let node = TestDb::new(backend).await.unwrap();
        run(&node.db, root).await;
        let songs = all_songs(&node.db).await;
        assert_eq!(songs.len(), 1);
        assert_eq!(songs[0].content_hash, None);
        ids.push(songs[0].id);
    }
    assert!(ids.len() >= 2);
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
}

#[tokio::test]
async fn every_row_an_import_writes_records_one_change_with_the_rows_version() {
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    library(dir.path());
    on_each_backend(|t| {
        let root = dir.path().to_owned();
        async move {
            let db = &t.db;
            run(db, &root).await;
            let changes = archive_testkit::settled_changes(db).await;
            let songs = all_songs(db).await;
            for song in &songs {
                let recorded: Vec<_> = changes.iter().filter(|c| c.row_id == song.id).collect();
                assert_eq!(recorded.len(), 1, "{}: {recorded:?}", song.title);
                assert_eq!(recorded[0].table_name, "songs");
                assert_eq!(recorded[0].op, archive_db::ChangeOp::Insert);
                assert_eq!((recorded[0].version, recorded[0].origin.as_deref()), (song.version, None));
            }
            // Artists, albums and genres too: 2 artists, 3 albums, 1 genre.
            let others: Vec<&str> =
                changes.iter().map(|c| c.table_name.as_str()).filter(|t| *t != "songs").collect();
            assert_eq!(others.len(), 6, "{others:?}");
            let mut versions: Vec<i64> = changes.iter().map(|c| c.version).collect();
            versions.sort();
            versions.dedup();
            assert_eq!(versions.len(), changes.len(), "every change has its own version");
            let mut ids: Vec<_> = changes.iter().map(|c| c.change_id).collect();
            ids.sort();
            ids.dedup();
            assert_eq!(ids.len(), changes.len());
            // Recorded in bulk with time-ordered ids (UUIDv7), which a batch
            // appends to the end of the change_id index.
            for change in &changes {
                assert_eq!(change.change_id.get_version_num(), 7, "{change:?}");
                let (seconds, _) = change.change_id.get_timestamp().expect("a v7 id has a time").to_unix();
                assert!((seconds as i64 - change.changed_at.timestamp()).abs() <= 2, "{change:?}");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn an_import_first_builds_the_song_indexes_an_interrupted_bulk_import_set_aside() {
    if !ffmpeg_available() {
        return;
    }
    on_each_backend(|t| async move {
        let db = &t.db;
        let indexes = |db: &Db| {
            let db = db.clone();
            async move {
                db.schema().await.unwrap().into_iter().find(|t| t.name == "songs").unwrap().indexes.len()
            }
        };
        let all = indexes(db).await;
        // A bulk import set them aside, with the foreign keys on PostgreSQL,
        // and its process was stopped.
        db.set_song_indexes_aside().await.unwrap();
        db.set_foreign_keys_aside().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        library(dir.path());
        assert_eq!(run(db, dir.path()).await.imported, 5);
        assert_eq!(indexes(db).await, all, "every index of songs is back");
        assert_eq!(db.restore_song_indexes().await.unwrap(), 0, "and none is left to build");
        assert_eq!(db.restore_foreign_keys().await.unwrap(), 0, "nor a foreign key to add");
    })
    .await;
}

#[tokio::test]
async fn a_first_import_of_more_than_one_batch_leaves_every_song_index_and_foreign_key_in_place() {
    // An import this large sets the song indexes (and on PostgreSQL the
    // foreign keys and the full-text index) aside while it writes and must
    // build every one of them again before it returns. More than one batch
    // on each database (SQLite's are the larger, 20,000 files): the later
    // batches' log is copied in the background, and they write into a
    // library that was empty without looking each song up.
    if !ffmpeg_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("template.mp3");
    make(&template, format("mp3"), &full_tags("Take", "Many Hands", "Ten Thousand"), 0.05, 440);
    let audio = std::fs::read(&template).unwrap();
    let root = dir.path().join("library");
    for folder in 0..201 {
        std::fs::create_dir_all(root.join(format!("{folder:03}"))).unwrap();
        for n in 0..100 {
            // Bytes after the last frame make each file its own song.
            let mut bytes = audio.clone();
            bytes.extend_from_slice(format!("{folder:03}{n:03}").as_bytes());
            std::fs::write(root.join(format!("{folder:03}/{n:03} - Take.mp3")), bytes).unwrap();
        }
    }
    on_each_backend(|t| {
        let root = root.clone();
        async move {
            let indexes = || async {
                let schema = t.db.schema().await.unwrap();
                let set_aside = ["songs", "search_documents"];
                let mut names: Vec<String> = schema
                    .into_iter()
                    .filter(|t| set_aside.contains(&t.name.as_str()))
                    .flat_map(|t| t.indexes)
                    .collect();
                names.sort();
                names
            };
            assert!(20_100 > t.db.import_batch_size(), "more than one batch");
            let all = indexes().await;
            let report = run(&t.db, &root).await;
            assert!(report.failed.is_empty(), "{:?}", report.failed.first());
            assert_eq!(report.imported, 20_100);
            assert_eq!(t.db.song_count().await.unwrap(), 20_100);
            assert_eq!(indexes().await, all, "every index of songs and search documents is built again");
            assert_eq!(t.db.restore_song_indexes().await.unwrap(), 0, "none is left set aside");
            assert_eq!(t.db.restore_foreign_keys().await.unwrap(), 0, "nor a foreign key");
            // The songs' foreign keys are back with their ON DELETE.
            let path = root.join("000/000 - Take.mp3");
            let song = t.db.file_location_by_path(&path.to_string_lossy()).await.unwrap().unwrap().song_id;
            let artist = t.db.song(song).await.unwrap().unwrap().artist_id.expect("an artist");
            let mut tx = t.db.begin().await.unwrap();
            tx.delete_artist(artist).await.unwrap();
            tx.commit().await.unwrap();
            assert_eq!(t.db.song(song).await.unwrap().unwrap().artist_id, None);
        }
    })
    .await;
}
