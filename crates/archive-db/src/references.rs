//! References a bulk write checks once, at commit, instead of row by row.
//!
//! SQLite checks each foreign key of each row it writes with a lookup in the
//! parent's index: four per imported song (artist, album, genre, and the
//! location's song), a tenth of a first import's writing. A batch of 10,000
//! songs names a few hundred distinct artists and albums, and its locations
//! name the songs the same batch just wrote. [`Db::begin_bulk`] starts a
//! transaction on SQLite's bulk writer, a connection with the checks off;
//! the methods that write references in it note them here, and the commit
//! checks each distinct parent once (one `IN` query per parent table). A
//! missing one fails the commit with [`DbError::MissingReference`], as the
//! key would have failed the write, and nothing of the batch is kept.
//!
//! What a bulk transaction must not do: delete a row that others refer to.
//! With the checks off, SQLite would not run the key's `ON DELETE` action.
//! The import only inserts, updates songs, and replaces file locations,
//! which nothing refers to.
//!
//! [`Db::begin_bulk`]: crate::Db::begin_bulk

use std::collections::{BTreeMap, HashSet};

use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::sql::{Param, Sql};

/// The parents a bulk transaction's rows refer to, by parent table.
#[derive(Debug, Default)]
pub(crate) struct References {
    parents: BTreeMap<&'static str, HashSet<Uuid>>,
    /// Songs this transaction wrote or found: they exist at its commit
    /// (a bulk transaction deletes no song), so need no lookup.
    songs_present: HashSet<Uuid>,
}

impl References {
    /// Notes that rows refer to these rows of `parent`.
    pub(crate) fn refer(&mut self, parent: &'static str, ids: impl IntoIterator<Item = Option<Uuid>>) {
        self.parents.entry(parent).or_default().extend(ids.into_iter().flatten());
    }

    /// Notes songs known to exist in this transaction.
    pub(crate) fn songs_present(&mut self, ids: impl IntoIterator<Item = Uuid>) {
        self.songs_present.extend(ids);
    }
}

impl crate::Tx {
    /// Notes references written with enforcement off; nothing for a
    /// transaction that has it on.
    pub(crate) fn note_references(&mut self, note: impl FnOnce(&mut References)) {
        if let Some(references) = self.unchecked_references() {
            note(references);
        }
    }

    /// Fails with [`DbError::MissingReference`] if a noted parent is missing.
    pub(crate) async fn check_references(&mut self, references: References) -> Result<()> {
        let References { parents, songs_present } = references;
        for (parent, mut ids) in parents {
            if parent == "songs" {
                ids.retain(|id| !songs_present.contains(id));
            }
            let wanted: Vec<Uuid> = ids.into_iter().collect();
            for chunk in wanted.chunks(crate::sql::MAX_PARAMS) {
                let mut sql = Sql::new(&format!("SELECT id FROM {parent} WHERE id IN "));
                sql.bind_list(chunk.iter().map(|id| Param::Uuid(*id)));
                let found: HashSet<Uuid> =
                    self.fetch_all_sql::<(Uuid,)>(sql).await?.into_iter().map(|(id,)| id).collect();
                if let Some(missing) = chunk.iter().find(|id| !found.contains(id)) {
                    return Err(DbError::MissingReference(format!("no {parent} row {missing}")));
                }
            }
        }
        Ok(())
    }
}
