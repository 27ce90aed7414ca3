//! Child processes that are killed when dropped, with their stdout collected
//! line by line on a reader thread.
//!
//! How to use: [`Proc::spawn`] a configured `Command`; [`Proc::lines`] and
//! [`Proc::log`] are what it printed so far ([`logs`] joins several). The
//! reader threads append a line some time after the process wrote it
//! (under load, long after; also after the process exited), so a check
//! that a line was printed waits for it ([`Proc::wait_log`]) instead of
//! reading the log once. A line that came before one already seen is
//! there: each stream is read in order.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::wait_for;

/// A running process; killed (and reaped) on drop.
#[derive(Debug)]
pub struct Proc {
    child: Child,
    stdin: Option<ChildStdin>,
    /// Lines the process printed on stdout so far.
    pub stdout: Arc<Mutex<Vec<String>>>,
    /// Lines on stderr so far (logs).
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Proc {
    pub fn spawn(mut cmd: Command) -> Proc {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(out) = child.stdout.take() {
            collect(out, Arc::clone(&stdout));
        }
        if let Some(err) = child.stderr.take() {
            collect(err, Arc::clone(&stderr));
        }
        let stdin = child.stdin.take();
        Proc {
            child,
            stdin,
            stdout,
            stderr,
        }
    }

    /// Writes `text` to the process's stdin.
    pub fn type_in(&mut self, text: &str) {
        if let Some(s) = self.stdin.as_mut() {
            s.write_all(text.as_bytes()).expect("write to child stdin");
            s.flush().expect("flush child stdin");
        }
    }

    pub fn lines(&self) -> Vec<String> {
        self.stdout.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        self.stderr.lock().map(|l| l.join("\n")).unwrap_or_default()
    }

    /// Whether stderr contains `needle` within `timeout` (polled).
    pub fn wait_log(&self, needle: &str, timeout: Duration) -> bool {
        wait_for(timeout, || self.log().contains(needle).then_some(())).is_some()
    }

    /// Still running?
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`: SIGKILL, then reaps it (a crash the process cannot see
    /// coming: no handler, no clean-up).
    pub fn kill9(&mut self) -> Option<std::process::ExitStatus> {
        let _ = self.child.kill();
        self.child.wait().ok()
    }

    /// Sends `signal` (a name such as `HUP`) without waiting.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.child.id().to_string()])
            .status();
        assert!(
            status.is_ok_and(|s| s.success()),
            "kill -{signal} {}",
            self.child.id()
        );
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every log of `procs`, for a failure message.
pub fn logs(procs: &[Proc]) -> String {
    procs
        .iter()
        .map(Proc::log)
        .collect::<Vec<_>>()
        .join("\n---\n")
}

fn collect(stream: impl std::io::Read + Send + 'static, into: Arc<Mutex<Vec<String>>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Ok(mut v) = into.lock() {
                v.push(line);
            }
        }
    });
}
