//! Talking to Redis, shared by the lock backend and the mailboxes: where the server is and
//! how to log in ([`endpoint`]), and one connection pool with its timeouts, retries and error
//! wording ([`pool`]).

pub mod endpoint;
pub(crate) mod pool;

pub use endpoint::{RedisEndpoint, RedisSettings, Secret};
