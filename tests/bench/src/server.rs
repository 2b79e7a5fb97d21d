//! Child processes: the real `ips-server`, and this binary's own `floor-server`, each started on a
//! free port of 127.0.0.1 with its output in a log file, and stopped with SIGTERM.
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use hyper::Method;
use tokio::process::{Child, Command};

use crate::{load, sql::Result};

pub struct Process {
    pub name: &'static str,
    pub pid: u32,
    pub addr: SocketAddr,
    pub log: PathBuf,
    child: Child,
}

/// A port nobody listens on right now.
pub fn free_port() -> Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

impl Process {
    /// Starts `cmd` (which must listen on `addr`) and waits until `GET /healthz` answers 200.
    pub async fn start(
        name: &'static str,
        mut cmd: Command,
        addr: SocketAddr,
        log: &Path,
    ) -> Result<Self> {
        let out = std::fs::File::create(log)?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .kill_on_drop(true);
        let mut child = cmd.spawn().map_err(|e| format!("starting {name}: {e}"))?;
        let pid = child.id().ok_or("the child has no pid")?;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = child.try_wait()? {
                return Err(format!(
                    "{name} exited during start-up ({status}); its log:\n{}",
                    tail(log, 40)
                )
                .into());
            }
            if let Ok((s, _)) = load::once(addr, Method::GET, "/healthz", None, None).await
                && s.is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                return Err(format!("{name} did not answer GET /healthz within 120 s").into());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(Self {
            name,
            pid,
            addr,
            log: log.to_path_buf(),
            child,
        })
    }

    /// SIGTERM, then SIGKILL after 20 s. Returns an error if it had died before.
    pub async fn stop(mut self) -> Result<()> {
        if let Some(status) = self.child.try_wait()? {
            return Err(format!("{} had exited ({status})", self.name).into());
        }
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .await;
        match tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await {
            Ok(_) => Ok(()),
            Err(_) => {
                self.child.kill().await?;
                Err(format!("{} did not stop within 20 s of SIGTERM", self.name).into())
            }
        }
    }

    /// Whether it is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Lines of its log that mention `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        std::fs::read_to_string(&self.log)
            .map(|s| s.lines().filter(|l| l.contains(needle)).count())
            .unwrap_or(0)
    }
}

/// The last `n` lines of a file.
pub fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
