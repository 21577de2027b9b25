//! Messages through Redis: a presence key with a short TTL, a list per inbox, a key per reply.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Arc;
use std::time::Duration;

use super::{
    deliver_to, holder, not_listening, Envelope, Listener, MailboxBackend, Message, Reply, ReplyFn,
    POLL, PRESENCE_TTL_MS, REDIS_BLOCK_SECS, REPLY_TTL_SECS,
};
use crate::error::{Error, Result};
use crate::keys::RedisKeys;
use crate::redis::pool::RedisPool;
use crate::task_id::TaskId;

#[derive(Debug)]
pub(super) struct RedisMailboxes {
    pub(super) redis: Arc<RedisPool>,
    pub(super) keys: RedisKeys,
}

pub(super) struct RedisRegistration {
    stop: Arc<AtomicBool>,
    redis: Arc<RedisPool>,
    presence: String,
}

impl Drop for RedisRegistration {
    fn drop(&mut self) {
        // Not joined: the receiver notices within one blocking pop and exits; senders see the
        // task gone at once. Not retried: the presence expires by itself.
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut c) = self.redis.connect() {
            let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&self.presence).query(&mut c);
        }
    }
}

/// Answers a message by pushing the reply where the sender waits for it.
fn redis_reply(redis: Arc<RedisPool>, key: String) -> ReplyFn {
    Box::new(move |text: Option<&str>| {
        let data = serde_json::to_string(&Reply::answer(text)).expect("a reply serializes");
        redis.with(|c| {
            redis::pipe()
                .cmd("RPUSH")
                .arg(&key)
                .arg(&data)
                .ignore()
                .cmd("EXPIRE")
                .arg(&key)
                .arg(REPLY_TTL_SECS)
                .ignore()
                .query::<()>(c)
        })
    })
}

impl MailboxBackend for RedisMailboxes {
    fn open(
        &self,
        task: &TaskId,
        family: &str,
        deliver: Sender<Message>,
    ) -> Result<Box<dyn Send + Sync>> {
        let presence = self.keys.msg_open(task.as_str());
        let inbox = self.keys.msg_inbox(task.as_str());
        let me = holder(family);
        self.redis.with(|c| {
            redis::cmd("SET")
                .arg(&presence)
                .arg(&me)
                .arg("PX")
                .arg(PRESENCE_TTL_MS)
                .query::<()>(c)
        })?;
        let c = self.redis.connect().map_err(|e| self.redis.error(e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (redis, keys) = (self.redis.clone(), self.keys.clone());
        let (thread_stop, thread_presence) = (stop.clone(), presence.clone());
        std::thread::Builder::new()
            .name("kart-inbox".into())
            .spawn(move || {
                let mut conn = Some(c);
                while !thread_stop.load(Ordering::SeqCst) {
                    let Some(c) = conn.as_mut() else {
                        std::thread::sleep(POLL * 10);
                        conn = redis.connect().ok();
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
                            let message = Message {
                                content: env.content,
                                reply: Some(redis_reply(redis.clone(), keys.msg_reply(&env.id))),
                            };
                            deliver_to(&deliver, message);
                        }
                        Ok(None) => {}
                        Err(_) => conn = None,
                    }
                }
            })
            .map_err(|e| Error::Lock {
                backend: format!("messages through redis {}", self.redis.addr()),
                message: e.to_string(),
            })?;
        Ok(Box::new(RedisRegistration {
            stop,
            redis: self.redis.clone(),
            presence,
        }))
    }

    fn send(&self, task_id: &str, content: &str, wait: Duration) -> Result<Reply> {
        let listening: bool = self.redis.with(|c| {
            redis::cmd("EXISTS")
                .arg(self.keys.msg_open(task_id))
                .query(c)
        })?;
        if !listening {
            return Err(not_listening(task_id, &self.describe()));
        }
        let (id, envelope) = Envelope::wrap(content);
        let inbox = self.keys.msg_inbox(task_id);
        let error = |e| self.redis.error(e);
        // Not retried: a resent message could be delivered twice.
        let mut c = self.redis.connect().map_err(error)?;
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
            .map_err(error)?;
        c.set_read_timeout(Some(wait + Duration::from_secs(5)))
            .map_err(error)?;
        let popped: Option<(String, String)> = redis::cmd("BLPOP")
            .arg(self.keys.msg_reply(&id))
            .arg(wait.as_secs_f64().max(0.01))
            .query(&mut c)
            .map_err(error)?;
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
        let pattern = self.keys.msg_open("*");
        let keys: Vec<String> = self
            .redis
            .with(|c| redis::cmd("KEYS").arg(&pattern).query(c))?;
        let mut out = Vec::new();
        for key in keys {
            let holder: Option<String> =
                self.redis.with(|c| redis::cmd("GET").arg(&key).query(c))?;
            if let Some(holder) = holder {
                out.push(Listener {
                    task_id: self.keys.msg_task_of(&key).to_string(),
                    holder,
                });
            }
        }
        out.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        Ok(out)
    }

    fn describe(&self) -> String {
        format!("redis {}", self.redis.addr())
    }
}
