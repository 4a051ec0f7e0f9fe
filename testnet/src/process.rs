//! Starting, finding and stopping node processes, checked against what the machine shows.
//!
//! A node process is recognised by its command line (`xinlian node start --config <its config
//! file>`, read from `/proc`), never by a recorded pid alone: a pid recorded in `testnet.json`
//! may belong to a process that died and to a stranger that reused it since, and a node started
//! by hand is still found. A start counts once the process answers `/v1/status` with its own
//! node id; a stop counts once the process is gone.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use xinlian_sdk::TlsOptions;

use crate::{Layout, NodeEntry};

/// How long a started node has to answer its status route.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a node has to shut down cleanly after SIGTERM before it gets SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(20);
/// How long a process has to disappear after SIGKILL.
const KILL_TIMEOUT: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);

/// The pid of the process running `node` on this machine, if there is one.
pub fn running_pid(node: &NodeEntry) -> Option<u32> {
    running_pids(node).into_iter().next()
}

/// Every process running `node` (more than one only if started twice by other means; the second
/// then fails on the store's lock, but until it exits both count).
fn running_pids(node: &NodeEntry) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| runs_node(*pid, node))
        .collect()
}

/// Whether process `pid` is `node`'s: its command line runs `node start --config` with the
/// node's config file. A zombie has an empty command line, so it does not count as running.
fn runs_node(pid: u32, node: &NodeEntry) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|b| *b == 0).collect();
    let config = node.config_file.as_os_str().as_encoded_bytes();
    args.windows(4).any(|w| {
        w[0] == b"node".as_slice()
            && w[1] == b"start".as_slice()
            && w[2] == b"--config".as_slice()
            && w[3] == config
    })
}

/// Starts node `index`, keeping its data, and returns its pid once it answers its status route
/// with its own node id. Refuses a node that is running or was removed from the chain; a
/// process that exits or does not answer is reported with the end of its log (and stopped).
pub async fn start_node(layout: &mut Layout, index: usize, xinlian_binary: &Path) -> Result<u32> {
    let count = layout.nodes.len();
    let tls = layout.client_tls();
    let node = layout
        .nodes
        .get_mut(index)
        .with_context(|| format!("--node must be below {count}"))?;
    if node.removed {
        bail!(
            "{} was removed from the chain by governance; it is not started again",
            node.id
        );
    }
    if let Some(pid) = running_pid(node) {
        bail!(
            "{} is already running (pid {pid}); nothing started",
            node.id
        );
    }
    // A node started by hand with another path to its config is not found above, but it
    // answers on the node's port: the new process would fail, and its answer would be taken
    // for the new one's.
    if let Some(answer) = status_of(&node.http_url, &tls).await {
        bail!(
            "{} already answers (as {}), but no process runs {}: was it started by other means? Stop it first; nothing started",
            node.http_url,
            answer.node_id,
            node.config_file.display()
        );
    }
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log_file)
        .with_context(|| format!("opening {}", node.log_file.display()))?;
    let mut child = Command::new(xinlian_binary)
        .args(["node", "start", "--config"])
        .arg(&node.config_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", xinlian_binary.display()))?;
    let pid = child.id();
    if let Err(e) = confirm_started(node, &tls, &mut child).await {
        let _ = child.kill();
        let _ = child.wait();
        node.pid = None;
        return Err(e);
    }
    node.pid = Some(pid);
    Ok(pid)
}

async fn confirm_started(node: &NodeEntry, tls: &TlsOptions, child: &mut Child) -> Result<()> {
    let deadline = tokio::time::Instant::now() + START_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!(
                "{} exited at start ({status}); the end of {}:\n{}",
                node.id,
                node.log_file.display(),
                log_tail(&node.log_file, 8)
            );
        }
        if let Some(status) = status_of(&node.http_url, tls).await {
            // The answer counts only while the child still runs: it is then the child's.
            if status.node_id == node.id && child.try_wait()?.is_none() {
                return Ok(());
            }
            if status.node_id == node.id {
                continue;
            }
            bail!(
                "{} answers as {}: another node holds its port",
                node.http_url,
                status.node_id
            );
        }
        if tokio::time::Instant::now() >= deadline {
            bail!(
                "{} did not answer within {}s; stopped it; see {}",
                node.id,
                START_TIMEOUT.as_secs(),
                node.log_file.display()
            );
        }
        tokio::time::sleep(POLL).await;
    }
}

/// A node's status, asked with a short timeout so a process that dies (or a stranger holding the
/// port and never answering) is noticed within a poll, not after a long HTTP timeout.
async fn status_of(http_url: &str, tls: &TlsOptions) -> Option<xinlian_core::api::StatusResponse> {
    let client = tls
        .reqwest_builder(http_url)
        .ok()?
        .timeout(Duration::from_secs(1))
        .build()
        .ok()?;
    let response = client
        .get(format!("{http_url}/v1/status"))
        .send()
        .await
        .ok()?;
    response.json().await.ok()
}

/// The last `lines` lines of a log, for an error message.
pub fn log_tail(file: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// How to stop a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGTERM: the node shuts down cleanly; SIGKILL after a grace period.
    Clean,
    /// SIGKILL: a crash, as a power cut would leave it.
    Kill,
}

/// Stops the nodes at `indices` and waits until their processes are gone. Returns, per node,
/// the pid that was stopped, or `None` where no process was running.
pub async fn stop_nodes(
    layout: &mut Layout,
    indices: &[usize],
    how: Stop,
) -> Result<Vec<Option<u32>>> {
    let first = match how {
        Stop::Clean => Signal::SIGTERM,
        Stop::Kill => Signal::SIGKILL,
    };
    let mut found = Vec::new();
    for &index in indices {
        let node = layout
            .nodes
            .get(index)
            .with_context(|| format!("--node must be below {}", layout.nodes.len()))?;
        let pids = running_pids(node);
        for pid in &pids {
            signal(*pid, first)?;
        }
        found.push(pids);
    }
    for (&index, pids) in indices.iter().zip(&found) {
        let node = &mut layout.nodes[index];
        for &pid in pids {
            let gone = match how {
                Stop::Clean => wait_gone(pid, node, STOP_GRACE).await,
                Stop::Kill => false,
            };
            if !gone {
                signal(pid, Signal::SIGKILL)?;
                if !wait_gone(pid, node, KILL_TIMEOUT).await {
                    bail!("{} (pid {pid}) is still running after SIGKILL", node.id);
                }
            }
        }
        node.pid = None;
    }
    Ok(found
        .into_iter()
        .map(|pids| pids.first().copied())
        .collect())
}

fn signal(pid: u32, signal: Signal) -> Result<()> {
    let raw = i32::try_from(pid).context("pid out of range")?;
    match kill(Pid::from_raw(raw), signal) {
        // Gone between finding and signalling: what we wanted.
        Ok(()) | Err(nix::errno::Errno::ESRCH) => Ok(()),
        Err(e) => Err(e).with_context(|| format!("sending {signal} to pid {pid}")),
    }
}

async fn wait_gone(pid: u32, node: &NodeEntry, timeout: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + timeout;
    while runs_node(pid, node) {
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
    true
}

/// Cuts node `index` off from its peers (`isolate`) or reconnects it, through the node's fault
/// switch, authorised by the admin token in its data directory.
pub async fn set_isolated(dir: &Path, index: usize, isolate: bool) -> Result<()> {
    let layout = Layout::load(dir)?;
    let node = layout
        .nodes
        .get(index)
        .with_context(|| format!("--node must be below {}", layout.nodes.len()))?;
    if running_pid(node).is_none() {
        bail!("{} is not running; nothing changed", node.id);
    }
    admin_request(
        &node.http_url,
        &layout.client_tls(),
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
    tls: &TlsOptions,
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
    let response = tls
        .reqwest_builder(http_url)?
        .build()?
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

/// Waits until every node the chain still counts (not removed) answers `/healthz`, or `timeout`
/// passes: for nodes started by other means than [`start_node`] (the tests' own spawners).
pub async fn wait_healthy(layout: &Layout, timeout: Duration) -> Result<()> {
    let deadline = tokio::time::Instant::now() + timeout;
    for node in layout.active_nodes() {
        let client = layout
            .client_tls()
            .reqwest_builder(&node.http_url)?
            .timeout(Duration::from_secs(2))
            .build()?;
        loop {
            let ok = client
                .get(format!("{}/healthz", node.http_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            if ok {
                break;
            }
            if tokio::time::Instant::now() >= deadline {
                bail!(
                    "{} did not answer within {}s; see {}",
                    node.id,
                    timeout.as_secs(),
                    node.log_file.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Waits until every node that takes part in consensus (not removed by governance) answers its
/// status with the same leader, or `timeout` passes. Returns the leader's node id.
pub async fn wait_leader(layout: &Layout, timeout: Duration) -> Result<String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let mut leaders = Vec::new();
        for node in layout.active_nodes() {
            match layout.client(node)?.status().await {
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
            let seen: Vec<String> = layout
                .active_nodes()
                .zip(&leaders)
                .map(|(node, leader)| match leader {
                    Some(leader) => format!("{} follows {leader}", node.id),
                    None => format!("{} has no leader or does not answer", node.id),
                })
                .collect();
            bail!(
                "the nodes did not agree on a leader within {}s: {}",
                timeout.as_secs(),
                seen.join(", ")
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
