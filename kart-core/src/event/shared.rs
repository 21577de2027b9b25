//! The events every worker shares: each process appends its run's events, tagged with the
//! run, to one log every other process (and `<bin> events`) can read. With Redis that log is a
//! Redis Stream (`<prefix>:events`, trimmed to about `stream_max_len` entries); without it, a
//! directory of JSON-lines files, one per run, under the workspace's `.kart/events/` (for an
//! object-storage workspace, under this machine's state directory for it).
//!
//! A background thread writes in batches, so a stalled Redis never stalls a task: the run
//! hands each event to a bounded queue. While the writer keeps up, a burst bigger than the
//! queue (a rerun finding a million tasks complete) waits for room; once a write has failed
//! or taken longer than [`STALLED`], what does not fit is counted and reported when the run
//! ends, never waited for.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::Value;

use super::{Event, EventSink};
use crate::error::{Error, Result};
use crate::keys::RedisKeys;
use crate::redis::pool::RedisPool;

/// Events written in one round trip or one `write`.
const BATCH: usize = 512;
/// How long the end of a run waits for the writer to drain its queue.
const DRAIN: Duration = Duration::from_secs(10);
/// A write taking longer than this means the log has stalled: events no longer wait for room.
const STALLED: Duration = Duration::from_secs(1);
/// Longest one event waits for room in the queue.
const WAIT_FOR_ROOM: Duration = Duration::from_secs(2);

/// Whether the writer keeps up, as the run's threads see it.
#[derive(Default)]
struct Health {
    /// When the write under way started (milliseconds since the epoch), 0 between writes.
    writing_since_ms: AtomicU64,
    /// The last write failed.
    failing: AtomicBool,
}

impl Health {
    fn keeping_up(&self) -> bool {
        let since = self.writing_since_ms.load(Ordering::Relaxed);
        !self.failing.load(Ordering::Relaxed)
            && (since == 0
                || crate::lock::now_ms().saturating_sub(since) < STALLED.as_millis() as u64)
    }
}

/// How long the writer lets events gather after a write: a run's thousands of events a second
/// go in a few writes, not one wake-up and one write each.
const GATHER: Duration = Duration::from_millis(20);

/// The shared log.
#[derive(Clone)]
pub struct SharedLog(Place);

/// Where it lives.
#[derive(Clone)]
enum Place {
    /// A Redis Stream.
    Redis {
        /// The server.
        redis: Arc<RedisPool>,
        /// The stream's key.
        key: String,
        /// About how many entries it keeps.
        max_len: usize,
    },
    /// One JSON-lines file per run in this directory.
    Dir(PathBuf),
}

impl std::fmt::Debug for SharedLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// The name of a run: when it started (UTC), the host and the process, so names sort by
/// start and two workers never share one.
pub fn new_run_id() -> String {
    let host: String = crate::host::name()
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '.' | '-' => c,
            _ => '_',
        })
        .collect();
    format!(
        "{}-{host}-{}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ"),
        std::process::id()
    )
}

impl SharedLog {
    /// The stream `<prefix>:events` on the Redis at `endpoint`.
    pub fn redis(
        endpoint: &crate::redis::RedisEndpoint,
        prefix: &str,
        max_len: usize,
    ) -> Result<Self> {
        Ok(SharedLog(Place::Redis {
            redis: Arc::new(RedisPool::new(endpoint)?),
            key: RedisKeys::new(prefix).events(),
            max_len,
        }))
    }

    /// The workspace's event log: `.kart/events/` in its state directory, beside the file
    /// locks.
    pub fn dir(state_dir: &Path) -> Self {
        SharedLog(Place::Dir(state_dir.join(".kart").join("events")))
    }

    /// Where it is, for messages (never a password).
    pub fn describe(&self) -> String {
        match &self.0 {
            Place::Redis { redis, key, .. } => {
                format!("the Redis stream {key} at {}", redis.addr())
            }
            Place::Dir(dir) => format!("the event log {}", dir.display()),
        }
    }

    /// Appends `lines` (JSON objects) of the run `run`.
    fn append(&self, run: &str, lines: &[Vec<u8>], file: &mut Option<File>) -> Result<()> {
        match &self.0 {
            Place::Redis {
                redis,
                key,
                max_len,
            } => redis.with(|c| {
                let mut pipe = redis::pipe();
                for line in lines {
                    pipe.cmd("XADD")
                        .arg(key)
                        .arg("MAXLEN")
                        .arg("~")
                        .arg(*max_len)
                        .arg("*")
                        .arg("e")
                        .arg(line.as_slice())
                        .ignore();
                }
                pipe.query::<()>(c)
            }),
            Place::Dir(dir) => {
                let path = dir.join(format!("{run}.jsonl"));
                if file.is_none() {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| Error::io("cannot create the event log", dir, e))?;
                    let opened = OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(&path)
                        .map_err(|e| Error::io("cannot open the event log", &path, e))?;
                    *file = Some(opened);
                }
                let mut all = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                for line in lines {
                    all.extend_from_slice(line);
                    all.push(b'\n');
                }
                // One `write` of whole lines: a reader never sees half of one.
                file.as_mut()
                    .expect("opened above")
                    .write_all(&all)
                    .map_err(|e| Error::io("cannot append to the event log", &path, e))
            }
        }
    }

    /// Everything after `cursor`, page by page to `each`, until the log is read to its end
    /// or `each` breaks off (which is then returned).
    pub fn read_to_end(
        &self,
        cursor: &mut Cursor,
        mut each: impl FnMut(Vec<Value>) -> ControlFlow<()>,
    ) -> Result<ControlFlow<()>> {
        const PAGE: usize = 10_000;
        loop {
            let page = self.read(cursor, PAGE)?;
            let more = page.len() >= PAGE;
            if !page.is_empty() && each(page).is_break() {
                return Ok(ControlFlow::Break(()));
            }
            if !more {
                return Ok(ControlFlow::Continue(()));
            }
        }
    }

    /// The events after `cursor`, oldest first (at most about `limit`), moving the cursor on.
    pub fn read(&self, cursor: &mut Cursor, limit: usize) -> Result<Vec<Value>> {
        match &self.0 {
            Place::Redis { redis, key, .. } => {
                let start = match &cursor.stream {
                    Some(id) => format!("({id}"),
                    None => "-".to_string(),
                };
                let entries: Vec<StreamEntry> = redis.with(|c| {
                    redis::cmd("XRANGE")
                        .arg(key)
                        .arg(&start)
                        .arg("+")
                        .arg("COUNT")
                        .arg(limit)
                        .query(c)
                })?;
                let mut out = Vec::with_capacity(entries.len());
                for (id, fields) in entries {
                    for (_, data) in fields {
                        if let Ok(value) = serde_json::from_slice(&data) {
                            out.push(value);
                        }
                    }
                    cursor.stream = Some(id);
                }
                Ok(out)
            }
            Place::Dir(dir) => {
                let mut names: Vec<PathBuf> = match std::fs::read_dir(dir) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                        .collect(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                    Err(e) => return Err(Error::io("cannot read the event log", dir, e)),
                };
                names.sort();
                let mut out = Vec::new();
                for path in names {
                    if out.len() >= limit {
                        break;
                    }
                    let offset = cursor.files.entry(path.clone()).or_insert(0);
                    let mut file = File::open(&path)
                        .map_err(|e| Error::io("cannot read the event log", &path, e))?;
                    file.seek(SeekFrom::Start(*offset))
                        .map_err(|e| Error::io("cannot read the event log", &path, e))?;
                    let mut data = Vec::new();
                    file.read_to_end(&mut data)
                        .map_err(|e| Error::io("cannot read the event log", &path, e))?;
                    // Whole lines only: the last may still be on its way.
                    let whole = data.iter().rposition(|b| *b == b'\n').map_or(0, |p| p + 1);
                    for line in data[..whole].split(|b| *b == b'\n') {
                        if let Ok(value) = serde_json::from_slice(line) {
                            out.push(value);
                        }
                    }
                    *offset += whole as u64;
                }
                // Runs side by side interleave by time.
                out.sort_by(|a: &Value, b: &Value| {
                    a["ts"]
                        .as_str()
                        .unwrap_or("")
                        .cmp(b["ts"].as_str().unwrap_or(""))
                });
                Ok(out)
            }
        }
    }
}

/// One entry of a stream as `XRANGE` answers it: its id and its fields.
type StreamEntry = (String, Vec<(String, Vec<u8>)>);

/// How far a reader has read the shared log.
#[derive(Debug, Clone, Default)]
pub struct Cursor {
    stream: Option<String>,
    files: BTreeMap<PathBuf, u64>,
}

/// Sends a run's events to the shared log.
pub struct SharedSink {
    /// `{"run":"<id>",`: what every line starts with.
    head: Vec<u8>,
    queue: Mutex<Option<SyncSender<Vec<u8>>>>,
    dropped: Arc<AtomicU64>,
    health: Arc<Health>,
    writer: Mutex<Option<(JoinHandle<()>, Receiver<()>)>>,
    log: SharedLog,
}

impl SharedSink {
    /// Starts writing events of the run `run` to `log`, with room for `queue` events waiting
    /// for the writer (`[events] queue`).
    pub fn start(log: SharedLog, run: &str, queue: usize) -> Arc<Self> {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(queue.max(1));
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let dropped = Arc::new(AtomicU64::new(0));
        let health = Arc::new(Health::default());
        let writer = {
            let log = log.clone();
            let run = run.to_string();
            let (dropped, health) = (dropped.clone(), health.clone());
            std::thread::Builder::new()
                .name("kart-events".into())
                .spawn(move || {
                    write_batches(&log, &run, &rx, &dropped, &health);
                    let _ = done_tx.send(());
                })
                .expect("the events thread starts")
        };
        let mut head = br#"{"run":"#.to_vec();
        head.extend(serde_json::to_vec(run).expect("a string serializes"));
        head.push(b',');
        Arc::new(SharedSink {
            head,
            queue: Mutex::new(Some(tx)),
            dropped,
            health,
            writer: Mutex::new(Some((writer, done_rx))),
            log,
        })
    }

    /// Writes what is queued and stops (waiting at most a few seconds, for a Redis that
    /// stopped answering). Returns how many events could not be shared.
    pub fn close(&self) -> u64 {
        drop(self.queue.lock().unwrap_or_else(|p| p.into_inner()).take());
        if let Some((writer, done)) = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take() {
            match done.recv_timeout(DRAIN) {
                Ok(()) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = writer.join();
                }
                Err(RecvTimeoutError::Timeout) => {
                    tracing::warn!(
                        "gave up waiting for {} after {} s",
                        self.log.describe(),
                        DRAIN.as_secs()
                    );
                }
            }
        }
        self.dropped.load(Ordering::Relaxed)
    }

    /// Where the events go.
    pub fn log(&self) -> &SharedLog {
        &self.log
    }
}

impl Drop for SharedSink {
    fn drop(&mut self) {
        self.close();
    }
}

impl EventSink for SharedSink {
    fn handle(&self, event: &Event) {
        let body = serde_json::to_vec(event).expect("events always serialize");
        let mut line = Vec::with_capacity(self.head.len() + body.len());
        line.extend_from_slice(&self.head);
        // The event's own object, after its opening brace.
        line.extend_from_slice(&body[1..]);
        let queue = self.queue.lock().unwrap_or_else(|p| p.into_inner());
        let Some(queue) = queue.as_ref() else { return };
        let mut waited = Duration::ZERO;
        loop {
            match queue.try_send(line) {
                Ok(()) | Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(back)) => {
                    if waited >= WAIT_FOR_ROOM || !self.health.keeping_up() {
                        self.dropped.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    line = back;
                    std::thread::sleep(Duration::from_millis(1));
                    waited += Duration::from_millis(1);
                }
            }
        }
    }
}

/// The writer: whatever is queued, a batch at a time, until the queue closes. A batch that
/// cannot be written is counted as dropped, said once per outage, and the writer goes on.
fn write_batches(
    log: &SharedLog,
    run: &str,
    rx: &Receiver<Vec<u8>>,
    dropped: &AtomicU64,
    health: &Health,
) {
    let mut file = None;
    let mut failing = false;
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(line) => batch.push(line),
                Err(_) => break,
            }
        }
        health
            .writing_since_ms
            .store(crate::lock::now_ms(), Ordering::Relaxed);
        let written = log.append(run, &batch, &mut file);
        health.writing_since_ms.store(0, Ordering::Relaxed);
        health.failing.store(written.is_err(), Ordering::Relaxed);
        match written {
            Ok(()) => failing = false,
            Err(e) => {
                dropped.fetch_add(batch.len() as u64, Ordering::Relaxed);
                if !failing {
                    tracing::warn!("events not shared: {e}");
                }
                failing = true;
            }
        }
        if batch.len() < BATCH {
            std::thread::sleep(GATHER);
        }
    }
}
