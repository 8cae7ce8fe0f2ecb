//! Paged, sorted lists. Every list is bounded by `limit`; the next page is
//! reached with the opaque `next_cursor` (keyset paging: as fast on the last
//! page as on the first) or with `offset`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DbError, Result};
use crate::sql::{Param, Sql};

pub const MAX_LIMIT: i64 = 500;
pub const DEFAULT_LIMIT: i64 = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    #[default]
    Asc,
    Desc,
}

/// What page of a list to return.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    /// Rows per page, 1 to 500 (default 50).
    pub limit: Option<i64>,
    /// Rows to skip; ignored when `cursor` is given.
    pub offset: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// A sort key the list allows (see each list's `SORTS`); its first by default.
    pub sort: Option<String>,
    pub order: SortOrder,
}

/// One page of a list.
#[derive(Debug, Clone, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub limit: i64,
    /// Present when more rows follow: pass it as `cursor` for the next page.
    pub next_cursor: Option<String>,
}

/// A sort key a list accepts: its public name, the SQL expression it orders
/// by (non-null, indexed together with `id`), and how to read it off a row.
pub(crate) struct SortKey<T> {
    pub(crate) name: &'static str,
    pub(crate) column: &'static str,
    pub(crate) value: fn(&T) -> Param,
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    s: String,
    o: SortOrder,
    v: CursorValue,
    id: Uuid,
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum CursorValue {
    Int(i64),
    Text(String),
}

fn invalid_cursor() -> DbError {
    DbError::invalid("cursor", "cursor is not valid for this list and sort")
}

/// The parts of a list query that paging decides.
pub(crate) struct PagePlan {
    pub(crate) limit: i64,
    sort_name: &'static str,
    column: &'static str,
    order: SortOrder,
    offset: i64,
    after: Option<(Param, Uuid)>,
}

impl PageRequest {
    pub(crate) fn plan<T>(&self, sorts: &[SortKey<T>], time_sorts: &[&str]) -> Result<PagePlan> {
        let limit = self.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(DbError::invalid("limit", format!("limit must be between 1 and {MAX_LIMIT}")));
        }
        let offset = self.offset.unwrap_or(0);
        if offset < 0 {
            return Err(DbError::invalid("offset", "offset must not be negative"));
        }
        let key = match &self.sort {
            None => &sorts[0],
            Some(name) => sorts.iter().find(|k| k.name == name).ok_or_else(|| {
                let names: Vec<_> = sorts.iter().map(|k| k.name).collect();
                DbError::invalid("sort", format!("sort must be one of: {}", names.join(", ")))
            })?,
        };
        let sort_kind_time = time_sorts.contains(&key.name);
        let after = match &self.cursor {
            None => None,
            Some(text) => {
                let bytes = decode_hex(text).ok_or_else(invalid_cursor)?;
                let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())?;
                if data.s != key.name || data.o != self.order {
                    return Err(invalid_cursor());
                }
                // The value must be of the sort's own type: a hand-made
                // cursor with another would make the database fail.
                let value = match data.v {
                    CursorValue::Text(t) if sort_kind_time => Param::Time(
                        DateTime::parse_from_rfc3339(&t).map_err(|_| invalid_cursor())?.with_timezone(&Utc),
                    ),
                    CursorValue::Text(t) if !t.contains('\0') => Param::Text(t),
                    _ => return Err(invalid_cursor()),
                };
                Some((value, data.id))
            }
        };
        Ok(PagePlan {
            limit,
            sort_name: key.name,
            column: key.column,
            order: self.order,
            offset: if after.is_some() { 0 } else { offset },
            after,
        })
    }
}

impl PagePlan {
    /// Appends the keyset condition (as `AND …`) to a query that already has a WHERE.
    pub(crate) fn push_after(&self, sql: &mut Sql, alias: &str) {
        if let Some((value, id)) = &self.after {
            let op = match self.order {
                SortOrder::Asc => ">",
                SortOrder::Desc => "<",
            };
            sql.push(&format!(" AND ({alias}{}, {alias}id) {op} (", self.column));
            sql.bind(value.clone());
            sql.push(", ");
            sql.bind(Param::Uuid(*id));
            sql.push(")");
        }
    }

    /// Appends ORDER BY, LIMIT (one extra row, to know whether more follow) and OFFSET.
    pub(crate) fn push_order_limit(&self, sql: &mut Sql, alias: &str) {
        let dir = match self.order {
            SortOrder::Asc => "ASC",
            SortOrder::Desc => "DESC",
        };
        sql.push(&format!(" ORDER BY {alias}{} {dir}, {alias}id {dir} LIMIT ", self.column));
        sql.bind(Param::Int(self.limit + 1));
        if self.offset > 0 {
            sql.push(" OFFSET ");
            sql.bind(Param::Int(self.offset));
        }
    }

    /// Turns the fetched rows (up to limit + 1) into a page.
    pub(crate) fn finish<T>(&self, mut rows: Vec<T>, sorts: &[SortKey<T>], id: fn(&T) -> Uuid) -> Page<T> {
        let more = rows.len() as i64 > self.limit;
        rows.truncate(self.limit as usize);
        let next_cursor = match (more, rows.last()) {
            (true, Some(last)) => {
                let key = sorts.iter().find(|k| k.name == self.sort_name).expect("planned sort exists");
                let v = match (key.value)(last) {
                    Param::Int(i) => CursorValue::Int(i),
                    Param::Text(t) => CursorValue::Text(t),
                    Param::Time(t) => CursorValue::Text(t.to_rfc3339()),
                    Param::Uuid(u) => CursorValue::Text(u.to_string()),
                    Param::Bool(b) => CursorValue::Int(b as i64),
                    Param::Bytes(b) => CursorValue::Text(encode_hex(&b)),
                };
                let data = CursorData { s: self.sort_name.to_owned(), o: self.order, v, id: id(last) };
                Some(encode_hex(&serde_json::to_vec(&data).expect("cursor serialises")))
            }
            _ => None,
        };
        Page { items: rows, limit: self.limit, next_cursor }
    }
}

fn encode_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.len() > 2048 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}
