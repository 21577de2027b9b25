//! Messages on one machine, through the workspace: an `open` file the running task keeps
//! `flock`ed, `inbox/<message id>.json`, `replies/<message id>.json`.

use std::fs::{File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{
    deliver_to, holder, not_listening, Envelope, Listener, MailboxBackend, Message, Reply, ReplyFn,
    POLL,
};
use crate::error::{Error, Result};
use crate::task_id::TaskId;

#[derive(Debug)]
pub(super) struct LocalMailboxes {
    pub(super) dir: PathBuf,
}

pub(super) struct LocalRegistration {
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

pub(super) fn local_error(path: &Path, e: std::io::Error) -> Error {
    Error::Lock {
        backend: format!("messages in {}", path.display()),
        message: e.to_string(),
    }
}

/// Writes `data` to `path` whole, so readers never see half a message.
pub(super) fn write_whole(path: &Path, data: &[u8]) -> std::io::Result<()> {
    crate::atomic_file::replace(path, data, "message-written")
}

/// The reply file of message `id`; `None` means received without a response.
pub(super) fn local_reply(replies: PathBuf, id: String) -> ReplyFn {
    Box::new(move |text: Option<&str>| {
        let data = serde_json::to_vec(&Reply::answer(text)).expect("a reply serializes");
        std::fs::create_dir_all(&replies).map_err(|e| local_error(&replies, e))?;
        let path = replies.join(format!("{id}.json"));
        write_whole(&path, &data).map_err(|e| local_error(&path, e))
    })
}

pub(super) fn local_receive(inbox: &Path, replies: &Path, deliver: &Sender<Message>) {
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
pub(super) fn local_listener(dir: &Path) -> Option<String> {
    let path = dir.join("open");
    let file = File::open(&path).ok()?;
    match file.try_lock_shared() {
        Err(TryLockError::WouldBlock) => Some(std::fs::read_to_string(&path).unwrap_or_default()),
        _ => None,
    }
}
