//! Starting, watching and stopping node processes.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::Layout;

/// Starts every node of the layout as `<xinlian binary> node start --config ...`, each logging to
/// its own file, and records the pids.
pub fn start_nodes(dir: &Path, layout: &mut Layout, xinlian_binary: &Path) -> Result<()> {
    for index in 0..layout.nodes.len() {
        start_node(layout, index, xinlian_binary)?;
    }
    layout.save(dir)
}

/// Starts node `index` (again), keeping its data.
pub fn start_node(layout: &mut Layout, index: usize, xinlian_binary: &Path) -> Result<()> {
    let count = layout.nodes.len();
    let node = layout
        .nodes
        .get_mut(index)
        .with_context(|| format!("--node must be below {count}"))?;
    {
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
    Ok(())
}

/// Kills node `index` with SIGKILL (no clean shutdown), keeping its data.
pub fn kill_node(dir: &Path, index: usize) -> Result<()> {
    let mut layout = Layout::load(dir)?;
    let count = layout.nodes.len();
    let node = layout
        .nodes
        .get_mut(index)
        .with_context(|| format!("--node must be below {count}"))?;
    let pid = node
        .pid
        .take()
        .with_context(|| format!("{} is not running", node.id))?;
    signal(pid, "KILL");
    layout.save(dir)
}

/// Cuts node `index` off from its peers (`isolate`) or reconnects it, through the node's fault
/// switch, authorised by the admin token in its data directory.
pub async fn set_isolated(dir: &Path, index: usize, isolate: bool) -> Result<()> {
    let layout = Layout::load(dir)?;
    let node = layout
        .nodes
        .get(index)
        .with_context(|| format!("--node must be below {}", layout.nodes.len()))?;
    admin_request(
        &node.http_url,
        &node.data_dir,
        "fault",
        &serde_json::json!({ "isolate": isolate }),
    )
    .await
    .with_context(|| {
        format!(
            "{} refused the fault switch (a node built without the fault-injection feature has none; `make build` turns it on)",
            node.id
        )
    })?;
    Ok(())
}

/// Posts `body` to a node's admin route `/admin/{route}`, authorised by the admin token the node
/// wrote into `data_dir` when it started; returns the answer, or the node's reason for refusing.
pub async fn admin_request(
    http_url: &str,
    data_dir: &Path,
    route: &str,
    body: &serde_json::Value,
) -> Result<serde_json::Value> {
    let token_file = data_dir.join("admin.token");
    let token = std::fs::read_to_string(&token_file).with_context(|| {
        format!(
            "reading {} (the node writes it when it starts; is it running?)",
            token_file.display()
        )
    })?;
    let response = reqwest::Client::new()
        .post(format!("{http_url}/admin/{route}"))
        .header("x-admin-token", token.trim())
        .json(body)
        .send()
        .await
        .with_context(|| format!("cannot reach the node at {http_url}; is it running?"))?;
    let ok = response.status().is_success();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    if !ok {
        bail!(
            "{}",
            answer["error"]["message"]
                .as_str()
                .unwrap_or("the node gave no reason")
        );
    }
    Ok(answer)
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

/// Waits until every node that takes part in consensus (all but removed ones) answers its
/// status with the same leader, or `timeout` passes. Returns the leader's node id.
pub async fn wait_leader(layout: &Layout, timeout: Duration) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut leaders = Vec::new();
        for node in &layout.nodes {
            match xinlian_sdk::Client::new(&node.http_url)?.status().await {
                Ok(s) if s.membership == xinlian_core::api::NodeMembership::Removed => {}
                Ok(s) => leaders.push(s.leader),
                Err(_) => leaders.push(None),
            }
        }
        if let Some(Some(leader)) = leaders.first()
            && leaders.iter().all(|l| l.as_ref() == Some(leader))
        {
            return Ok(leader.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("the nodes did not agree on a leader within {timeout:?}: {leaders:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
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
