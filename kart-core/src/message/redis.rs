//! Messages through Redis: a presence key with a short TTL, a list per inbox, a key per reply.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use super::{
    deliver_to, holder, not_listening, Envelope, Listener, MailboxBackend, Message, Reply, ReplyFn,
    POLL, PRESENCE_TTL_MS, REDIS_BLOCK_SECS, REPLY_TTL_SECS,
};
use crate::task::id::TaskId;
use crate::{Error, Result};

#[derive(Debug)]
pub(super) struct RedisMailboxes {
    pub(super) client: redis::Client,
    pub(super) addr: String,
    pub(super) prefix: String,
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

pub(super) struct RedisRegistration {
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

pub(super) fn redis_reply(client: redis::Client, addr: String, key: String) -> ReplyFn {
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
