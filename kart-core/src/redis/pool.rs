//! Connections to one Redis server: pooled, with bounded connect and I/O timeouts, calls
//! retried while the server is stalled or restarting, and failures worded one way.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use redis::{Client, Connection, RedisError, RedisResult};

use super::RedisEndpoint;
use crate::error::{Error, Result};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call keeps retrying while Redis is stalled or restarting (timeouts, refused or
/// dropped connections) before it fails.
pub(crate) const STALL_BUDGET: Duration = Duration::from_secs(30);
/// Longest pause between two retries of a stalled call.
const MAX_BACKOFF: Duration = Duration::from_secs(1);

/// Whether a failed call may succeed when retried: Redis stalled (`CLIENT PAUSE`, a slow
/// fork), restarting, or the network dropped the connection.
pub(crate) fn transient(e: &RedisError) -> bool {
    e.is_timeout() || e.is_connection_refusal() || e.is_connection_dropped() || e.is_io_error()
}

/// What went wrong, in a few words.
pub(crate) fn describe(e: &RedisError) -> String {
    if e.is_connection_refusal() {
        "connection refused (is redis-server running there?)".to_string()
    } else if e.is_timeout() {
        "timed out".to_string()
    } else {
        e.to_string()
    }
}

/// Connections to one server.
pub(crate) struct RedisPool {
    client: Client,
    addr: String,
    idle: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for RedisPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisPool({})", self.addr)
    }
}

impl RedisPool {
    /// A pool for `endpoint`; connects on first use.
    pub(crate) fn new(endpoint: &RedisEndpoint) -> Result<Self> {
        Ok(RedisPool {
            client: endpoint.client()?,
            addr: endpoint.addr(),
            idle: Mutex::new(Vec::new()),
        })
    }

    /// The client, for connections kept apart from the pool (subscriptions).
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// `host:port`, for messages (never the password).
    pub(crate) fn addr(&self) -> &str {
        &self.addr
    }

    /// A failed call as kart reports it: `cannot use Redis at ADDR: connection refused ...`.
    pub(crate) fn error(&self, e: RedisError) -> Error {
        Error::Lock {
            backend: format!("cannot use Redis at {}", self.addr),
            message: describe(&e),
        }
    }

    /// A new connection with the pool's timeouts, not taken from the pool (for blocking
    /// commands and subscriptions, which keep a connection busy).
    pub(crate) fn connect(&self) -> RedisResult<Connection> {
        let c = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        c.set_read_timeout(Some(IO_TIMEOUT))?;
        c.set_write_timeout(Some(IO_TIMEOUT))?;
        Ok(c)
    }

    fn take(&self) -> RedisResult<Connection> {
        match self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            Some(c) => Ok(c),
            None => self.connect(),
        }
    }

    /// Runs `f` on a pooled connection, retrying for a while if Redis is stalled or
    /// restarting. A connection that failed is not reused.
    pub(crate) fn with<T>(&self, f: impl FnMut(&mut Connection) -> RedisResult<T>) -> Result<T> {
        self.retrying(STALL_BUDGET, f)
    }

    /// [`with`](Self::with), retrying transient failures for up to `budget` with backoff.
    pub(crate) fn retrying<T>(
        &self,
        budget: Duration,
        mut f: impl FnMut(&mut Connection) -> RedisResult<T>,
    ) -> Result<T> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let outcome = self.take().and_then(|mut c| {
                let v = f(&mut c)?;
                self.idle.lock().unwrap_or_else(|p| p.into_inner()).push(c);
                Ok(v)
            });
            match outcome {
                Ok(v) => return Ok(v),
                Err(e) if transient(&e) && started.elapsed() + backoff < budget => {
                    tracing::warn!("Redis at {}: {}; retrying", self.addr, describe(&e));
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(self.error(e)),
            }
        }
    }
}
