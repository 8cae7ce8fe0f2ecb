//! Archive's media side: reading audio files (format from the content, tags,
//! technical properties, embedded cover), the deterministic identity of what
//! an import creates, the importer, and the upload store.

pub mod cover;
pub mod identity;
pub mod import;
pub mod store;
pub mod tags;

pub use cover::{CoverImage, THUMBNAIL_SIZES, ThumbnailError, Thumbnails, find_cover, image_type};
pub use import::{
    FileError, FileSource, ImportError, ImportReport, NamedFile, Progress, ProgressSnapshot, import,
    import_uploads,
};
pub use store::{Checked, Incoming, MediaStore, StoreError, StoredFile};
pub use tags::{
    AudioFormat, Cover, MediaError, NameHint, TrackInfo, UNKNOWN_ALBUM, UNKNOWN_ARTIST, content_hash,
    read_track, read_track_with,
};
