//! Starting and stopping real node processes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use xinlian_core::crypto::PrivateKey;
use xinlian_core::genesis::Suite;
use xinlian_sdk::{Client, keys};
use xinlian_testnet::{Layout, TlsMode};

pub(crate) const XINLIAN: &str = env!("CARGO_BIN_EXE_xinlian");

/// A one-node chain in a temporary directory, its process, and a client.
pub(crate) struct TestNode {
    /// Holds the chain's files until the test ends.
    dir: tempfile::TempDir,
    pub(crate) layout: Layout,
    pub(crate) client: Client,
    child: Option<Child>,
}

/// A plain reqwest client. reqwest is built without a TLS provider of its own (see
/// `xinlian_sdk::tls::use_ring`), so it is made here, after the SDK's provider is installed.
pub(crate) fn http() -> reqwest::Client {
    http_builder().build().unwrap()
}

/// A reqwest client builder, with the SDK's TLS provider installed.
pub(crate) fn http_builder() -> reqwest::ClientBuilder {
    xinlian_sdk::tls::use_ring();
    reqwest::Client::builder()
}

/// `GET url` with a plain client.
pub(crate) async fn http_get(url: impl reqwest::IntoUrl) -> reqwest::Result<reqwest::Response> {
    http().get(url).send().await
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

impl TestNode {
    pub(crate) async fn start(suite: Suite) -> TestNode {
        let dir = tempfile::tempdir().expect("tempdir");
        let layout = xinlian_testnet::init(dir.path(), 1, suite, free_port(), TlsMode::Off)
            .expect("init chain");
        let client = Client::new(&layout.nodes[0].http_url).expect("client");
        let mut node = TestNode {
            dir,
            layout,
            client,
            child: None,
        };
        node.spawn().await;
        node
    }

    /// The chain's directory (a testnet layout of one node).
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(crate) fn url(&self) -> &str {
        &self.layout.nodes[0].http_url
    }

    pub(crate) fn log_file(&self) -> PathBuf {
        self.layout.nodes[0].log_file.clone()
    }

    /// Starts the node process and waits until it answers.
    pub(crate) async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_file())
            .expect("log file");
        let child = Command::new(XINLIAN)
            .args(["node", "start", "--config"])
            .arg(&self.layout.nodes[0].config_file)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn xinlian node");
        self.child = Some(child);
        xinlian_testnet::wait_healthy(&self.layout, Duration::from_secs(30))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "{e}\n{}",
                    std::fs::read_to_string(self.log_file()).unwrap_or_default()
                )
            });
    }

    /// SIGKILL: no chance to flush or clean up.
    pub(crate) fn kill_9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("SIGKILL the node");
            child.wait().expect("reap the node");
        }
    }

    pub(crate) fn admin(&self, index: usize) -> PrivateKey {
        keys::read_key_file(&self.layout.admin_keys[index], None).expect("admin key")
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill_9();
    }
}
