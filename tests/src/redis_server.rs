//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! stopped when dropped. No mocks: when the binary is missing, tests fail saying so.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `redis-server`.
pub struct RedisServer {
    child: Option<Child>,
    /// Its port on 127.0.0.1.
    pub port: u16,
    dir: tempfile::TempDir,
    /// Extra server options (`--requirepass`, TLS).
    options: Vec<String>,
    password: Option<String>,
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind a free port")
        .local_addr()
        .unwrap()
        .port()
}

/// A test certificate authority and a server certificate it signed for `localhost` and
/// 127.0.0.1, made with the `openssl` command.
pub struct TestCerts {
    /// The CA's certificate (PEM): what clients trust.
    pub ca: PathBuf,
    /// The server's certificate and key (PEM).
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TestCerts {
    /// Makes them in `dir`.
    pub fn make(dir: &Path) -> Self {
        let openssl = |args: &[&str]| {
            let out = Command::new("openssl")
                .args(args)
                .current_dir(dir)
                .output()
                .unwrap_or_else(|e| panic!("cannot run openssl ({e}): apt-get install -y openssl"));
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        std::fs::write(
            dir.join("server.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=kart test CA",
        ]);
        openssl(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]);
        openssl(&[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ]);
        TestCerts {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(Vec::new(), None)
    }

    /// A server that requires `password` (`--requirepass`).
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(
            vec!["--requirepass".into(), password.into()],
            Some(password.to_string()),
        )
    }

    /// A server that speaks TLS only, with a certificate signed by `certs.ca`.
    pub fn start_tls(certs: &TestCerts) -> Self {
        let path = |p: &PathBuf| p.display().to_string();
        Self::start_with(
            vec![
                "--tls-cert-file".into(),
                path(&certs.cert),
                "--tls-key-file".into(),
                path(&certs.key),
                "--tls-ca-cert-file".into(),
                path(&certs.ca),
                "--tls-auth-clients".into(),
                "no".into(),
            ],
            None,
        )
    }

    fn start_with(options: Vec<String>, password: Option<String>) -> Self {
        let mut server = RedisServer {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir for redis"),
            options,
            password,
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let tls = self.options.iter().any(|o| o == "--tls-cert-file");
        let port = self.port.to_string();
        let ports: Vec<&str> = if tls {
            vec!["--port", "0", "--tls-port", &port]
        } else {
            vec!["--port", &port]
        };
        let child = Command::new("redis-server")
            .args(&ports)
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(&self.options)
            .arg("--dir")
            .arg(self.dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): install redis-server (apt-get install -y redis-server)"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "redis-server on port {} did not listen within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (its data is gone: persistence is off).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// A connection to it (plain TCP; logged in when it has a password).
    pub fn connection(&self) -> redis::RedisResult<redis::Connection> {
        let login = self
            .password
            .as_ref()
            .map(|p| format!(":{p}@"))
            .unwrap_or_default();
        redis::Client::open(format!("redis://{login}127.0.0.1:{}/", self.port))?
            .get_connection_with_timeout(Duration::from_secs(2))
    }

    /// Keys matching `pattern`.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let mut c = self.connection().expect("connect to test redis");
        let mut keys: Vec<String> = redis::cmd("KEYS").arg(pattern).query(&mut c).expect("KEYS");
        keys.sort();
        keys
    }

    /// Deletes `key`.
    pub fn del(&self, key: &str) -> bool {
        let mut c = self.connection().expect("connect to test redis");
        redis::cmd("DEL")
            .arg(key)
            .query::<i64>(&mut c)
            .expect("DEL")
            == 1
    }

    /// `--redis-host`/`--redis-port` flags for this server.
    pub fn flags(&self) -> [String; 4] {
        [
            "--redis-host".into(),
            "127.0.0.1".into(),
            "--redis-port".into(),
            self.port.to_string(),
        ]
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
