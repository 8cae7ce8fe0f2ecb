//! The OpenAPI 3.1 document of the JSON API, served at
//! `GET /api/v1/openapi.json`.
//!
//! It is built from the route table: every route of [`super::routes`]
//! appears under its path and method, with its access rule as its
//! security, and with the request and response schemas that [`describe`]
//! gives it. A test fails when a route has no description (and the
//! document can hold no path that is not routed, since it is made from the
//! routes). Every operation answers errors as `Error` (the `default`
//! response); CI fuzzes a running server from this document.

use std::sync::OnceLock;

use axum::Json;
use axum::http::Method;
use serde_json::{Map, Value, json};

use super::{Access, routes};

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<Value> {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    Json(DOCUMENT.get_or_init(build).clone())
}

/// Routes that [`describe`] does not know (a test keeps this empty).
pub fn undescribed() -> Vec<String> {
    routes()
        .iter()
        .filter(|r| describe(&r.method, r.path).is_none())
        .map(|r| format!("{} {}", r.method, r.path))
        .collect()
}

fn build() -> Value {
    let mut paths = Map::new();
    for route in routes() {
        let Some(operation) = describe(&route.method, route.path) else { continue };
        let item = paths.entry(route.path.to_owned()).or_insert_with(|| json!({}));
        item[route.method.as_str().to_ascii_lowercase()] = operation.finish(route.path, route.access);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Archive",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The JSON API of Archive, a self-hosted music archive with master-slave sync. \
                Errors are `{\"error\": {\"code\", \"message\", \"field\"?}}` with the status that fits.",
        },
        "servers": [{ "url": "/" }],
        "paths": paths,
        "components": { "schemas": schemas(), "securitySchemes": {
            "token": { "type": "http", "scheme": "bearer", "description": "A token from POST /api/v1/auth/login" },
            "slaveKey": { "type": "http", "scheme": "bearer", "description": "A slave key (arcsync_…) issued by the master" },
        }},
    })
}

/// One operation: what it takes and what it answers on success.
struct Operation {
    summary: &'static str,
    query: Vec<Value>,
    body: Option<Value>,
    responses: Map<String, Value>,
}

fn op(summary: &'static str) -> Operation {
    Operation { summary, query: Vec::new(), body: None, responses: Map::new() }
}

fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn nullable(kind: &str) -> Value {
    json!({ "type": [kind, "null"] })
}

fn page_of(item: &str) -> Value {
    json!({
        "type": "object",
        "required": ["items", "limit", "next_cursor"],
        "properties": {
            "items": { "type": "array", "items": schema(item) },
            "limit": { "type": "integer" },
            "next_cursor": nullable("string"),
        },
    })
}

const PAGE: &[&str] = &["limit", "offset", "cursor", "sort", "order"];

impl Operation {
    fn query(mut self, names: &[&str]) -> Self {
        for name in names {
            let schema = match *name {
                "limit" => json!({ "type": "integer", "minimum": 1, "maximum": 500 }),
                "offset" => json!({ "type": "integer", "minimum": 0 }),
                "year" => json!({ "type": "integer" }),
                "size" => json!({ "type": "integer", "minimum": 16, "maximum": 2048 }),
                "order" => json!({ "type": "string", "enum": ["asc", "desc"] }),
                "artist_id" | "album_id" | "genre_id" | "owner_id" | "after" => {
                    json!({ "type": "string", "format": "uuid" })
                }
                _ => json!({ "type": "string" }),
            };
            // The search's words, and a sync reader's cursor, are needed.
            let required = *name == "q" || (*name == "cursor" && self.summary.starts_with("Sync:"));
            self.query.push(json!({ "name": name, "in": "query", "required": required, "schema": schema }));
        }
        self
    }

    /// A JSON body; like the API, it refuses fields it does not know.
    fn json_body(mut self, mut body: Value) -> Self {
        body["additionalProperties"] = json!(false);
        self.body = Some(json!({ "required": true, "content": { "application/json": { "schema": body } } }));
        self
    }

    /// Raw bytes as the body.
    fn binary_body(mut self) -> Self {
        let content =
            json!({ "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } });
        self.body = Some(json!({ "required": true, "content": content }));
        self
    }

    fn answers(mut self, status: u16, body: Value) -> Self {
        self.responses.insert(
            status.to_string(),
            json!({ "description": self.summary, "content": { "application/json": { "schema": body } } }),
        );
        self
    }

    fn no_content(mut self) -> Self {
        self.responses.insert("204".into(), json!({ "description": "Done" }));
        self
    }

    fn file(mut self, media: &str) -> Self {
        let content = json!({ media: { "schema": { "type": "string", "format": "binary" } } });
        self.responses.insert("200".into(), json!({ "description": "The file", "content": content.clone() }));
        if media.starts_with("audio") {
            self.responses.insert(
                "206".into(),
                json!({ "description": "Part of the file (Range)", "content": content }),
            );
            self.responses.insert("416".into(), json!({ "description": "The range is outside the file" }));
        }
        self
    }

    fn finish(self, path: &str, access: Access) -> Value {
        let mut parameters: Vec<Value> = path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| {
                let schema = match name {
                    "table" => json!({ "type": "string" }),
                    "sha256" => json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }),
                    _ => json!({ "type": "string", "format": "uuid" }),
                };
                json!({ "name": name, "in": "path", "required": true, "schema": schema })
            })
            .collect();
        parameters.extend(self.query);
        let mut responses = self.responses;
        responses.insert(
            "default".into(),
            json!({ "description": "An error", "content": { "application/json": { "schema": schema("Error") } } }),
        );
        let security = match access {
            Access::Public => json!([]),
            Access::Slave => json!([{ "slaveKey": [] }]),
            _ => json!([{ "token": [] }]),
        };
        let rule = match access {
            Access::Public => "Anyone.",
            Access::User => "Any logged-in user.",
            Access::Moderator => "Moderators and admins.",
            Access::Admin => "Admins.",
            Access::Slave => "A sync slave, by its slave key.",
        };
        let mut operation = json!({
            "summary": self.summary,
            "description": rule,
            "parameters": parameters,
            "responses": responses,
            "security": security,
        });
        if let Some(body) = self.body {
            operation["requestBody"] = body;
        }
        operation
    }
}

/// What each route takes and answers; `None` for a route not described yet.
fn describe(method: &Method, path: &str) -> Option<Operation> {
    let m = method.as_str();
    let described = match (m, path) {
        ("GET", "/api/v1/openapi.json") => op("This document").answers(200, json!({ "type": "object" })),
        ("GET", "/api/v1/health") => op("Health of this node")
            .answers(200, schema("Health"))
            .answers(503, schema("Health")),
        ("POST", "/api/v1/auth/login") => op("Log in for a token")
            .json_body(object(&[("email", "string"), ("password", "string")], &["email", "password"]))
            .answers(200, schema("TokenResponse")),
        ("POST", "/api/v1/auth/logout") => op("Revoke this token").no_content(),
        ("POST", "/api/v1/auth/refresh") => op("Swap this token for a new one").answers(200, schema("TokenResponse")),
        ("GET", "/api/v1/auth/verify") => op("Who this token is").answers(200, object_of(&[("user", schema("User"))])),
        ("GET", "/api/v1/me") => op("Your account").answers(200, schema("User")),
        ("PATCH", "/api/v1/me") => op("Change your name or password")
            .json_body(object(&[("name", "string"), ("password", "string"), ("current_password", "string")], &[]))
            .answers(200, json!({ "anyOf": [schema("User"), schema("TokenResponse")] })),
        ("GET", "/api/v1/me/subsonic-keys") => op("Your API keys for Subsonic apps (never the secrets)")
            .answers(200, json!({ "type": "array", "items": schema("SubsonicKey") })),
        ("POST", "/api/v1/me/subsonic-keys") => op("Make an API key for a Subsonic app (shown once)")
            .json_body(object(&[("name", "string")], &["name"]))
            .answers(201, object_of(&[("key", json!({ "type": "string" })), ("record", schema("SubsonicKey"))])),
        ("DELETE", "/api/v1/me/subsonic-keys/{id}") => op("Revoke one of your Subsonic API keys").no_content(),
        ("GET", "/api/v1/me/subsonic-app-passwords") => op("Your app passwords for Subsonic apps (never the passwords)")
            .answers(200, json!({ "type": "array", "items": schema("SubsonicAppPassword") })),
        ("POST", "/api/v1/me/subsonic-app-passwords") => op("Make an app password for a Subsonic app (shown once)")
            .json_body(object(&[("name", "string")], &["name"]))
            .answers(201, object_of(&[("password", json!({ "type": "string" })), ("record", schema("SubsonicAppPassword"))])),
        ("DELETE", "/api/v1/me/subsonic-app-passwords/{id}") => op("Revoke one of your app passwords").no_content(),
        ("GET", "/api/v1/me/favourites") => op("Your favourite songs").query(PAGE).answers(200, page_of("Song")),
        ("GET", "/api/v1/me/recently-played") => {
            op("Your plays, newest first").query(&["limit", "cursor"]).answers(200, page_of("Play"))
        }
        ("GET", "/api/v1/me/most-played") => op("Your most played songs").query(&["limit", "offset"]).answers(
            200,
            object_of(&[
                ("items", json!({ "type": "array", "items": schema("PlayCount") })),
                ("limit", json!({ "type": "integer" })),
                ("offset", json!({ "type": "integer" })),
            ]),
        ),
        ("GET", "/api/v1/artists") => op("Artists").query(PAGE).answers(200, page_of("Artist")),
        ("POST", "/api/v1/artists") => op("Add an artist")
            .json_body(object(&[("name", "string"), ("biography", "string")], &["name"]))
            .answers(201, schema("Artist")),
        ("GET", "/api/v1/artists/{id}") => op("An artist").answers(200, schema("Artist")),
        ("PATCH", "/api/v1/artists/{id}") => op("Change an artist")
            .json_body(object(&[("name", "string"), ("biography", "string")], &[]))
            .answers(200, schema("Artist")),
        ("DELETE", "/api/v1/artists/{id}") => op("Delete an artist").no_content(),
        ("GET", "/api/v1/genres") => op("Genres").query(PAGE).answers(200, page_of("Genre")),
        ("POST", "/api/v1/genres") => {
            op("Add a genre").json_body(object(&[("name", "string")], &["name"])).answers(201, schema("Genre"))
        }
        ("GET", "/api/v1/genres/{id}") => op("A genre").answers(200, schema("Genre")),
        ("PATCH", "/api/v1/genres/{id}") => {
            op("Rename a genre").json_body(object(&[("name", "string")], &[])).answers(200, schema("Genre"))
        }
        ("DELETE", "/api/v1/genres/{id}") => op("Delete a genre").no_content(),
        ("GET", "/api/v1/albums") => {
            op("Albums").query(&[PAGE, &["artist_id", "year"]].concat()).answers(200, page_of("Album"))
        }
        ("POST", "/api/v1/albums") => op("Add an album")
            .json_body(object(&[("title", "string"), ("artist_id", "uuid"), ("year", "integer")], &["title"]))
            .answers(201, schema("Album")),
        ("GET", "/api/v1/albums/{id}") => op("An album with its songs").answers(200, schema("AlbumWithSongs")),
        ("GET", "/api/v1/albums/{id}/cover") => {
            op("An album's cover; with size, a JPEG thumbnail at most that many pixels wide and high")
                .query(&["size"])
                .file("image/*")
        }
        ("PATCH", "/api/v1/albums/{id}") => op("Change an album")
            .json_body(object(&[("title", "string"), ("artist_id", "uuid"), ("year", "integer")], &[]))
            .answers(200, schema("Album")),
        ("DELETE", "/api/v1/albums/{id}") => op("Delete an album").no_content(),
        ("GET", "/api/v1/songs") => op("Songs")
            .query(&[PAGE, &["artist_id", "album_id", "genre_id", "year"]].concat())
            .answers(200, page_of("Song")),
        ("POST", "/api/v1/songs") => {
            let mut upload = op("Add a song (JSON) or upload audio files (multipart)")
                .json_body(song_fields(&["title"]))
                .answers(201, json!({ "anyOf": [schema("Song"), schema("UploadResult")] }));
            upload.body.as_mut().expect("set")["content"]["multipart/form-data"] = json!({ "schema": {
                "type": "object",
                "properties": { "file": { "type": "array", "items": { "type": "string", "format": "binary" } } },
            }});
            upload
        }
        ("GET", "/api/v1/songs/{id}") => op("A song").answers(200, schema("Song")),
        ("PATCH", "/api/v1/songs/{id}") => {
            op("Change a song's metadata").json_body(song_fields(&[])).answers(200, schema("Song"))
        }
        ("DELETE", "/api/v1/songs/{id}") => op("Delete a song").no_content(),
        ("GET", "/api/v1/search") => op("Search songs, artists and albums")
            .query(&["q", "type", "limit", "offset"])
            .answers(200, schema("SearchResults")),
        ("GET", "/api/v1/songs/{id}/stream") => op("Stream a song (ranges)").file("audio/*"),
        ("GET", "/api/v1/songs/{id}/download") => op("Download a song's file").file("audio/*"),
        ("GET", "/api/v1/imports") => op("Imports, recent and running").answers(
            200,
            object_of(&[
                ("items", json!({ "type": "array", "items": schema("Import") })),
                ("library_roots", json!({ "type": "array", "items": { "type": "string" } })),
            ]),
        ),
        ("POST", "/api/v1/imports") => op("Import a folder under a library root")
            .json_body(object(&[("path", "string")], &["path"]))
            .answers(202, schema("Import")),
        ("GET", "/api/v1/imports/{id}") => op("An import's progress").answers(200, schema("Import")),
        ("GET", "/api/v1/songs/{id}/listening") => op("Your data for a song").answers(200, schema("Listening")),
        ("POST", "/api/v1/songs/{id}/play") => op("Count a play").answers(201, schema("Play")),
        ("PUT", "/api/v1/songs/{id}/favourite") => op("Mark a favourite").no_content(),
        ("DELETE", "/api/v1/songs/{id}/favourite") => op("Unmark a favourite").no_content(),
        ("PUT", "/api/v1/songs/{id}/rating") => op("Rate a song (1 to 5, or null)")
            .json_body(object_of(&[("rating", nullable("integer"))]))
            .no_content(),
        ("GET", "/api/v1/playlists") => {
            op("Playlists you may see").query(&[PAGE, &["owner_id"]].concat()).answers(200, page_of("Playlist"))
        }
        ("POST", "/api/v1/playlists") => op("Make a playlist")
            .json_body(object(&[("name", "string"), ("description", "string"), ("is_public", "boolean")], &["name"]))
            .answers(201, schema("Playlist")),
        ("GET", "/api/v1/playlists/{id}") => op("A playlist").answers(200, schema("Playlist")),
        ("PATCH", "/api/v1/playlists/{id}") => op("Change a playlist")
            .json_body(object(&[("name", "string"), ("description", "string"), ("is_public", "boolean")], &[]))
            .answers(200, schema("Playlist")),
        ("DELETE", "/api/v1/playlists/{id}") => op("Delete a playlist").no_content(),
        ("POST", "/api/v1/songs/{id}/pin") => op("Pin a song: keep its file on this node").answers(200, pin()),
        ("DELETE", "/api/v1/songs/{id}/pin") => op("Unpin a song").answers(200, pin()),
        ("POST", "/api/v1/albums/{id}/pin") => {
            op("Pin an album: keep its songs' files on this node").answers(200, pin())
        }
        ("DELETE", "/api/v1/albums/{id}/pin") => op("Unpin an album").answers(200, pin()),
        ("POST", "/api/v1/playlists/{id}/pin") => {
            op("Pin a playlist: keep its songs' files on this node").answers(200, pin())
        }
        ("DELETE", "/api/v1/playlists/{id}/pin") => op("Unpin a playlist").answers(200, pin()),
        ("GET", "/api/v1/playlists/{id}/entries") => {
            op("A playlist's songs in order").query(&["limit", "cursor"]).answers(200, page_of("PlaylistEntry"))
        }
        ("POST", "/api/v1/playlists/{id}/entries") => op("Add a song (at a position)")
            .json_body(object(&[("song_id", "uuid"), ("position", "integer")], &["song_id"]))
            .answers(201, schema("PlaylistEntry")),
        ("PATCH", "/api/v1/playlists/{id}/entries/{entry_id}") => op("Move a song")
            .json_body(object(&[("position", "integer")], &["position"]))
            .answers(200, schema("PlaylistEntry")),
        ("DELETE", "/api/v1/playlists/{id}/entries/{entry_id}") => op("Remove a song").no_content(),
        ("GET", "/api/v1/users") => op("Users").query(PAGE).answers(200, page_of("User")),
        ("POST", "/api/v1/users") => op("Make a user (on a slave: on the master)")
            .json_body(object(
                &[
                    ("email", "string"),
                    ("name", "string"),
                    ("role", "role"),
                    ("password", "string"),
                    ("current_password", "string"),
                ],
                &["email", "name", "role", "password"],
            ))
            .answers(201, schema("User")),
        ("GET", "/api/v1/users/{id}") => op("A user").answers(200, schema("User")),
        ("PATCH", "/api/v1/users/{id}") => op("Change a user (on a slave: on the master)")
            .json_body(object(
                &[
                    ("email", "string"),
                    ("name", "string"),
                    ("role", "role"),
                    ("password", "string"),
                    ("current_password", "string"),
                ],
                &[],
            ))
            .answers(200, schema("User")),
        ("DELETE", "/api/v1/users/{id}") => op("Delete a user (on a slave: on the master)").no_content(),
        ("GET", "/api/v1/sync/ping") => op("Sync: check the connection and key").answers(200, schema("Ping")),
        ("GET", "/api/v1/sync/changes") => op("Sync: the log after a cursor, as rows")
            .query(&["cursor", "limit", "files_here", "wait"])
            .answers(200, json!({ "type": "object", "required": ["rows", "cursor", "has_more", "remaining"] })),
        ("POST", "/api/v1/sync/apply") => op("Sync: push a slave's changes")
            .json_body(object_of(&[("changes", json!({ "type": "array", "items": { "type": "object" } }))]))
            .answers(200, json!({ "type": "object", "required": ["outcomes"] })),
        ("POST", "/api/v1/sync/bootstrap") => op("Sync: start a copy")
            .answers(200, json!({ "type": "object", "required": ["cursor", "tables"] })),
        ("GET", "/api/v1/sync/bootstrap/{table}") => op("Sync: a page of one table")
            .query(&["after", "limit"])
            .answers(200, json!({ "type": "object", "required": ["rows", "last_id", "has_more"] })),
        ("POST", "/api/v1/sync/files/batch") => op("Sync: which files the master holds or needs")
            .json_body(object_of(&[
                ("operation", json!({ "type": "string", "enum": ["download", "upload"] })),
                ("objects", json!({ "type": "array", "maxItems": 1000, "items": { "type": "object",
                    "required": ["sha256", "size"], "additionalProperties": false, "properties": {
                        "sha256": { "type": "string", "pattern": "^[0-9a-f]{64}$" },
                        "size": { "type": "integer", "minimum": 0 } } } })),
            ]))
            .answers(200, json!({ "type": "object", "required": ["objects"] })),
        ("POST", "/api/v1/sync/files/fetch") => op("Fetch a song's file from the master now (a slave)")
            .json_body(object_of(&[("song_id", json!({ "type": "string", "format": "uuid" }))]))
            .answers(200, json!({ "type": "object", "required": ["sha256", "size", "transferred"] })),
        ("GET", "/api/v1/sync/files/{sha256}") => op("Sync: a file's bytes, by its SHA-256 (ranges)")
            .file("audio/*"),
        ("PATCH", "/api/v1/sync/files/{sha256}") => op("Sync: a piece of a file (Upload-Offset, Upload-Length)")
            .binary_body()
            .answers(200, json!({ "type": "object", "required": ["status", "received"] }))
            .answers(201, json!({ "type": "object", "required": ["status", "received"] })),
        ("GET", "/api/v1/sync/status") => op("Sync status, read locally").answers(200, schema("SyncReport")),
        ("POST", "/api/v1/sync/now") => op("Run a sync cycle now (a slave)").answers(
            200,
            object_of(&[
                ("pushed", json!({ "type": "integer" })),
                ("not_applied", json!({ "type": "integer" })),
                ("pulled", json!({ "type": "integer" })),
                ("bootstrapped", json!({ "type": "boolean" })),
            ]),
        ),
        ("GET", "/api/v1/sync/digest") => op("Per synced table, a count and a checksum").answers(
            200,
            object_of(&[
                ("node_id", json!({ "type": "string" })),
                ("tables", json!({ "type": "array", "items": object(&[("table", "string"), ("rows", "integer"), ("checksum", "string")], &["table", "rows", "checksum"]) })),
            ]),
        ),
        ("GET", "/api/v1/sync/keys") => {
            op("Slave keys (never the secrets)").answers(200, json!({ "type": "array", "items": schema("SlaveKey") }))
        }
        ("POST", "/api/v1/sync/keys") => op("Make a slave key (shown once)")
            .json_body(object(
                &[("name", "string"), ("node_id", "string"), ("overlap_hours", "integer"), ("read_only", "boolean")],
                &["name", "node_id"],
            ))
            .answers(201, object_of(&[("key", json!({ "type": "string" })), ("record", schema("SlaveKey"))])),
        ("DELETE", "/api/v1/sync/keys/{id}") => op("Revoke a slave key").no_content(),
        ("POST", "/api/v1/sync/pause") => op("Pause sync").answers(200, schema("SyncReport")),
        ("POST", "/api/v1/sync/resume") => op("Resume sync").answers(200, schema("SyncReport")),
        ("POST", "/api/v1/sync/emergency-stop") => op("Stop sync until cleared").answers(200, schema("SyncReport")),
        ("POST", "/api/v1/sync/clear-stop") => op("Clear an emergency stop").answers(200, schema("SyncReport")),
        ("POST", "/api/v1/sync/clear-failed") => op("Clear failed attempts").answers(200, schema("SyncReport")),
        ("GET", "/api/v1/sync/slaves") => {
            op("A master's slaves").answers(200, json!({ "type": "array", "items": { "type": "object" } }))
        }
        ("GET", "/api/v1/sync/conflicts") => op("The conflict log, newest first")
            .query(&["limit", "offset"])
            .answers(200, json!({ "type": "array", "items": schema("Conflict") })),
        _ => return None,
    };
    Some(described)
}

/// An object of plain fields: (name, type) where the type is `string`,
/// `integer`, `boolean`, `uuid` or `role`.
fn object(fields: &[(&str, &str)], required: &[&str]) -> Value {
    let properties: Map<String, Value> = fields
        .iter()
        .map(|(name, kind)| {
            let schema = match *kind {
                "uuid" => json!({ "type": ["string", "null"], "format": "uuid" }),
                "role" => json!({ "type": "string", "enum": ["user", "moderator", "admin"] }),
                "integer" if !required.contains(name) => nullable("integer"),
                "string" if !required.contains(name) => nullable("string"),
                "string" => json!({ "type": "string", "minLength": 1, "maxLength": 1000 }),
                other => json!({ "type": other }),
            };
            (name.to_string(), schema)
        })
        .collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// An object of fields with the schemas given, all present.
fn object_of(fields: &[(&str, Value)]) -> Value {
    let properties: Map<String, Value> = fields.iter().map(|(n, s)| (n.to_string(), s.clone())).collect();
    let required: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    json!({ "type": "object", "properties": properties, "required": required })
}

/// A pin's state after `POST` or `DELETE …/pin`.
fn pin() -> Value {
    object_of(&[
        ("kind", json!({ "type": "string", "enum": ["song", "album", "playlist"] })),
        ("id", json!({ "type": "string", "format": "uuid" })),
        ("pinned", json!({ "type": "boolean" })),
    ])
}

fn song_fields(required: &[&str]) -> Value {
    object(
        &[
            ("title", "string"),
            ("artist_id", "uuid"),
            ("album_id", "uuid"),
            ("genre_id", "uuid"),
            ("track_number", "integer"),
            ("disc_number", "integer"),
            ("year", "integer"),
            ("duration_ms", "integer"),
        ],
        required,
    )
}

/// The shapes the API answers with.
fn schemas() -> Value {
    let id = json!({ "type": "string", "format": "uuid" });
    let opt_id = json!({ "type": ["string", "null"], "format": "uuid" });
    let time = json!({ "type": "string", "format": "date-time" });
    let opt_time = json!({ "type": ["string", "null"], "format": "date-time" });
    let text = json!({ "type": "string" });
    let opt_text = nullable("string");
    let int = json!({ "type": "integer" });
    let opt_int = nullable("integer");
    let boolean = json!({ "type": "boolean" });
    let record = |fields: Vec<(&str, Value)>| object_of(&fields);
    // A synced record: its own fields, then when it was made and changed, and its version.
    let synced = |mut fields: Vec<(&str, Value)>| {
        fields.extend([("created_at", time.clone()), ("updated_at", time.clone()), ("version", int.clone())]);
        object_of(&fields)
    };
    let file_errors = json!({ "type": "array", "items": schema("FileError") });
    let song = synced(vec![
        ("id", id.clone()),
        ("title", text.clone()),
        ("artist_id", opt_id.clone()),
        ("album_id", opt_id.clone()),
        ("genre_id", opt_id.clone()),
        ("track_number", opt_int.clone()),
        ("disc_number", opt_int.clone()),
        ("year", opt_int.clone()),
        ("duration_ms", opt_int.clone()),
        ("format", opt_text.clone()),
        ("file_size", opt_int.clone()),
        ("bitrate", opt_int.clone()),
        ("sample_rate", opt_int.clone()),
        ("channels", opt_int.clone()),
        ("content_hash", opt_text.clone()),
    ]);
    let album_fields = vec![
        ("id", id.clone()),
        ("title", text.clone()),
        ("artist_id", opt_id.clone()),
        ("year", opt_int.clone()),
    ];
    let mut album_with_songs = album_fields.clone();
    album_with_songs.push(("songs", json!({ "type": "array", "items": schema("Song") })));
    let search_page = |item: &str| {
        object_of(&[
            ("items", json!({ "type": "array", "items": schema(item) })),
            ("next_offset", opt_int.clone()),
        ])
    };
    json!({
        "Error": object_of(&[("error", json!({
            "type": "object",
            "required": ["code", "message"],
            "properties": { "code": text, "message": text, "field": text },
        }))]),
        "Health": record(vec![
            ("status", json!({ "type": "string", "enum": ["ok", "unavailable"] })),
            ("version", text.clone()),
            ("role", text.clone()),
            ("node_id", text.clone()),
            ("checks", record(vec![("database", text.clone()), ("writes", text.clone())])),
        ]),
        "User": synced(vec![
            ("id", id.clone()),
            ("email", text.clone()),
            ("name", text.clone()),
            ("role", json!({ "type": "string", "enum": ["user", "moderator", "admin"] })),
        ]),
        "TokenResponse": record(vec![("token", text.clone()), ("expires_at", time.clone()), ("user", schema("User"))]),
        "Artist": synced(vec![
            ("id", id.clone()),
            ("name", text.clone()),
            ("biography", opt_text.clone()),
        ]),
        "Genre": synced(vec![
            ("id", id.clone()),
            ("name", text.clone()),
        ]),
        "Album": synced(album_fields),
        "AlbumWithSongs": synced(album_with_songs),
        "Song": song,
        "UploadResult": record(vec![
            ("songs", json!({ "type": "array", "items": schema("Song") })),
            ("imported", int.clone()),
            ("skipped", int.clone()),
            ("failed", file_errors.clone()),
            ("warnings", file_errors.clone()),
        ]),
        "Playlist": synced(vec![
            ("id", id.clone()),
            ("owner_id", id.clone()),
            ("name", text.clone()),
            ("description", opt_text.clone()),
            ("is_public", boolean.clone()),
        ]),
        "PlaylistEntry": synced(vec![
            ("id", id.clone()),
            ("playlist_id", id.clone()),
            ("song_id", id.clone()),
            ("position", int.clone()),
        ]),
        "Listening": record(vec![
            ("song_id", id.clone()),
            ("favourite", boolean.clone()),
            ("rating", opt_int.clone()),
            ("play_count", int.clone()),
            ("last_played_at", opt_time.clone()),
        ]),
        "Play": record(vec![("id", id.clone()), ("song_id", id.clone()), ("played_at", time.clone())]),
        "PlayCount": record(vec![("song_id", id.clone()), ("play_count", int.clone()), ("last_played_at", time.clone())]),
        "SearchResults": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": text,
                "songs": search_page("Song"),
                "artists": search_page("Artist"),
                "albums": search_page("Album"),
            },
        },
        "Import": record(vec![
            ("id", id.clone()),
            ("folder", text.clone()),
            ("trigger", json!({ "type": "string", "enum": ["request", "watch", "scan"] })),
            ("started_by", opt_id.clone()),
            ("started_at", time.clone()),
            ("state", text.clone()),
            ("progress", json!({ "type": "object" })),
            ("finished_at", opt_time.clone()),
            ("failures", file_errors.clone()),
            ("warnings", file_errors),
        ]),
        "FileError": record(vec![("path", text.clone()), ("error", text.clone())]),
        "Ping": record(vec![
            ("protocol", int.clone()),
            ("node_id", text.clone()),
            ("epoch", text.clone()),
            ("head", text.clone()),
            ("your_node_id", text.clone()),
            ("read_only", boolean.clone()),
        ]),
        "SubsonicKey": record(vec![
            ("id", id.clone()),
            ("user_id", id.clone()),
            ("name", text.clone()),
            ("key_prefix", text.clone()),
            ("created_at", time.clone()),
            ("last_used_at", opt_time.clone()),
        ]),
        "SubsonicAppPassword": record(vec![
            ("id", id.clone()),
            ("user_id", id.clone()),
            ("name", text.clone()),
            ("created_at", time.clone()),
            ("last_used_at", opt_time.clone()),
        ]),
        "SlaveKey": record(vec![
            ("id", id.clone()),
            ("name", text.clone()),
            ("node_id", text.clone()),
            ("key_prefix", text.clone()),
            ("created_at", time.clone()),
            ("expires_at", opt_time.clone()),
            ("last_used_at", opt_time.clone()),
            ("revoked_at", opt_time.clone()),
            ("read_only", boolean.clone()),
        ]),
        "SyncReport": {
            "type": "object",
            "required": ["role", "node_id", "enabled", "health", "control"],
            "properties": {
                "role": { "type": "string", "enum": ["standalone", "master", "slave"] },
                "node_id": text,
                "enabled": boolean,
                "master_url": opt_text,
                "health": { "type": "object" },
                "control": { "type": "object" },
            },
        },
        "Conflict": record(vec![
            ("id", id.clone()),
            ("change_id", id.clone()),
            ("node_id", text.clone()),
            ("table_name", text.clone()),
            ("row_id", id.clone()),
            ("base_version", opt_int.clone()),
            ("master_version", opt_int.clone()),
            ("slave_row", opt_text.clone()),
            ("master_row", opt_text.clone()),
            ("resolution", text.clone()),
            ("reason", text.clone()),
            ("created_at", time.clone()),
        ]),
    })
}
