"""Drives a running Archive through py-opensonic, an independent Subsonic
client library from PyPI, the way an app would: token authentication with
an app password, then with an API key, browsing, lists, the empty-query
search3 walk, marks, a playlist and a stream. Exits non-zero, saying what
failed, when the library cannot read an answer or an answer is wrong.

Usage: opensonic_walk.py BASE_URL PORT USER APP_PASSWORD API_KEY SONGS
(SONGS: how many songs the library holds.)
"""

import sys

from libopensonic import Connection


def field(item, name):
    """A field of an answer, whether the library gave a model or a dict."""
    return item[name] if isinstance(item, dict) else getattr(item, name)


def check(condition, message):
    if not condition:
        print(f"FAILED: {message}", file=sys.stderr)
        sys.exit(1)


def walk(conn, songs_expected, label):
    check(conn.ping(), f"{label}: ping")
    check(field(conn.get_license(), "license")["valid"], f"{label}: license")
    # Not get_music_folders: py-opensonic 10.4.1 reads `musicFolders` as a
    # list, where the API (and every other list it reads) nests it as
    # `musicFolders.musicFolder`; tests/api/subsonic.rs checks ours.
    extensions = conn.get_open_subsonic_extensions()
    check(any(e.name == "apiKeyAuthentication" for e in extensions), f"{label}: extensions {extensions}")

    artists = conn.get_artists()
    found = [a for index in artists.index for a in index.artist]
    check(len(found) >= 1, f"{label}: artists {artists}")
    artist = conn.get_artist(found[0].id)
    check(artist.name == found[0].name, f"{label}: artist {artist}")
    albums = conn.get_album_list2("alphabeticalByName", size=500)
    check(len(albums) >= 1, f"{label}: album list")
    album = conn.get_album(albums[0].id)
    check(album.song and album.song_count == len(album.song), f"{label}: album {album}")
    song = conn.get_song(album.song[0].id)
    check(song.title == album.song[0].title, f"{label}: song {song}")
    genres = conn.get_genres()
    check(all(g.value for g in genres), f"{label}: genres {genres}")
    for kind in ["newest", "random", "alphabeticalByArtist", "recent", "frequent", "highest", "starred"]:
        conn.get_album_list2(kind, size=50)
    check(len(conn.get_random_songs(size=3)) >= 1, f"{label}: random songs")
    indexes = conn.get_indexes()
    check(indexes.index, f"{label}: indexes {indexes}")
    directory = conn.get_music_directory(found[0].id)
    check(directory.child, f"{label}: directory {directory}")

    # What an offline-first app does: every song, 500 at a time, once each.
    seen = set()
    offset = 0
    for _ in range(1000):
        page = conn.search3("", artist_count=0, album_count=0, song_count=500, song_offset=offset)
        batch = page.song or []
        if not batch:
            break
        for s in batch:
            check(s.id not in seen, f"{label}: {s.id} came twice")
            seen.add(s.id)
        offset += len(batch)
    check(len(seen) == songs_expected, f"{label}: the walk saw {len(seen)} of {songs_expected} songs")

    check(conn.star(sids=[song.id]), f"{label}: star")
    starred = conn.get_starred2()
    check(any(s.id == song.id for s in (starred.song or [])), f"{label}: starred {starred}")
    check(conn.unstar(sids=[song.id]), f"{label}: unstar")
    check(conn.set_rating(song.id, 4), f"{label}: rating")
    check(conn.scrobble(song.id, submission=True), f"{label}: scrobble")

    name = f"From {label}"
    check(conn.create_playlist(name=name, song_ids=[song.id]), f"{label}: create playlist")
    playlist = next(p for p in conn.get_playlists() if p.name == name)
    check(playlist.song_count == 1, f"{label}: playlist {playlist}")
    check(conn.update_playlist(playlist.id, song_ids_to_add=[song.id]), f"{label}: update playlist")
    check(conn.get_playlist(playlist.id).song_count == 2, f"{label}: playlist after the update")
    check(any(p.id == playlist.id for p in conn.get_playlists()), f"{label}: playlists")
    check(conn.delete_playlist(playlist.id), f"{label}: delete playlist")

    response = conn.stream(song.id)
    check(response.status == 200, f"{label}: stream answered {response.status}")
    kind = response.headers.get("Content-Type", "")
    check(kind.startswith("audio/"), f"{label}: stream sent {kind}")
    response.close()


def main():
    base, port, user, app_password, api_key, songs = sys.argv[1:7]
    songs = int(songs)
    with_token = Connection(base, username=user, password=app_password, port=int(port), app_name="ci")
    walk(with_token, songs, "token")
    with_key = Connection(base, api_key=api_key, port=int(port), app_name="ci")
    walk(with_key, songs, "apiKey")
    check(with_key.token_info().username == user, "tokenInfo names the key's user")
    print("py-opensonic walked the library")


if __name__ == "__main__":
    main()
