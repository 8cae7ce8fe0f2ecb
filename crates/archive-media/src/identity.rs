//! Deterministic identity for imported records.
//!
//! The same file imported on two nodes must be one song after sync, and the
//! same artist, album or genre name one record. Ids of records created by
//! import are therefore UUID v5 over fixed namespaces and natural keys
//! (`archive_db::normalize::key`: NFC, trimmed, inner white space folded,
//! lower-cased) or, for songs, the file's content hash. The namespaces never
//! change: every node must derive the same ids forever.

use archive_db::normalize::key;
use uuid::Uuid;

const ARTISTS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a01);
const ALBUMS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a02);
const GENRES: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a03);
const SONGS: Uuid = Uuid::from_u128(0x2f6c_1d8a_0b3e_4c57_9e21_5a7d_3c90_0a04);

pub fn artist_id(name: &str) -> Uuid {
    Uuid::new_v5(&ARTISTS, key(name).as_bytes())
}

pub fn genre_id(name: &str) -> Uuid {
    Uuid::new_v5(&GENRES, key(name).as_bytes())
}

/// An album is its album artist (or none) and its title.
pub fn album_id(album_artist: Option<&str>, title: &str) -> Uuid {
    let name = format!("{}\u{1f}{}", album_artist.map(key).unwrap_or_default(), key(title));
    Uuid::new_v5(&ALBUMS, name.as_bytes())
}

/// A song is the content of its file (SHA-256, hex).
pub fn song_id(content_hash: &str) -> Uuid {
    Uuid::new_v5(&SONGS, content_hash.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_names_give_the_same_ids_whatever_case_spacing_and_unicode_form() {
        assert_eq!(artist_id("Beyonc\u{e9}"), artist_id("  beyonce\u{301} "));
        assert_eq!(genre_id("Hip  Hop"), genre_id("hip hop"));
        assert_eq!(album_id(Some("The Beatles"), "Abbey Road"), album_id(Some("the beatles"), "ABBEY  ROAD"));
    }

    #[test]
    fn different_names_and_kinds_give_different_ids() {
        assert_ne!(artist_id("Beyoncé"), artist_id("Beyonce"));
        assert_ne!(artist_id("Jazz"), genre_id("Jazz"));
        assert_ne!(album_id(Some("A"), "Greatest Hits"), album_id(Some("B"), "Greatest Hits"));
        assert_ne!(album_id(None, "Greatest Hits"), album_id(Some("A"), "Greatest Hits"));
    }

    #[test]
    fn ids_are_stable_across_releases() {
        // Fixed forever: a change here splits every library in two.
        assert_eq!(song_id("00").to_string(), Uuid::new_v5(&SONGS, b"00").to_string());
        assert_eq!(SONGS.to_string(), "2f6c1d8a-0b3e-4c57-9e21-5a7d3c900a04");
    }
}
