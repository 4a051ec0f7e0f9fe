//! Starting, watching and stopping node processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::Layout;

/// Starts every node of the layout as `<xinlian binary> node start --config ...`, each logging to
/// its own file, and records the pids.
pub fn start_nodes(dir: &Path, layout: &mut Layout, xinlian_binary: &Path) -> Result<()> {
    for node in &mut layout.nodes {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log_file)
            .with_context(|| format!("opening {}", node.log_file.display()))?;
        let child = Command::new(xinlian_binary)
            .args(["node", "start", "--config"])
            .arg(&node.config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", xinlian_binary.display()))?;
        node.pid = Some(child.id());
    }
    layout.save(dir)
}

/// Waits until every node answers `/healthz`, or `timeout` passes.
pub async fn wait_healthy(layout: &Layout, timeout: Duration) -> Result<()> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let deadline = tokio::time::Instant::now() + timeout;
    for node in &layout.nodes {
        loop {
            let ok = client
                .get(format!("{}/healthz", node.http_url))
                .send()
                .await
                .map(|r| r.status().is_success());
            if matches!(ok, Ok(true)) {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} did not answer within {timeout:?}; see {}",
                    node.id,
                    node.log_file.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Stops every recorded node process (SIGTERM, then SIGKILL after a grace period).
pub fn down(dir: &Path) -> Result<()> {
    let mut layout = Layout::load(dir)?;
    for node in &mut layout.nodes {
        if let Some(pid) = node.pid.take() {
            signal(pid, "TERM");
        }
    }
    layout.save(dir)
}

fn signal(pid: u32, name: &str) {
    // `kill` keeps this crate free of unsafe FFI; a process already gone is not an error.
    let _ = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status();
}
