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
//! Redis keys (under the lock prefix, see [`crate::keys`]): `<p>:msg:open:<task id>` says the task is listening
//! (`host pid family`, a short TTL renewed while it runs, so a crashed holder disappears),
//! `<p>:msg:inbox:<task id>` is the list of messages, `<p>:msg:reply:<message id>` the answer.
//! On one machine the same lives under `<workspace>/.kart/messages/<task id>/`: an `open` file
//! the running task keeps `flock`ed, `inbox/<message id>.json`, `replies/<message id>.json`.

mod local;
mod redis;

use std::path::Path;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use self::local::LocalMailboxes;
use self::redis::RedisMailboxes;
use crate::error::{Error, Result};
use crate::keys::RedisKeys;
use crate::redis::pool::RedisPool;
use crate::task_id::TaskId;

/// How often an idle inbox looks for new messages on one machine, and the longest a Redis
/// inbox blocks before renewing its presence.
pub(super) const POLL: Duration = Duration::from_millis(50);
pub(super) const REDIS_BLOCK_SECS: f64 = 0.5;
/// Presence of a listening task in Redis outlives its last renewal by this much.
pub(super) const PRESENCE_TTL_MS: u64 = 5_000;
/// Replies nobody picked up are dropped after this.
pub(super) const REPLY_TTL_SECS: i64 = 300;

/// Sends the answer to a message back to its sender; `None`: read without an answer.
pub(super) type ReplyFn = Box<dyn FnOnce(Option<&str>) -> Result<()> + Send>;

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
    pub fn redis(endpoint: &crate::redis::RedisEndpoint, prefix: &str) -> Result<Self> {
        // Connects on first use: a run's lock backend has already checked the server.
        Ok(Mailboxes(Arc::new(RedisMailboxes {
            redis: Arc::new(RedisPool::new(endpoint)?),
            keys: RedisKeys::new(prefix),
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
pub(super) fn deliver_to(deliver: &Sender<Message>, message: Message) {
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

pub(super) fn message_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{nanos:024}-{:08x}", rand::random::<u32>())
}

pub(super) fn holder(family: &str) -> String {
    let me = crate::lock::Holder::this_process(None);
    format!("{} {} {family}", me.host, me.pid)
}

#[derive(Serialize, Deserialize)]
pub(super) struct Envelope {
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

pub(super) fn not_listening(task_id: &str, backend: &str) -> Error {
    Error::Lock {
        backend: format!("messages through {backend}"),
        message: format!(
            "task `{task_id}` is not running or does not accept messages (`message --list` shows those that do)"
        ),
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
