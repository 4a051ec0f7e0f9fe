//! Real partitions: four node processes, each in its own network namespace (a veth pair to one
//! bridge), links cut with iptables inside the namespaces. Two against two (no majority anywhere)
//! commits nothing, an isolated leader (a minority of one) commits nothing while the majority
//! elects another and carries on, a one-way cut does not stop the chain, and after every heal all
//! nodes converge to the same blocks with every acknowledged transaction present.
//!
//! Needs root (network namespaces, iptables), as CI has; `scripts/install-deps.sh` installs
//! `iproute2` and `iptables`. The kernel has no netem, so delay and reordering stay in the
//! simulation.

use std::collections::HashMap;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use xinlian_core::Hash;
use xinlian_core::api::TxState;
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, SystemCall};
use xinlian_sdk::{Client, keys};
use xinlian_testnet::Layout;

use crate::cluster::{assert_everywhere, free_port_base, spawn_node};

const NODES: usize = 4;

/// Runs a command that must succeed.
fn sh(args: &[&str]) {
    let out = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct NetnsCluster {
    _dir: tempfile::TempDir,
    layout: Layout,
    /// Unique per test process: names of namespaces, links and the subnet.
    tag: u32,
    children: Vec<Option<Child>>,
    /// Transactions a node reported committed, with their heights.
    acknowledged: HashMap<Hash, u64>,
    memo: u64,
}

impl NetnsCluster {
    fn namespace(&self, i: usize) -> String {
        format!("xl{}n{i}", self.tag)
    }

    fn bridge(&self) -> String {
        format!("xlb{}", self.tag)
    }

    fn ip(&self, i: usize) -> String {
        format!("10.77.{}.{}", self.tag % 250, i + 1)
    }

    async fn start() -> NetnsCluster {
        assert!(
            Command::new("id").arg("-u").output().unwrap().stdout == b"0\n",
            "the partition tests need root (network namespaces and iptables), as CI has"
        );
        let tag = std::process::id() % 100_000;
        let dir = tempfile::tempdir().unwrap();
        let base = free_port_base(NODES as u16);
        let mut layout = xinlian_testnet::init(
            dir.path(),
            NODES,
            Suite::Gm,
            base,
            xinlian_testnet::TlsMode::Off,
        )
        .unwrap();
        let mut cluster = NetnsCluster {
            _dir: dir,
            layout: layout.clone(),
            tag,
            children: (0..NODES).map(|_| None).collect(),
            acknowledged: HashMap::new(),
            memo: 0,
        };
        cluster.cleanup_network();
        let bridge = cluster.bridge();
        sh(&["ip", "link", "add", &bridge, "type", "bridge"]);
        let gateway = format!("10.77.{}.254/24", tag % 250);
        sh(&["ip", "addr", "add", &gateway, "dev", &bridge]);
        sh(&["ip", "link", "set", &bridge, "up"]);
        for i in 0..NODES {
            let ns = cluster.namespace(i);
            let veth = format!("xl{tag}v{i}");
            sh(&["ip", "netns", "add", &ns]);
            sh(&[
                "ip", "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ]);
            sh(&["ip", "link", "set", &veth, "master", &bridge]);
            sh(&["ip", "link", "set", &veth, "up"]);
            let address = format!("{}/24", cluster.ip(i));
            sh(&[
                "ip", "netns", "exec", &ns, "ip", "addr", "add", &address, "dev", "eth0",
            ]);
            sh(&[
                "ip", "netns", "exec", &ns, "ip", "link", "set", "eth0", "up",
            ]);
            sh(&["ip", "netns", "exec", &ns, "ip", "link", "set", "lo", "up"]);
        }
        // Each node listens on its namespace's address; its peers are named by theirs.
        for i in 0..NODES {
            let node = &mut layout.nodes[i];
            let mut text = std::fs::read_to_string(&node.config_file).unwrap();
            for j in 0..NODES {
                let p2p = base + 1000 + j as u16;
                text = text.replace(
                    &format!("/ip4/127.0.0.1/tcp/{p2p}"),
                    &format!("/ip4/{}/tcp/{p2p}", cluster.ip(j)),
                );
            }
            let http = base + i as u16;
            text = text.replace(
                &format!("127.0.0.1:{http}"),
                &format!("{}:{http}", cluster.ip(i)),
            );
            std::fs::write(&node.config_file, text).unwrap();
            node.http_url = format!("http://{}:{http}", cluster.ip(i));
        }
        cluster.layout = layout;
        for i in 0..NODES {
            cluster.spawn(i);
        }
        xinlian_testnet::wait_healthy(&cluster.layout, Duration::from_secs(30))
            .await
            .unwrap();
        cluster
    }

    fn spawn(&mut self, i: usize) {
        let namespace = self.namespace(i);
        let wrapper = ["ip", "netns", "exec", namespace.as_str()];
        self.children[i] = Some(spawn_node(&self.layout.nodes[i], &wrapper));
    }

    fn client(&self, i: usize) -> Client {
        Client::new(&self.layout.nodes[i].http_url).unwrap()
    }

    fn iptables(&self, i: usize, rule: &[&str]) {
        let ns = self.namespace(i);
        let mut args = vec!["ip", "netns", "exec", &ns, "iptables"];
        args.extend_from_slice(rule);
        sh(&args);
    }

    /// Cuts the link between `a` and `b` both ways.
    fn cut(&self, a: usize, b: usize) {
        self.cut_one_way(a, b);
        self.cut_one_way(b, a);
    }

    /// Drops everything `from` sends to `to` (and so every TCP exchange between them, while
    /// `to` still sends).
    fn cut_one_way(&self, from: usize, to: usize) {
        self.iptables(from, &["-A", "OUTPUT", "-d", &self.ip(to), "-j", "DROP"]);
    }

    fn split(&self, side: &[usize]) {
        for a in side {
            for b in (0..NODES).filter(|b| !side.contains(b)) {
                self.cut(*a, b);
            }
        }
    }

    fn heal(&self) {
        for i in 0..NODES {
            self.iptables(i, &["-F", "OUTPUT"]);
        }
    }

    async fn height(&self, i: usize) -> u64 {
        self.client(i).status().await.map(|s| s.height).unwrap()
    }

    /// Waits until the nodes in `among` agree on a leader from `among`.
    async fn leader_among(&self, among: &[usize]) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut seen = Vec::new();
            for i in among {
                seen.push(self.client(*i).status().await.ok().and_then(|s| s.leader));
            }
            if let Some(Some(leader)) = seen.first().cloned()
                && seen.iter().all(|s| s.as_deref() == Some(leader.as_str()))
            {
                let index = self
                    .layout
                    .nodes
                    .iter()
                    .position(|n| n.id == leader)
                    .unwrap();
                if among.contains(&index) {
                    return index;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no leader among {among:?}: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn submit_via(&mut self, i: usize) -> Hash {
        self.memo += 1;
        let key = keys::read_key_file(&self.layout.admin_keys[0], None).unwrap();
        let call = Call::System(SystemCall::RecordEvidence {
            kind: "partition".into(),
            digest: Hash([7; 32]),
            memo: format!("partition {}", self.memo),
        });
        let client = self.client(i);
        let tx = client.sign_call(&key, call).await.unwrap();
        client.submit(&tx).await.unwrap()
    }

    /// Commits a transaction through node `i` and records it as acknowledged.
    async fn commit_via(&mut self, i: usize) -> u64 {
        let hash = self.submit_via(i).await;
        let status = self
            .client(i)
            .wait_for_commit(&hash, Duration::from_secs(30))
            .await
            .unwrap();
        let height = status.height.unwrap();
        self.acknowledged.insert(hash, height);
        height
    }

    /// After healing: every node reaches the height of a fresh commit, all hold the same blocks,
    /// and every acknowledged transaction is on every node at its height.
    async fn converge(&mut self) {
        let leader = self.leader_among(&(0..NODES).collect::<Vec<_>>()).await;
        let height = self.commit_via(leader).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..NODES {
            while self.height(i).await < height {
                assert!(
                    Instant::now() < deadline,
                    "node{i} did not catch up to {height}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        for h in 1..=height {
            let mut hashes = Vec::new();
            for i in 0..NODES {
                hashes.push(self.client(i).block(h).await.unwrap().hash);
            }
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "height {h}: {hashes:?}"
            );
        }
        let clients: Vec<Client> = (0..NODES).map(|i| self.client(i)).collect();
        assert_everywhere(&clients, &self.acknowledged, "after healing").await;
    }

    /// Waits `for_` and checks that none of `nodes` moved past the heights they had.
    async fn assert_no_commits(&self, nodes: &[usize], for_: Duration) {
        let mut before = Vec::new();
        for i in nodes {
            before.push(self.height(*i).await);
        }
        tokio::time::sleep(for_).await;
        for (k, i) in nodes.iter().enumerate() {
            assert_eq!(
                self.height(*i).await,
                before[k],
                "node{i} committed while cut off"
            );
        }
    }

    fn cleanup_network(&self) {
        for i in 0..NODES {
            let _ = Command::new("ip")
                .args(["netns", "del", &self.namespace(i)])
                .output();
        }
        let _ = Command::new("ip")
            .args(["link", "del", &self.bridge()])
            .output();
    }
}

impl Drop for NetnsCluster {
    fn drop(&mut self) {
        for child in self.children.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.cleanup_network();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitions_in_network_namespaces_commit_only_on_a_majority_and_heal() {
    let mut cluster = NetnsCluster::start().await;
    let all: Vec<usize> = (0..NODES).collect();
    let leader = cluster.leader_among(&all).await;
    cluster.commit_via(leader).await;

    // Two against two: neither side is a majority, so nothing commits anywhere.
    let side = vec![leader, (leader + 1) % NODES];
    let other_side: Vec<usize> = all.iter().copied().filter(|i| !side.contains(i)).collect();
    cluster.split(&side);
    let stranded = [
        cluster.submit_via(leader).await,
        cluster.submit_via(other_side[0]).await,
    ];
    cluster
        .assert_no_commits(&all, Duration::from_secs(4))
        .await;
    for (hash, via) in stranded.iter().zip([leader, other_side[0]]) {
        let status = cluster.client(via).tx(hash).await.unwrap();
        assert_ne!(
            status.status,
            TxState::Committed,
            "a side without a majority committed"
        );
    }
    cluster.heal();
    cluster.converge().await;

    // The leader alone (a minority of one): the others elect another and carry on; it commits
    // nothing.
    let leader = cluster.leader_among(&all).await;
    let others: Vec<usize> = all.iter().copied().filter(|i| *i != leader).collect();
    cluster.split(&[leader]);
    let new_leader = cluster.leader_among(&others).await;
    cluster.commit_via(new_leader).await;
    cluster
        .assert_no_commits(&[leader], Duration::from_secs(2))
        .await;
    cluster.heal();
    cluster.converge().await;

    // A one-way cut from the leader to one follower: the chain keeps committing.
    let leader = cluster.leader_among(&all).await;
    let follower = (leader + 2) % NODES;
    cluster.cut_one_way(leader, follower);
    let via = (leader + 1) % NODES;
    let via = if via == follower {
        (leader + 3) % NODES
    } else {
        via
    };
    cluster.commit_via(via).await;
    cluster.heal();
    cluster.converge().await;

    eprintln!(
        "partitions: two against two, isolated leader and one-way cut healed; {} acknowledged transactions on all {NODES} nodes",
        cluster.acknowledged.len()
    );
}
