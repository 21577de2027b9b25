//! A real PostgreSQL cluster for tests: `initdb` into a temporary directory, `pg_ctl start` on
//! a free loopback port with a password login and every statement logged (so tests can count
//! them), stopped and removed when dropped. No mocks: when the binaries are missing, tests fail
//! saying how to install them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::redis_server::free_port;

/// The login the tests use; its password is what they must never see printed.
pub const USER: &str = "kart";
pub const PASSWORD: &str = "s3cret-pg-pass";

/// A running cluster.
pub struct PgServer {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// The directory holding `initdb` and `pg_ctl`: Debian keeps them under
/// `/usr/lib/postgresql/<version>/bin`, off the PATH.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    match versions.pop() {
        Some(bin) => bin,
        None => panic!("PostgreSQL's initdb not found under /usr/lib/postgresql/*/bin: apt-get install -y postgresql"),
    }
}

/// Runs a server binary, as the `postgres` user when this is root (`initdb` refuses root).
fn run(bin: &Path, program: &str, args: &[&str]) -> std::process::Output {
    let path = bin.join(program);
    let mut cmd = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&path);
        c
    } else {
        Command::new(&path)
    };
    cmd.args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", path.display()))
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

impl PgServer {
    /// Starts a fresh cluster with database `kart` owned by the test login.
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("kart-pg-")
            .tempdir()
            .expect("temp dir");
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PASSWORD).unwrap();
        if is_root() {
            // The cluster belongs to the `postgres` user the server runs as.
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown the cluster directory to postgres");
        }
        let out = run(
            &bin,
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                USER,
                "--pwfile",
                pwfile.to_str().unwrap(),
                "--auth",
                "scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={} -c fsync=off -c log_statement=all -c logging_collector=off",
            dir.path().display()
        );
        let log = dir.path().join("server.log");
        let out = run(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "-t",
                "60",
                "start",
            ],
        );
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        let server = PgServer { port, dir, bin };
        server.psql(&format!("CREATE DATABASE {USER}"), "postgres");
        server
    }

    /// `postgres://kart:<password>@127.0.0.1:<port>/kart`.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{USER}",
            self.port
        )
    }

    /// A client of database `kart`.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls)
            .expect("connect to the test cluster")
    }

    /// Runs SQL in `database` as the test login.
    pub fn psql(&self, sql: &str, database: &str) {
        let url = format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{database}",
            self.port
        );
        let mut client = postgres::Client::connect(&url, postgres::NoTls).expect("connect");
        client
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// The server's log: every statement it ran.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let _ = run(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "stop"],
        );
    }
}
