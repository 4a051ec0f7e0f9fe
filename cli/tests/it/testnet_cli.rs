//! `xinlian testnet ...` tells the truth: every command is checked against the process table,
//! not only against what it printed (issue 17).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use crate::cluster::free_port_base;
use crate::harness::XINLIAN;

fn xinlian(args: &[&str]) -> Output {
    Command::new(XINLIAN).args(args).output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[track_caller]
fn succeeded(output: &Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}{}",
        stdout(output),
        stderr(output)
    );
    stdout(output)
}

#[track_caller]
fn failed_saying(output: &Output, says: &str) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1: {}{}",
        stdout(output),
        stderr(output)
    );
    assert!(
        stderr(output).contains(says),
        "expected {says:?} in: {}",
        stderr(output)
    );
}

/// Pids of the node processes whose command line names a file under `dir`, read from `/proc`
/// (zombies have an empty command line and do not count).
fn node_processes(dir: &Path) -> Vec<(u32, String)> {
    let dir = dir.to_str().unwrap();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("node start --config") && cmdline.contains(dir) {
            found.push((pid, cmdline));
        }
    }
    found
}

fn pid_of(dir: &Path, node: &str) -> Option<u32> {
    let config = format!("{node}/node.toml");
    node_processes(dir)
        .into_iter()
        .find(|(_, cmdline)| cmdline.contains(&config))
        .map(|(pid, _)| pid)
}

#[track_caller]
fn assert_no_node_processes(dir: &Path) {
    let left = node_processes(dir);
    assert!(left.is_empty(), "node processes left running: {left:?}");
}

/// Stops whatever a failed test left running.
struct Cleanup<'a>(&'a Path);

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for (pid, _) in node_processes(self.0) {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_testnet_command_says_what_it_did_and_the_process_table_agrees() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tn");
    let _cleanup = Cleanup(tmp.path());
    let d = dir.to_str().unwrap();
    let port = free_port_base(3).to_string();
    let up = [
        "testnet",
        "up",
        "--nodes",
        "3",
        "--dir",
        d,
        "--detach",
        "--http-port",
        &port,
    ];

    let out = succeeded(&xinlian(&up));
    assert!(out.contains("(started, pid"), "{out}");
    let first = [0, 1, 2].map(|i| pid_of(&dir, &format!("node{i}")).expect("node running"));

    // `up` of a running testnet does nothing, says so, fails, and leaves the nodes alone.
    failed_saying(&xinlian(&up), "already running");
    let again = [0, 1, 2].map(|i| pid_of(&dir, &format!("node{i}")).unwrap());
    assert_eq!(first, again, "up of a running testnet touched its nodes");

    // `restart` of a running node stops it, then starts it; the old process is gone.
    let out = succeeded(&xinlian(&["testnet", "restart", "--node", "1", "--dir", d]));
    let new = pid_of(&dir, "node1").expect("node1 running after restart");
    assert_ne!(new, first[1]);
    assert!(out.contains(&format!("stopped pid {}", first[1])), "{out}");
    assert!(out.contains(&format!("started pid {new}")), "{out}");
    assert!(node_processes(&dir).iter().all(|(pid, _)| *pid != first[1]));

    // `kill` of a running node kills it; of a dead one, says it did nothing and fails.
    succeeded(&xinlian(&["testnet", "kill", "--node", "2", "--dir", d]));
    assert_eq!(pid_of(&dir, "node2"), None);
    failed_saying(
        &xinlian(&["testnet", "kill", "--node", "2", "--dir", d]),
        "node2 is not running; nothing killed",
    );
    failed_saying(
        &xinlian(&["testnet", "isolate", "--node", "2", "--dir", d]),
        "node2 is not running",
    );

    // `up` resumes: only the stopped node starts.
    let out = succeeded(&xinlian(&up));
    assert!(out.contains("already running, pid"), "{out}");
    assert_eq!(pid_of(&dir, "node0"), Some(first[0]));
    assert!(pid_of(&dir, "node2").is_some());

    // A removed node is left out of `up` and `status`, and `down` still stops its process.
    let out = succeeded(&xinlian(&[
        "testnet",
        "remove-node",
        "--node",
        "2",
        "--dir",
        d,
    ]));
    assert!(out.contains("removed by proposal"), "{out}");
    let status = succeeded(&xinlian(&["testnet", "status", "--dir", d]));
    assert!(
        status.contains("node2") && status.contains("removed by governance"),
        "{status}"
    );
    let out = succeeded(&xinlian(&["testnet", "down", "--dir", d]));
    assert_eq!(out.matches("stopped node").count(), 3, "{out}");
    assert_no_node_processes(tmp.path());
    let out = succeeded(&xinlian(&["testnet", "down", "--dir", d]));
    assert!(out.contains("nothing to stop"), "{out}");

    let out = succeeded(&xinlian(&up));
    assert!(out.contains("removed by governance, not started"), "{out}");
    assert!(pid_of(&dir, "node2").is_none());
    // The load tool leaves the removed node out: every transaction commits.
    let bench = succeeded(&xinlian(&[
        "bench",
        "--testnet",
        d,
        "--txs",
        "40",
        "--concurrency",
        "8",
        "--suite",
        "gm",
    ]));
    assert!(!bench.contains("unknown_sender"), "{bench}");
    succeeded(&xinlian(&["testnet", "down", "--dir", d]));
    assert_no_node_processes(tmp.path());
}

/// Runs `testnet up` in the foreground as `make run` does, waits for `ready` on its output,
/// interrupts it with SIGINT as Ctrl-C would, and returns its output.
fn run_in_foreground(args: &[&str], ready: &str) -> (String, std::process::ExitStatus) {
    let mut child = Command::new(XINLIAN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // A watchdog: a command that hangs (never prints `ready`, or ignores the signal) is killed,
    // so the test fails instead of hanging.
    let (done, watch) = std::sync::mpsc::channel::<()>();
    let pid = child.id().to_string();
    let watchdog = std::thread::spawn(move || {
        if watch.recv_timeout(Duration::from_secs(180)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid]).status();
        }
    });
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for line in reader.lines() {
        let line = line.unwrap();
        text.push_str(&line);
        text.push('\n');
        if line.contains(ready) {
            break;
        }
    }
    assert!(text.contains(ready), "the command ended early:\n{text}");
    Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let _ = done.send(());
    watchdog.join().unwrap();
    (text, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn make_run_twice_in_a_row_works_and_leaves_no_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tn");
    let _cleanup = Cleanup(tmp.path());
    let d = dir.to_str().unwrap();
    let port = free_port_base(1).to_string();
    let up = [
        "testnet",
        "up",
        "--nodes",
        "1",
        "--demo",
        "--dir",
        d,
        "--http-port",
        &port,
    ];

    let (first, status) = run_in_foreground(&up, "Press Ctrl-C");
    assert!(status.success(), "{first}");
    assert!(first.contains("Demo transactions committed:"), "{first}");
    assert_no_node_processes(tmp.path());

    let (second, status) = run_in_foreground(&up, "Press Ctrl-C");
    assert!(status.success(), "{second}");
    assert!(
        second.contains("Demo data (loaded when this testnet was first started"),
        "{second}"
    );
    // The same demo, shown again: the lines after the heading are those printed the first time.
    let demo_lines = |text: &str| {
        text.lines()
            .skip_while(|l| !l.starts_with("Demo transactions committed:"))
            .take_while(|l| !l.starts_with("Look at:"))
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(demo_lines(&first), demo_lines(&second));
    assert_no_node_processes(tmp.path());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_testnet_that_fails_to_start_stops_what_it_started_and_says_why() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tn");
    let _cleanup = Cleanup(tmp.path());
    let d = dir.to_str().unwrap();
    let base = free_port_base(2);
    // Another program holds node1's HTTP port.
    let _squatter = std::net::TcpListener::bind(("127.0.0.1", base + 1)).unwrap();
    let out = xinlian(&[
        "testnet",
        "up",
        "--nodes",
        "2",
        "--dir",
        d,
        "--detach",
        "--http-port",
        &base.to_string(),
    ]);
    failed_saying(&out, "node1 exited at start");
    assert!(stderr(&out).contains("http_listen"), "{}", stderr(&out));
    assert!(stderr(&out).contains("stopped the 1 node(s) this command had started"));
    assert_no_node_processes(tmp.path());
}

#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("k.pem");
    succeeded(&xinlian(&["key", "gen", "--out", key.to_str().unwrap()]));
    let mut child = Command::new(XINLIAN)
        .args(["key", "show", key.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the command writes, as `| head -0` would.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!stderr(&output).contains("panicked"), "{}", stderr(&output));
}
