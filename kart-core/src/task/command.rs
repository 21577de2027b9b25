//! A task running an external program (Luigi's `ExternalProgramTask`): each line the program
//! writes to stdout or stderr becomes a `log` event of the task as it comes (so the shared
//! log, the ui's task page and a failure's notifier have it), and the program is killed when
//! the task is cancelled (timeout, lost lock, shutdown).

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::current::log_event;
use super::RunContext;
use crate::error::{Error, Result};

/// How often a waiting task looks whether it was cancelled.
const POLL: Duration = Duration::from_millis(50);
/// How long a cancelled task waits for a killed program's pipes to close.
const KILL_GRACE: Duration = Duration::from_secs(5);

impl RunContext<'_> {
    /// Runs `cmd` to its end with its stdout and stderr captured: each line is logged as the
    /// task's (`level` `STDOUT` or `STDERR`; printed by `-v`), and the whole of both is
    /// returned. Its stdin is empty unless `cmd` sets it.
    ///
    /// Fails when the program cannot start, exits unsuccessfully (naming its status and its
    /// last line on stderr), or the task is cancelled meanwhile (the program is then killed).
    pub fn command(&self, cmd: &mut Command) -> Result<Output> {
        let program = cmd.get_program().to_string_lossy().into_owned();
        // Its own process group, so a cancellation kills what it started too (a shell's
        // children would otherwise keep its pipes open, and the task waiting).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(cmd, 0);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Error::msg(format!("cannot start `{program}`: {e}")))?;
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let stdout = self.capture(out, "STDOUT");
        let stderr = self.capture(err, "STDERR");
        // Until the program has exited and its pipes are closed: what it started may still
        // write to them after it is gone, and is waited for as it is.
        let mut status = None;
        let mut killed_at = None;
        let status = loop {
            if status.is_none() {
                match child.try_wait() {
                    Ok(exited) => status = exited,
                    Err(e) => {
                        kill_group(&mut child);
                        break Err(Error::msg(format!("waiting for `{program}`: {e}")));
                    }
                }
            }
            let closed = stdout.is_finished() && stderr.is_finished();
            match (status, killed_at) {
                (Some(_), Some(_)) if closed => break Err(cancelled(&program)),
                (Some(status), None) if closed => break Ok(status),
                // Killed, but something outside its group keeps a pipe open: the task
                // stops waiting for it.
                (_, Some(at)) if Instant::now() >= at + KILL_GRACE => {
                    let _ = child.wait();
                    break Err(cancelled(&program));
                }
                (_, None) if self.is_cancelled() => {
                    kill_group(&mut child);
                    killed_at = Some(Instant::now());
                }
                _ => std::thread::sleep(POLL),
            }
        };
        let status = status?;
        let joined = |h: JoinHandle<Vec<u8>>| h.join().unwrap_or_default();
        let (stdout, stderr) = (joined(stdout), joined(stderr));
        if !status.success() {
            let last = String::from_utf8_lossy(&stderr)
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(": {}", l.trim()))
                .unwrap_or_default();
            return Err(Error::msg(format!(
                "`{program}` exited with {status}{last}"
            )));
        }
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Reads one of the program's streams to its end on a thread of its own, logging each
    /// line; the thread returns it all.
    fn capture(
        &self,
        stream: Option<impl Read + Send + 'static>,
        level: &'static str,
    ) -> JoinHandle<Vec<u8>> {
        let (events, id, family, worker) = (
            self.events.clone(),
            self.task_id.clone(),
            self.family,
            self.worker.clone(),
        );
        std::thread::spawn(move || {
            let mut all = Vec::new();
            let Some(stream) = stream else { return all };
            let mut reader = BufReader::new(stream);
            let mut line = Vec::new();
            while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\n', '\r']);
                tracing::debug!("{id} {level}: {text}");
                events.emit(log_event(&id, family, &worker, level, text));
                all.append(&mut line);
            }
            all
        })
    }
}

fn cancelled(program: &str) -> Error {
    Error::Cancelled(format!("`{program}` was killed: the task was cancelled"))
}

/// Kills the program and every process in its group.
fn kill_group(child: &mut std::process::Child) {
    #[cfg(target_os = "linux")]
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}
