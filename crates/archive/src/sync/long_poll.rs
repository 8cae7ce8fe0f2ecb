//! The master's long-polls: a slave asks for the changes after its cursor
//! and may wait (`wait=`, at most 25 s). With nothing new, the master holds
//! the request and answers the moment a change commits, woken by the
//! database's commit signal (`Db::log_commits`: in process on SQLite,
//! `LISTEN`/`NOTIFY` across processes on PostgreSQL), or with the same
//! empty page when the wait ends.
//!
//! A held request costs no database query while it waits, only this task
//! and its connection. A request at the head of a log that has not moved
//! costs none at all: the master remembers where the head was when it last
//! found nothing after it, and that stands until a commit adds to the log
//! (see [`IdleHead`]). How many are held is capped (`SYNC_MAX_LIVE_POLLS`,
//! and two per slave, so that one key cannot take every place); beyond the
//! cap a request is answered at once, as without `wait`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::{Instant, sleep, sleep_until};

use archive_db::sync::master::ChangesPage;
use archive_db::sync::protocol::Cursor;
use archive_db::{Db, DbError, LogCommits, LogPosition};

/// Long-polls one slave may have held at once (a second covers a retry
/// that overtakes a request the network has not yet dropped).
const PER_SLAVE: u32 = 2;
/// While committed changes wait behind a transaction still open
/// (PostgreSQL), the held request looks again this often: that commit may
/// add nothing to the log, and so send no word.
const HELD_BACK_RECHECK: Duration = Duration::from_millis(100);

/// How long an idle head is believed without a look at the database, at
/// most (a safety net: a restore can change the log under a running server).
const IDLE_HEAD_FOR: Duration = Duration::from_secs(5);

/// The head of the log when the master last found nothing at all after it
/// (no entry committed, none held back), and the count of commits it had
/// heard of then. While no commit has added to the log since, a cursor at
/// this head has nothing to fetch, and no query needs to say so. A commit
/// not yet heard of (PostgreSQL delivers its word a moment after) is not
/// skipped: the request answers empty at the same cursor, and the next
/// one, or the wait, brings it.
#[derive(Debug, Clone)]
struct IdleHead {
    epoch: String,
    head: LogPosition,
    commits: u64,
    read_at: Instant,
}

/// The long-polls this process holds now, by slave node id, and where it
/// last saw the log's head idle.
#[derive(Debug, Default)]
pub struct LivePolls {
    held: Mutex<HashMap<String, u32>>,
    idle: Mutex<Option<IdleHead>>,
    /// Set when the server stops: no request is held any more.
    closed: AtomicBool,
    /// Ends every held request now (shutdown, pause, emergency stop).
    end: Notify,
}

/// A place taken among the held requests; given back when dropped.
struct Hold<'a> {
    polls: &'a LivePolls,
    node: String,
}

impl Drop for Hold<'_> {
    fn drop(&mut self) {
        let mut held = self.polls.held.lock().expect("not poisoned");
        if let Some(count) = held.get_mut(&self.node) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.node);
            }
        }
    }
}

impl LivePolls {
    fn try_hold(&self, node: &str, cap: usize) -> Option<Hold<'_>> {
        if self.closed.load(Ordering::Acquire) {
            return None;
        }
        let mut held = self.held.lock().expect("not poisoned");
        let total: u32 = held.values().sum();
        let mine = held.get(node).copied().unwrap_or(0);
        if total as usize >= cap || mine >= PER_SLAVE {
            return None;
        }
        held.insert(node.to_owned(), mine + 1);
        Some(Hold { polls: self, node: node.to_owned() })
    }

    /// Requests held now.
    pub fn held(&self) -> usize {
        self.held.lock().expect("not poisoned").values().sum::<u32>() as usize
    }

    /// Answers every held request now (an operator paused or stopped sync:
    /// the slaves' next requests learn it).
    pub fn end_all(&self) {
        self.end.notify_waiters();
    }

    fn at_idle_head(&self, cursor: &Cursor, commits: u64) -> bool {
        self.idle.lock().expect("not poisoned").as_ref().is_some_and(|idle| {
            idle.commits == commits
                && idle.read_at.elapsed() < IDLE_HEAD_FOR
                && idle.head == cursor.position
                && idle.epoch == cursor.epoch
        })
    }

    fn note_idle(&self, cursor: &Cursor, commits: u64) {
        *self.idle.lock().expect("not poisoned") = Some(IdleHead {
            epoch: cursor.epoch.clone(),
            head: cursor.position,
            commits,
            read_at: Instant::now(),
        });
    }

    /// The server stops: held requests are answered, and no more are held.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.end.notify_waiters();
    }
}

/// A page of changes and the count of changes after it (see
/// `ChangesResponse::remaining`).
pub struct Answer {
    pub page: ChangesPage,
    pub remaining: i64,
}

async fn read(db: &Db, after: LogPosition, limit: i64, node: &str) -> Result<Answer, DbError> {
    let page = db.changes_for_peer(after, limit, node).await?;
    let remaining = db.changes_count_after(page.next).await?;
    Ok(Answer { page, remaining })
}

/// The answer when nothing lies after `after`.
fn nothing_after(after: LogPosition) -> Answer {
    Answer {
        page: ChangesPage { rows: Vec::new(), next: after, has_more: false, newest_change_at: None },
        remaining: 0,
    }
}

/// What a long-poll waits with.
pub struct Waiting<'a> {
    pub db: &'a Db,
    pub polls: &'a LivePolls,
    /// `SYNC_MAX_LIVE_POLLS`.
    pub cap: usize,
    /// Called once the request is held (to record that the slave follows live).
    pub on_hold: Box<dyn FnOnce() + Send + 'a>,
}

/// Whether `cursor` stands at the head of a log that has not moved since
/// it was last read, so that nothing can lie after it: no query needed.
/// `commits` is subscribed here, before anything is read.
pub fn at_idle_head(polls: &LivePolls, commits: &mut LogCommits, cursor: &Cursor) -> bool {
    let heard = *commits.borrow_and_update();
    polls.at_idle_head(cursor, heard)
}

/// The changes after `cursor` (checked already, or at an idle head) for the
/// slave `node`, waiting up to `wait` for some when there are none.
/// `commits` was subscribed before anything was read. The reads are boxed:
/// inlined, a read's future would size the whole request's, and a master
/// holding thousands of requests would carry it for each while they wait.
pub async fn changes(
    waiting: Waiting<'_>,
    mut commits: LogCommits,
    cursor: &Cursor,
    idle: bool,
    limit: i64,
    node: &str,
    wait: Duration,
) -> Result<Answer, DbError> {
    let db = waiting.db;
    let after = cursor.position;
    let heard = *commits.borrow();
    // Only a read of the log notes the idle head: noted again from its own
    // answer, it would never lapse.
    let mut answer = match idle {
        true => nothing_after(after),
        false => {
            let answer = Box::pin(read(db, after, limit, node)).await?;
            if is_idle(&answer, after) {
                waiting.polls.note_idle(cursor, heard);
            }
            answer
        }
    };
    if wait.is_zero() || advanced(&answer, after) {
        return Ok(answer);
    }
    let Some(_hold) = waiting.polls.try_hold(node, waiting.cap) else { return Ok(answer) };
    (waiting.on_hold)();
    let deadline = Instant::now() + wait;
    loop {
        let held_back = answer.remaining > 0;
        let end = waiting.polls.end.notified();
        tokio::pin!(end);
        end.as_mut().enable();
        if waiting.polls.closed.load(Ordering::Acquire) {
            return Ok(answer);
        }
        tokio::select! {
            changed = commits.changed() => {
                if changed.is_err() {
                    return Ok(answer);
                }
            }
            () = sleep(HELD_BACK_RECHECK), if held_back => {}
            () = sleep_until(deadline) => return Ok(answer),
            () = &mut end => return Ok(answer),
        }
        let heard = *commits.borrow_and_update();
        answer = Box::pin(read(db, after, limit, node)).await?;
        if is_idle(&answer, after) {
            waiting.polls.note_idle(cursor, heard);
        }
        if advanced(&answer, after) {
            return Ok(answer);
        }
    }
}

/// Whether nothing at all lies after `after`: none committed, none held back.
fn is_idle(answer: &Answer, after: LogPosition) -> bool {
    !advanced(answer, after) && answer.remaining == 0
}

/// Whether the answer moves the slave on: rows to apply, or a cursor past
/// entries it needs not see (its own changes).
fn advanced(answer: &Answer, after: LogPosition) -> bool {
    !answer.page.rows.is_empty() || answer.page.next != after
}
