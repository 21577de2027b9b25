//! Where the shared Redis server is and how to reach it: address, database, credentials, TLS.
//! Locks and messages both connect through [`RedisEndpoint::client`]. A password never appears
//! in a message, an event or a log: errors name `host:port` only, and URLs are shown redacted.

use std::fmt;
use std::path::PathBuf;

use crate::error::{Error, Result};

/// A password, shown as `***` by `Debug` and `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Secret(password.into())
    }
    /// The password itself, for the connection only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How to reach one Redis server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisEndpoint {
    /// Host name or address.
    pub host: String,
    /// Port (default 6379).
    pub port: u16,
    /// Database number (default 0).
    pub db: i64,
    /// ACL user name (Redis 6+); none: the `default` user.
    pub username: Option<String>,
    /// Password (`AUTH`).
    pub password: Option<Secret>,
    /// Connect with TLS (`rediss://`).
    pub tls: bool,
    /// PEM file of the certificate authority to trust for TLS, besides the system's.
    pub ca_file: Option<PathBuf>,
}

/// Redis settings as one source gives them (a URL, a config section, the environment, the
/// command line), each field optional; [`over`](Self::over) layers sources, and
/// [`endpoint`](Self::endpoint) fills the defaults.
#[derive(Debug, Default, Clone)]
pub struct RedisSettings {
    /// Host.
    pub host: Option<String>,
    /// Port (default 6379).
    pub port: Option<u16>,
    /// Database (`/2` in a URL; default 0).
    pub db: Option<i64>,
    /// ACL user name.
    pub username: Option<String>,
    /// Password.
    pub password: Option<Secret>,
    /// TLS (`rediss://`; default off).
    pub tls: Option<bool>,
    /// PEM file of a certificate authority to trust for TLS.
    pub ca_file: Option<PathBuf>,
}

impl RedisSettings {
    /// `top` where it says something, else `self`.
    pub fn over(self, top: RedisSettings) -> RedisSettings {
        RedisSettings {
            host: top.host.or(self.host),
            port: top.port.or(self.port),
            db: top.db.or(self.db),
            username: top.username.or(self.username),
            password: top.password.or(self.password),
            tls: top.tls.or(self.tls),
            ca_file: top.ca_file.or(self.ca_file),
        }
    }

    /// The endpoint, when a host was given.
    pub fn endpoint(self) -> Option<RedisEndpoint> {
        Some(RedisEndpoint {
            host: self.host?,
            port: self.port.unwrap_or(6379),
            db: self.db.unwrap_or(0),
            username: self.username,
            password: self.password,
            tls: self.tls.unwrap_or(false),
            ca_file: self.ca_file,
        })
    }

    /// Parses `redis[s]://[[user]:password@]host[:port][/db]`; an empty URL says nothing.
    /// Errors show the URL with its password replaced by `***`; `what` names where it came
    /// from (`KART_REDIS_URL`).
    pub fn from_url(url: &str, what: &str) -> Result<Self> {
        if url.is_empty() {
            return Ok(RedisSettings::default());
        }
        let bad = |message: &str| Error::InvalidOption {
            what: format!("{what} {:?}", redact_url(url)),
            message: message.to_string(),
        };
        let parsed = url::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        let tls = match parsed.scheme() {
            "redis" => false,
            "rediss" => true,
            _ => return Err(bad("expected redis://host:port or rediss://host:port")),
        };
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("missing host"))?
            .trim_matches(|c| c == '[' || c == ']')
            .to_string();
        let db = match parsed.path().trim_matches('/') {
            "" => None,
            n => Some(
                n.parse()
                    .map_err(|_| bad("the path must be a database number"))?,
            ),
        };
        let decode = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok(RedisSettings {
            host: Some(host),
            port: parsed.port(),
            db,
            username: Some(parsed.username())
                .filter(|u| !u.is_empty())
                .map(decode),
            password: parsed.password().map(|p| Secret::new(decode(p))),
            tls: Some(tls),
            ca_file: None,
        })
    }
}

/// `url` with its password replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => match url.rsplit_once('@') {
            Some((_, rest)) => format!("***@{rest}"),
            None => url.to_string(),
        },
    }
}

impl RedisEndpoint {
    /// Plain TCP to `host:port`, no credentials.
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        RedisEndpoint {
            host: host.into(),
            port,
            db: 0,
            username: None,
            password: None,
            tls: false,
            ca_file: None,
        }
    }

    /// `host:port`, for messages (never with credentials).
    pub fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// A client for this endpoint (nothing is sent yet).
    pub fn client(&self) -> Result<redis::Client> {
        let fail = |message: String| Error::Lock {
            backend: format!("cannot use Redis at {}", self.addr()),
            message,
        };
        let addr = if self.tls {
            redis::ConnectionAddr::TcpTls {
                host: self.host.clone(),
                port: self.port,
                insecure: false,
                tls_params: None,
            }
        } else {
            redis::ConnectionAddr::Tcp(self.host.clone(), self.port)
        };
        let mut login = redis::RedisConnectionInfo::default().set_db(self.db);
        if let Some(user) = &self.username {
            login = login.set_username(user);
        }
        if let Some(password) = &self.password {
            login = login.set_password(password.expose());
        }
        let info = redis::IntoConnectionInfo::into_connection_info(addr)
            .map_err(|e| fail(e.to_string()))?
            .set_redis_settings(login);
        match (&self.ca_file, self.tls) {
            (Some(ca), true) => {
                let root_cert = std::fs::read(ca)
                    .map_err(|e| Error::io("cannot read the Redis CA file", ca, e))?;
                redis::Client::build_with_tls(
                    info,
                    redis::TlsCertificates {
                        client_tls: None,
                        root_cert: Some(root_cert),
                    },
                )
                .map_err(|e| fail(format!("bad CA file {}: {e}", ca.display())))
            }
            _ => redis::Client::open(info).map_err(|e| fail(e.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_their_password() {
        let u = RedisSettings::from_url(
            "rediss://alice:p%40ss@cache.example:6380/2",
            "KART_REDIS_URL",
        )
        .unwrap();
        assert_eq!(u.host.as_deref(), Some("cache.example"));
        assert_eq!((u.port, u.db, u.tls), (Some(6380), Some(2), Some(true)));
        assert_eq!(u.username.as_deref(), Some("alice"));
        assert_eq!(u.password.as_ref().unwrap().expose(), "p@ss");
        assert_eq!(format!("{u:?}").matches("p@ss").count(), 0);
        let only_password = RedisSettings::from_url("redis://:pw@h", "x").unwrap();
        assert_eq!(only_password.username, None);
        assert_eq!(only_password.password.unwrap().expose(), "pw");
        let err =
            RedisSettings::from_url("redis://:hunter2@h:notaport", "KART_REDIS_URL").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
        let err = RedisSettings::from_url("http://:hunter2@h", "KART_REDIS_URL").unwrap_err();
        assert!(!err.to_string().contains("hunter2"), "{err}");
    }
}
