//! Messages to running tasks (Luigi's scheduler messages). A `#[task(accepts_messages)]` task
//! gets an [`Inbox`] while it runs; `<bin> message <task_id> <text>` reaches it wherever it
//! runs — through Redis when configured, through the workspace on one machine — and prints the
//! task's response.
//!
//! ```no_run
//! # use kart_core::{task, RunContext, Result};
//! /// Works until told to stop.
//! #[task(accepts_messages, output = "loop/{n}.json")]
//! fn long_loop(n: u32, ctx: &RunContext) -> Result<u32> {
//!     let mut rounds = 0;
//!     loop {
//!         rounds += 1; // ... one round of work ...
//!         if let Some(msg) = ctx.next_message() {
//!             if msg.content() == "terminate" {
//!                 msg.respond(format!("stopping after {rounds} rounds"))?;
//!                 break;
//!             }
//!             msg.respond("unknown message")?;
//!         }
//!     }
//!     Ok(rounds)
//! }
//! ```
//!
//! Redis keys (under the lock prefix): `<p>:msg:open:<task id>` says the task is listening
//! (`host pid family`, a short TTL renewed while it runs, so a crashed holder disappears),
//! `<p>:msg:inbox:<task id>` is the list of messages, `<p>:msg:reply:<message id>` the answer.
//! On one machine the same lives under `<workspace>/.kart/messages/<task id>/`: an `open` file
//! the running task keeps `flock`ed, `inbox/<message id>.json`, `replies/<message id>.json`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::task::id::TaskId;
use crate::{Error, Result};

/// How often an idle inbox looks for new messages on one machine, and the longest a Redis
/// inbox blocks before renewing its presence.
const POLL: Duration = Duration::from_millis(50);
const REDIS_BLOCK_SECS: f64 = 0.5;
/// Presence of a listening task in Redis outlives its last renewal by this much.
const PRESENCE_TTL_MS: u64 = 5_000;
/// Replies nobody picked up are dropped after this.
const REPLY_TTL_SECS: i64 = 300;

/// Sends the answer to a message back to its sender; `None`: read without an answer.
type ReplyFn = Box<dyn FnOnce(Option<&str>) -> Result<()> + Send>;

/// One message to a running task. Answer it with [`Message::respond`]; one dropped unanswered
/// tells the sender it was received without a response.
pub struct Message {
    content: String,
    reply: Option<ReplyFn>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Message")
            .field("content", &self.content)
            .finish()
    }
}

impl Message {
    /// The text sent.
    pub fn content(&self) -> &str {
        &self.content
    }

    /// Sends `text` back to whoever sent the message.
    pub fn respond(mut self, text: impl AsRef<str>) -> Result<()> {
        match self.reply.take() {
            Some(reply) => reply(Some(text.as_ref())),
            None => Ok(()),
        }
    }
}

impl Drop for Message {
    fn drop(&mut self) {
        if let Some(reply) = self.reply.take() {
            let _ = reply(None);
        }
    }
}

/// What the sender gets back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reply {
    /// The task answered.
    Response(String),
    /// The task read the message and did not answer.
    Received,
    /// Nothing within the bound: the task did not read it (yet).
    NoResponse,
}

impl Reply {
    /// What the task's answer (`None`: read, not answered) looks like to the sender.
    fn answer(text: Option<&str>) -> Self {
        text.map_or(Reply::Received, |t| Reply::Response(t.to_string()))
    }
}

/// A task listening for messages, as `message --list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    /// The task's id.
    pub task_id: String,
    /// `host pid family`.
    pub holder: String,
}

/// Where messages travel: Redis, or the workspace's `.kart/messages` on one machine.
pub trait MailboxBackend: Send + Sync + std::fmt::Debug {
    /// Starts listening for `task`; messages arrive on `deliver` until the registration drops.
    fn open(
        &self,
        task: &TaskId,
        family: &str,
        deliver: Sender<Message>,
    ) -> Result<Box<dyn Send + Sync>>;
    /// Delivers `content` to the running task `task_id` and waits up to `wait` for the reply.
    fn send(&self, task_id: &str, content: &str, wait: Duration) -> Result<Reply>;
    /// Tasks listening now.
    fn list(&self) -> Result<Vec<Listener>>;
    /// `redis HOST:PORT` or the directory, for messages.
    fn describe(&self) -> String;
}

/// A handle on the messaging backend of a run.
#[derive(Debug, Clone)]
pub struct Mailboxes(Arc<dyn MailboxBackend>);

impl Mailboxes {
    /// Messages through the workspace at `workspace` (one machine).
    pub fn local(workspace: &Path) -> Self {
        Mailboxes(Arc::new(LocalMailboxes {
            dir: workspace.join(".kart").join("messages"),
        }))
    }

    /// Messages through Redis at `endpoint`, keys under `prefix:` (default `kart`).
    pub fn redis(endpoint: &crate::redis_endpoint::RedisEndpoint, prefix: &str) -> Result<Self> {
        let addr = endpoint.addr();
        let client = endpoint.client()?;
        let prefix = if prefix.is_empty() { "kart" } else { prefix };
        // Connects on first use: a run's lock backend has already checked the server.
        Ok(Mailboxes(Arc::new(RedisMailboxes {
            client,
            addr,
            prefix: prefix.to_string(),
        })))
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn MailboxBackend> {
        &self.0
    }

    /// Opens the inbox of a running task; it stops listening when dropped.
    pub fn open(&self, task: &TaskId, family: &str) -> Result<Inbox> {
        let (tx, rx) = mpsc::channel();
        let registration = self.0.open(task, family, tx)?;
        Ok(Inbox {
            rx: Mutex::new(rx),
            _registration: registration,
        })
    }

    /// Sends `content` to the running task `task_id`, waiting up to `wait` for its reply.
    pub fn send(&self, task_id: &str, content: &str, wait: Duration) -> Result<Reply> {
        self.0.send(task_id, content, wait)
    }
}

/// The messages of one running task.
pub struct Inbox {
    rx: Mutex<Receiver<Message>>,
    _registration: Box<dyn Send + Sync>,
}

impl std::fmt::Debug for Inbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inbox")
    }
}

impl Drop for Inbox {
    fn drop(&mut self) {
        // Messages the task never read were not received: their senders get no response.
        let rx = self.rx.get_mut().unwrap_or_else(|p| p.into_inner());
        while let Ok(mut m) = rx.try_recv() {
            m.reply = None;
        }
    }
}

/// Hands `message` to the task; when the task is gone it was never read, so no reply is sent.
fn deliver_to(deliver: &Sender<Message>, message: Message) {
    if let Err(mpsc::SendError(mut unread)) = deliver.send(message) {
        unread.reply = None;
    }
}

impl Inbox {
    /// The next message, if one is waiting.
    pub fn try_next(&self) -> Option<Message> {
        self.rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .try_recv()
            .ok()
    }

    /// The next message, waiting at most `timeout`.
    pub fn next_timeout(&self, timeout: Duration) -> Option<Message> {
        self.rx
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .recv_timeout(timeout)
            .ok()
    }
}

fn message_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos:024}-{:08x}", rand::random::<u32>())
}

fn holder(family: &str) -> String {
    let me = crate::lock::Holder::this_process(None);
    format!("{} {} {family}", me.host, me.pid)
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    id: String,
    content: String,
}

impl Envelope {
    /// A new message: its id and its JSON text.
    fn wrap(content: &str) -> (String, String) {
        let id = message_id();
        let text = serde_json::to_string(&Envelope {
            id: id.clone(),
            content: content.to_string(),
        })
        .expect("a message serializes");
        (id, text)
    }
}

fn not_listening(task_id: &str, backend: &str) -> Error {
    Error::Lock {
        backend: format!("messages through {backend}"),
        message: format!(
            "task `{task_id}` is not running or does not accept messages (`message --list` shows those that do)"
        ),
    }
}

// ---- one machine: the workspace ----

#[derive(Debug)]
struct LocalMailboxes {
    dir: PathBuf,
}

struct LocalRegistration {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: PathBuf,
    _open: File,
}

impl Drop for LocalRegistration {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let _ = std::fs::remove_file(self.dir.join("open"));
        let _ = std::fs::remove_dir_all(self.dir.join("inbox"));
        // Replies not yet picked up stay for their senders; empty directories go.
        let _ = std::fs::remove_dir(self.dir.join("replies"));
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn local_error(path: &Path, e: std::io::Error) -> Error {
    Error::Lock {
        backend: format!("messages in {}", path.display()),
        message: e.to_string(),
    }
}

/// Writes `data` to `path` whole, so readers never see half a message.
fn write_whole(path: &Path, data: &[u8]) -> std::io::Result<()> {
    crate::atomic_file::replace(path, data, "message-written")
}

/// The reply file of message `id`; `None` means received without a response.
fn local_reply(replies: PathBuf, id: String) -> ReplyFn {
    Box::new(move |text: Option<&str>| {
        let data = serde_json::to_vec(&Reply::answer(text)).expect("a reply serializes");
        std::fs::create_dir_all(&replies).map_err(|e| local_error(&replies, e))?;
        let path = replies.join(format!("{id}.json"));
        write_whole(&path, &data).map_err(|e| local_error(&path, e))
    })
}

fn local_receive(inbox: &Path, replies: &Path, deliver: &Sender<Message>) {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.') && n.ends_with(".json"))
        .collect();
    names.sort();
    for name in names {
        let path = inbox.join(&name);
        let Ok(data) = std::fs::read(&path) else {
            continue;
        };
        let _ = std::fs::remove_file(&path);
        let Ok(env) = serde_json::from_slice::<Envelope>(&data) else {
            continue;
        };
        let message = Message {
            content: env.content,
            reply: Some(local_reply(replies.to_path_buf(), env.id)),
        };
        deliver_to(deliver, message);
    }
}

impl MailboxBackend for LocalMailboxes {
    fn open(
        &self,
        task: &TaskId,
        family: &str,
        deliver: Sender<Message>,
    ) -> Result<Box<dyn Send + Sync>> {
        let dir = self.dir.join(task.as_str());
        let inbox = dir.join("inbox");
        std::fs::create_dir_all(&inbox).map_err(|e| local_error(&inbox, e))?;
        let open_path = dir.join("open");
        let mut open = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&open_path)
            .map_err(|e| local_error(&open_path, e))?;
        open.lock().map_err(|e| local_error(&open_path, e))?;
        open.set_len(0).map_err(|e| local_error(&open_path, e))?;
        let _ = open.write_all(holder(family).as_bytes());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stop, replies) = (stop.clone(), dir.join("replies"));
            std::thread::Builder::new()
                .name("kart-inbox".into())
                .spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        local_receive(&inbox, &replies, &deliver);
                        std::thread::sleep(POLL);
                    }
                })
                .map_err(|e| local_error(&dir, e))?
        };
        Ok(Box::new(LocalRegistration {
            stop,
            thread: Some(thread),
            dir,
            _open: open,
        }))
    }

    fn send(&self, task_id: &str, content: &str, wait: Duration) -> Result<Reply> {
        let dir = self.dir.join(task_id);
        let Some(_) = local_listener(&dir) else {
            return Err(not_listening(task_id, &self.describe()));
        };
        let (id, envelope) = Envelope::wrap(content);
        let sent = dir.join("inbox").join(format!("{id}.json"));
        write_whole(&sent, envelope.as_bytes()).map_err(|e| local_error(&sent, e))?;
        let reply_path = dir.join("replies").join(format!("{id}.json"));
        let deadline = Instant::now() + wait;
        loop {
            if let Ok(data) = std::fs::read(&reply_path) {
                let _ = std::fs::remove_file(&reply_path);
                let _ = std::fs::remove_dir(dir.join("replies"));
                return serde_json::from_slice(&data).map_err(|e| Error::Lock {
                    backend: format!("messages in {}", self.dir.display()),
                    message: format!("unreadable reply {}: {e}", reply_path.display()),
                });
            }
            if Instant::now() >= deadline {
                // Unread: take it back so it is not acted on after we gave up.
                let _ = std::fs::remove_file(&sent);
                return Ok(Reply::NoResponse);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn list(&self) -> Result<Vec<Listener>> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if let Some(holder) = local_listener(&entry.path()) {
                out.push(Listener {
                    task_id: entry.file_name().to_string_lossy().into_owned(),
                    holder,
                });
            }
        }
        out.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("the workspace ({})", self.dir.display())
    }
}

/// The holder of a task's `open` file while its `flock` is held, i.e. while the task runs.
fn local_listener(dir: &Path) -> Option<String> {
    let path = dir.join("open");
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => Some(std::fs::read_to_string(&path).unwrap_or_default()),
        _ => None,
    }
}

// ---- Redis ----

#[derive(Debug)]
struct RedisMailboxes {
    client: redis::Client,
    addr: String,
    prefix: String,
}

impl RedisMailboxes {
    fn error(&self, e: redis::RedisError) -> Error {
        crate::lock::redis_error(&self.addr, e)
    }

    fn connection(&self) -> Result<redis::Connection> {
        let c = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
            .map_err(|e| self.error(e))?;
        c.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| self.error(e))?;
        Ok(c)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}:msg:{kind}:{id}", self.prefix)
    }
}

struct RedisRegistration {
    stop: Arc<AtomicBool>,
    client: redis::Client,
    presence: String,
}

impl Drop for RedisRegistration {
    fn drop(&mut self) {
        // Not joined: the receiver notices within one blocking pop and exits; senders see the
        // task gone at once.
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self
            .client
            .get_connection_with_timeout(Duration::from_secs(2))
        {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&self.presence).query(&mut c);
        }
    }
}

fn redis_reply(client: redis::Client, addr: String, key: String) -> ReplyFn {
    Box::new(move |text: Option<&str>| {
        let data = serde_json::to_string(&Reply::answer(text)).expect("a reply serializes");
        let mut c = client
            .get_connection_with_timeout(Duration::from_secs(2))
            .map_err(|e| crate::lock::redis_error(&addr, e))?;
        redis::pipe()
            .cmd("RPUSH")
            .arg(&key)
            .arg(data)
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(REPLY_TTL_SECS)
            .ignore()
            .query::<()>(&mut c)
            .map_err(|e| crate::lock::redis_error(&addr, e))
    })
}

impl MailboxBackend for RedisMailboxes {
    fn open(
        &self,
        task: &TaskId,
        family: &str,
        deliver: Sender<Message>,
    ) -> Result<Box<dyn Send + Sync>> {
        let presence = self.key("open", task.as_str());
        let inbox = self.key("inbox", task.as_str());
        let mut c = self.connection()?;
        redis::cmd("SET")
            .arg(&presence)
            .arg(holder(family))
            .arg("PX")
            .arg(PRESENCE_TTL_MS)
            .query::<()>(&mut c)
            .map_err(|e| self.error(e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (client, prefix, addr) = (self.client.clone(), self.prefix.clone(), self.addr.clone());
        let (thread_stop, thread_presence) = (stop.clone(), presence.clone());
        std::thread::Builder::new()
            .name("kart-inbox".into())
            .spawn(move || {
                let mut conn = Some(c);
                while !thread_stop.load(Ordering::SeqCst) {
                    let Some(c) = conn.as_mut() else {
                        std::thread::sleep(POLL * 10);
                        conn = client
                            .get_connection_with_timeout(Duration::from_secs(2))
                            .ok();
                        continue;
                    };
                    // PEXPIRE never recreates the key, so a finished task cannot reappear.
                    let popped: redis::RedisResult<Option<(String, String)>> = redis::pipe()
                        .cmd("PEXPIRE")
                        .arg(&thread_presence)
                        .arg(PRESENCE_TTL_MS)
                        .ignore()
                        .query::<()>(c)
                        .and_then(|()| {
                            redis::cmd("BLPOP")
                                .arg(&inbox)
                                .arg(REDIS_BLOCK_SECS)
                                .query(c)
                        });
                    match popped {
                        Ok(Some((_, data))) => {
                            let Ok(env) = serde_json::from_str::<Envelope>(&data) else {
                                continue;
                            };
                            let key = format!("{prefix}:msg:reply:{}", env.id);
                            let message = Message {
                                content: env.content,
                                reply: Some(redis_reply(client.clone(), addr.clone(), key)),
                            };
                            deliver_to(&deliver, message);
                        }
                        Ok(None) => {}
                        Err(_) => conn = None,
                    }
                }
            })
            .map_err(|e| Error::Lock {
                backend: format!("messages through redis {}", self.addr),
                message: e.to_string(),
            })?;
        Ok(Box::new(RedisRegistration {
            stop,
            client: self.client.clone(),
            presence,
        }))
    }

    fn send(&self, task_id: &str, content: &str, wait: Duration) -> Result<Reply> {
        let mut c = self.connection()?;
        let listening: bool = redis::cmd("EXISTS")
            .arg(self.key("open", task_id))
            .query(&mut c)
            .map_err(|e| self.error(e))?;
        if !listening {
            return Err(not_listening(task_id, &self.describe()));
        }
        let (id, envelope) = Envelope::wrap(content);
        let inbox = self.key("inbox", task_id);
        redis::pipe()
            .cmd("RPUSH")
            .arg(&inbox)
            .arg(&envelope)
            .ignore()
            .cmd("EXPIRE")
            .arg(&inbox)
            .arg(REPLY_TTL_SECS)
            .ignore()
            .query::<()>(&mut c)
            .map_err(|e| self.error(e))?;
        c.set_read_timeout(Some(wait + Duration::from_secs(5)))
            .map_err(|e| self.error(e))?;
        let popped: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(self.key("reply", &id))
            .arg(wait.as_secs_f64().max(0.01))
            .query(&mut c)
            .map_err(|e| self.error(e))?;
        match popped {
            Some((_, data)) => serde_json::from_str(&data).map_err(|e| Error::Lock {
                backend: self.describe(),
                message: format!("unreadable reply: {e}"),
            }),
            None => {
                // Unread: take it back so it is not acted on after we gave up.
                let _: redis::RedisResult<i64> = redis::cmd("LREM")
                    .arg(&inbox)
                    .arg(1)
                    .arg(&envelope)
                    .query(&mut c);
                Ok(Reply::NoResponse)
            }
        }
    }

    fn list(&self) -> Result<Vec<Listener>> {
        let mut c = self.connection()?;
        let pattern = self.key("open", "*");
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(&pattern)
            .query(&mut c)
            .map_err(|e| self.error(e))?;
        let strip = self.key("open", "");
        let mut out = Vec::new();
        for key in keys {
            let holder: Option<String> = redis::cmd("GET")
                .arg(&key)
                .query(&mut c)
                .map_err(|e| self.error(e))?;
            if let Some(holder) = holder {
                out.push(Listener {
                    task_id: key.trim_start_matches(&strip).to_string(),
                    holder,
                });
            }
        }
        out.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("redis {}", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_round_trips_through_the_workspace() {
        let dir = tempfile::tempdir().unwrap();
        let boxes = Mailboxes::local(dir.path());
        let id = TaskId::new("Loop", &[]);
        assert!(boxes.send(id.as_str(), "hi", Duration::ZERO).is_err());
        let inbox = boxes.open(&id, "Loop").unwrap();
        assert_eq!(boxes.backend().list().unwrap()[0].task_id, id.as_str());
        let answer = std::thread::spawn(move || {
            let m = inbox
                .next_timeout(Duration::from_secs(5))
                .expect("a message");
            assert_eq!(m.content(), "status?");
            m.respond("fine").unwrap();
            let m = inbox
                .next_timeout(Duration::from_secs(5))
                .expect("a message");
            drop(m);
            inbox
        });
        let sent = boxes.send(id.as_str(), "status?", Duration::from_secs(5));
        assert_eq!(sent.unwrap(), Reply::Response("fine".into()));
        let sent = boxes.send(id.as_str(), "terminate", Duration::from_secs(5));
        assert_eq!(sent.unwrap(), Reply::Received);
        let inbox = answer.join().unwrap();
        let sent = boxes.send(id.as_str(), "anyone?", Duration::from_millis(100));
        assert_eq!(sent.unwrap(), Reply::NoResponse);
        drop(inbox);
        assert!(boxes.backend().list().unwrap().is_empty());
        assert!(boxes.send(id.as_str(), "hi", Duration::ZERO).is_err());
    }
}
