//! Real node processes agreeing through Raft over libp2p on loopback: transactions sent to
//! different nodes, identical blocks everywhere, a leader killed with SIGKILL under load, and the
//! killed node restarted and caught up.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use xinlian_core::Hash;
use xinlian_core::api::{NodeMembership, TxState};
use xinlian_core::genesis::Suite;
use xinlian_core::types::{Call, GovChange, SystemCall};
use xinlian_sdk::{Client, keys};
use xinlian_testnet::Layout;

use crate::harness::XINLIAN;

pub(crate) struct Cluster {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) layout: Layout,
    children: Vec<Option<Child>>,
}

/// A base port with `n` free HTTP ports above it and `n` free p2p ports 1000 higher. Tests in
/// one process take different ranges (a counter), processes differ by pid.
pub(crate) fn free_port_base(n: u16) -> u16 {
    static NEXT_RANGE: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let pid_offset = (std::process::id() % 50) as u16 * 160;
    for _ in 0..200 {
        let range = NEXT_RANGE.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 160;
        let base = 20_000 + pid_offset + range * 10;
        let free = (0..n).all(|i| {
            std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()
                && std::net::TcpListener::bind(("127.0.0.1", base + 1000 + i)).is_ok()
        });
        if free {
            return base;
        }
    }
    panic!("no free port range");
}

/// The value of the metric line of node `url` that starts with `name` (0 when absent).
pub(crate) async fn metric(url: &str, name: &str) -> u64 {
    let text = crate::harness::http_get(format!("{url}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name))
        .map_or(0, |v| v.trim().parse().unwrap_or(0))
}

/// Sets `key = value` in a node's config text (every field is written out, so it replaces the
/// line that is there).
pub(crate) fn set_config(text: &mut String, key: &str, value: &str) {
    let prefix = format!("{key} = ");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| !l.starts_with(&prefix))
        .map(str::to_string)
        .collect();
    // Top-level keys must come before any table.
    let at = lines
        .iter()
        .position(|l| l.starts_with('['))
        .unwrap_or(lines.len());
    lines.insert(at, format!("{prefix}{value}"));
    *text = lines.join("\n") + "\n";
}

/// Starts `xinlian node start` for `node`, appending its output to the node's log; `wrapper`
/// runs it inside another command (`ip netns exec NS` for a network namespace).
pub(crate) fn spawn_node(node: &xinlian_testnet::NodeEntry, wrapper: &[&str]) -> Child {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&node.log_file)
        .unwrap();
    let (program, args) = match wrapper.split_first() {
        Some((program, rest)) => (*program, [rest, &[XINLIAN]].concat()),
        None => (XINLIAN, Vec::new()),
    };
    Command::new(program)
        .args(args)
        .args(["node", "start", "--config"])
        .arg(&node.config_file)
        .stdin(Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// Every transaction a node acknowledged (hash, height) is committed at that height on each of
/// `clients`.
pub(crate) async fn assert_everywhere<'a>(
    clients: &[Client],
    acknowledged: impl IntoIterator<Item = (&'a Hash, &'a u64)>,
    context: &str,
) {
    for (hash, at) in acknowledged {
        for (i, client) in clients.iter().enumerate() {
            let status = client.tx(hash).await.unwrap();
            assert_eq!(
                (status.status, status.height),
                (TxState::Committed, Some(*at)),
                "node{i}: acknowledged {hash} at height {at} ({context})"
            );
        }
    }
}

impl Cluster {
    pub(crate) async fn start(nodes: usize) -> Cluster {
        Self::start_with(nodes, |_| {}).await
    }

    /// Starts a cluster after `tweak` edits each node's config text.
    pub(crate) async fn start_with(nodes: usize, tweak: impl Fn(&mut String)) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let layout = xinlian_testnet::init(
            dir.path(),
            nodes,
            Suite::Gm,
            free_port_base(nodes as u16),
            xinlian_testnet::TlsMode::Off,
        )
        .unwrap();
        for node in &layout.nodes {
            let mut text = std::fs::read_to_string(&node.config_file).unwrap();
            tweak(&mut text);
            std::fs::write(&node.config_file, text).unwrap();
        }
        let mut cluster = Cluster {
            _dir: dir,
            children: (0..nodes).map(|_| None).collect(),
            layout,
        };
        for i in 0..nodes {
            cluster.spawn(i);
        }
        xinlian_testnet::wait_healthy(&cluster.layout, Duration::from_secs(30))
            .await
            .unwrap();
        cluster
    }

    pub(crate) fn spawn(&mut self, i: usize) {
        self.children[i] = Some(spawn_node(&self.layout.nodes[i], &[]));
    }

    pub(crate) fn kill_9(&mut self, i: usize) {
        if let Some(mut child) = self.children[i].take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    /// Whether node `i`'s process has exited (it was started and is gone).
    pub(crate) fn exited(&mut self, i: usize) -> bool {
        match self.children[i].as_mut() {
            Some(child) => child.try_wait().map(|s| s.is_some()).unwrap_or(true),
            None => false,
        }
    }

    /// The last lines of node `i`'s log, for failure messages.
    pub(crate) fn log_tail(&self, i: usize) -> String {
        let text = std::fs::read_to_string(&self.layout.nodes[i].log_file).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    pub(crate) fn client(&self, i: usize) -> Client {
        Client::new(&self.layout.nodes[i].http_url).unwrap()
    }

    pub(crate) fn index_of(&self, node_id: &str) -> usize {
        self.layout
            .nodes
            .iter()
            .position(|n| n.id == node_id)
            .unwrap()
    }

    /// Waits until the live nodes agree on a leader (other than `not`), returning its index.
    pub(crate) async fn leader(&self, not: Option<usize>) -> usize {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mut seen = Vec::new();
            for i in (0..self.layout.nodes.len()).filter(|i| self.children[*i].is_some()) {
                if let Ok(status) = self.client(i).status().await {
                    seen.push(status.leader);
                }
            }
            if let Some(Some(leader)) = seen.first().cloned() {
                let index = self.index_of(&leader);
                if seen.iter().all(|s| s.as_deref() == Some(leader.as_str())) && Some(index) != not
                {
                    return index;
                }
            }
            assert!(
                Instant::now() < deadline,
                "no agreed leader within 30s: {seen:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Submits an evidence transaction through node `i` and waits for its commit.
    pub(crate) async fn commit_via(&self, i: usize, memo: &str) -> (Hash, u64) {
        let key = keys::read_key_file(&self.layout.admin_keys[0], None).unwrap();
        let call = Call::System(SystemCall::RecordEvidence {
            kind: "cluster".into(),
            digest: Hash([4; 32]),
            memo: memo.into(),
        });
        let client = self.client(i);
        let tx = client.sign_call(&key, call).await.unwrap();
        let hash = client.submit(&tx).await.unwrap();
        let status = client
            .wait_for_commit(&hash, Duration::from_secs(30))
            .await
            .unwrap();
        assert!(status.receipt.unwrap().is_success());
        (hash, status.height.unwrap())
    }

    /// Checks that node `i`'s certificate of `height` verifies against `voters` (waiting for
    /// it to form).
    pub(crate) async fn assert_certified(
        &self,
        i: usize,
        height: u64,
        voters: &xinlian_core::certificate::VoterSet,
    ) {
        let genesis = xinlian_node::load_genesis(&self.layout.genesis_file).unwrap();
        let client = self.client(i);
        let certificate = crate::certificates::certificate_at(&client, height).await;
        let block = client.block(height).await.unwrap();
        certificate
            .verify(
                &genesis.chain_id,
                height,
                &block.header.hash(genesis.hash_suite()),
                voters,
            )
            .unwrap_or_else(|e| panic!("height {height}: {e}"));
    }

    /// The store of node `i`, which must be stopped, opened to read or alter it directly.
    pub(crate) fn open_store(&self, i: usize) -> xinlian_node::storage::Storage {
        xinlian_node::storage::Storage::open(&self.layout.nodes[i].data_dir, 1 << 20).unwrap()
    }

    /// Waits until node `i` reaches `height`.
    pub(crate) async fn wait_height(&self, i: usize, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.client(i).status().await.map(|s| s.height).unwrap_or(0) < height {
            assert!(
                Instant::now() < deadline,
                "node {i} did not reach height {height}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every node holds the same block hash at every height up to `height`.
    pub(crate) async fn assert_identical(&self, height: u64) {
        for h in 1..=height {
            let mut hashes = Vec::new();
            for i in 0..self.layout.nodes.len() {
                let block = self.client(i).block(h).await;
                hashes.push(block.unwrap_or_else(|e| panic!("node{i} at {h}: {e}")).hash);
            }
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "height {h}: {hashes:?}"
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for i in 0..self.children.len() {
            self.kill_9(i);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_nodes_agree_survive_a_leader_kill_and_catch_up() {
    let mut cluster = Cluster::start(4).await;
    let leader = cluster.leader(None).await;
    let mut committed = Vec::new();
    for round in 0..8 {
        committed.push(
            cluster
                .commit_via(round % 4, &format!("before-{round}"))
                .await,
        );
    }
    let height = committed.iter().map(|(_, h)| *h).max().unwrap();
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
    cluster.assert_identical(height).await;

    // Kill the leader without warning; the others elect a new one and keep committing.
    cluster.kill_9(leader);
    let killed_at = Instant::now();
    let new_leader = cluster.leader(Some(leader)).await;
    eprintln!(
        "new leader elected {:?} after the leader was killed",
        killed_at.elapsed()
    );
    let others: Vec<usize> = (0..4).filter(|i| *i != leader).collect();
    for (n, i) in others.iter().cycle().take(6).enumerate() {
        committed.push(cluster.commit_via(*i, &format!("after-{n}")).await);
    }
    assert_ne!(new_leader, leader);

    // The killed node comes back and catches up; everything committed is everywhere.
    cluster.spawn(leader);
    let height = committed.iter().map(|(_, h)| *h).max().unwrap();
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
    cluster.assert_identical(height).await;
    for (hash, height) in &committed {
        for i in 0..4 {
            let status = cluster.client(i).tx(hash).await.unwrap();
            assert_eq!(
                (status.status, status.height),
                (TxState::Committed, Some(*height)),
                "node {i}, tx {hash}"
            );
        }
    }
}

/// A node kept down while the others compact their Raft logs past it gets a snapshot on return
/// and catches up by fetching and validating blocks from its peers.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_node_down_past_log_compaction_catches_up_by_block_sync() {
    let mut cluster = Cluster::start_with(4, |text| {
        *text = text.replace("raft_log_kept_entries = 1000", "raft_log_kept_entries = 2");
    })
    .await;
    let leader = cluster.leader(None).await;
    let down = (leader + 1) % 4;
    cluster.kill_9(down);
    let mut last = (Hash::ZERO, 0);
    for n in 0..12 {
        last = cluster.commit_via(leader, &format!("while-down-{n}")).await;
    }
    cluster.spawn(down);
    cluster.wait_height(down, last.1).await;
    cluster.assert_identical(last.1).await;
    let status = cluster.client(down).tx(&last.0).await.unwrap();
    assert_eq!(status.status, TxState::Committed);
    let log = std::fs::read_to_string(&cluster.layout.nodes[down].log_file).unwrap();
    assert!(
        log.contains("catching up by block sync"),
        "the node caught up without a snapshot; compaction did not happen?"
    );
}

/// Cut the leader off: the others elect a new leader and keep committing, the isolated node
/// commits nothing; once healed it converges on the same blocks.
// Needs the node's fault switch (`make test` builds with it).
#[cfg(feature = "fault-injection")]
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_isolated_leader_commits_nothing_and_converges_after_healing() {
    let cluster = Cluster::start(4).await;
    let leader = cluster.leader(None).await;
    cluster.commit_via(leader, "before-isolation").await;
    xinlian_testnet::set_isolated(cluster._dir.path(), leader, true)
        .await
        .unwrap();
    let isolated_height = cluster.client(leader).status().await.unwrap().height;

    // A transaction sent to the isolated node cannot commit.
    let key = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let call = Call::System(SystemCall::RecordEvidence {
        kind: "isolated".into(),
        digest: Hash([5; 32]),
        memo: String::new(),
    });
    let stranded = cluster.client(leader).sign_call(&key, call).await.unwrap();
    let stranded_hash = cluster.client(leader).submit(&stranded).await.unwrap();

    let others: Vec<usize> = (0..4).filter(|i| *i != leader).collect();
    let mut last = (Hash::ZERO, 0);
    for (n, i) in others.iter().cycle().take(5).enumerate() {
        last = cluster.commit_via(*i, &format!("during-{n}")).await;
    }
    let status = cluster.client(leader).status().await.unwrap();
    assert_eq!(
        status.height, isolated_height,
        "the isolated node committed something"
    );
    assert_eq!(
        cluster
            .client(leader)
            .tx(&stranded_hash)
            .await
            .unwrap()
            .status,
        TxState::Pending
    );

    xinlian_testnet::set_isolated(cluster._dir.path(), leader, false)
        .await
        .unwrap();
    cluster.wait_height(leader, last.1).await;
    cluster.assert_identical(last.1).await;
}

impl Cluster {
    /// Polls node `i`'s registry view until `done` holds for it.
    pub(crate) async fn wait_registry(
        &self,
        i: usize,
        what: &str,
        done: impl Fn(&xinlian_core::api::GovNodesResponse) -> bool,
    ) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(nodes) = self.client(i).gov_nodes().await
                && done(&nodes)
            {
                return;
            }
            assert!(Instant::now() < deadline, "node {i}: {what} within 30s");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Writes and starts one more node (not in the registry yet), returning the change that
    /// admits it.
    pub(crate) async fn spawn_joiner(&mut self, learner: bool) -> (usize, GovChange) {
        self.spawn_joiner_with(learner, |_| {}).await
    }

    /// [`Cluster::spawn_joiner`], with its configuration file's text changed by `tweak` first.
    pub(crate) async fn spawn_joiner_with(
        &mut self,
        learner: bool,
        tweak: impl Fn(&mut String),
    ) -> (usize, GovChange) {
        let dir = self._dir.path().to_path_buf();
        let prepared = xinlian_testnet::prepare_node(&dir, &mut self.layout, learner)
            .await
            .unwrap();
        let config = &self.layout.nodes[prepared.index].config_file;
        let mut text = std::fs::read_to_string(config).unwrap();
        tweak(&mut text);
        std::fs::write(config, text).unwrap();
        self.children.push(None);
        self.spawn(prepared.index);
        xinlian_testnet::wait_healthy(&self.layout, Duration::from_secs(30))
            .await
            .unwrap();
        (prepared.index, prepared.change)
    }

    /// Passes the proposal `change` that adds a fourth node as a voter, and waits until Raft
    /// counts it among the voters.
    pub(crate) async fn admit_fourth_voter(&self, change: GovChange) {
        xinlian_testnet::pass_proposal(&self.layout, change, "add a voter")
            .await
            .unwrap();
        self.wait_registry(0, "the new node becomes a Raft voter", |n| {
            n.raft_voters == [1, 2, 3, 4]
        })
        .await;
    }

    /// The same block hash at every height up to `height` on the nodes `among`.
    pub(crate) async fn assert_identical_among(&self, among: &[usize], height: u64) {
        for h in 1..=height {
            let mut hashes = Vec::new();
            for i in among {
                hashes.push(self.client(*i).block(h).await.unwrap().hash);
            }
            assert!(
                hashes.windows(2).all(|w| w[0] == w[1]),
                "height {h}: {hashes:?}"
            );
        }
    }
}

/// Governance changes the membership of running node processes: a node started before it is
/// admitted is refused by the others; once a proposal passes it syncs, joins Raft as a learner,
/// is promoted to voter and replicates; a learner (an observer such as a regulator) replicates
/// without voting; the leader removed by proposal hands over, is cut off, commits nothing more,
/// and cannot start again.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn governance_adds_a_voter_and_a_learner_and_removes_the_leader() {
    let mut cluster = Cluster::start(3).await;
    let (_, first) = cluster.commit_via(0, "before").await;
    let saved_before = crate::voter_changes::save_member_answer(&cluster, 0, "before").await;

    // A node outside the registry: the others refuse it, so it learns nothing.
    let (voter, change) = cluster.spawn_joiner(false).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let joining = cluster.client(voter).status().await.unwrap();
    assert_eq!(joining.membership, NodeMembership::Joining);
    assert_eq!(joining.height, 0, "peers served blocks to a non-member");

    // Admitted by a majority of organisations, it catches up and becomes a voter.
    cluster.admit_fourth_voter(change).await;
    assert_eq!(
        cluster.client(voter).status().await.unwrap().membership,
        NodeMembership::Voter
    );
    let (hash, height) = cluster.commit_via(voter, "through the new node").await;
    for i in 0..4 {
        cluster.wait_height(i, height).await;
    }
    cluster.assert_identical(height).await;
    assert!(height > first);
    // Certificates follow the voters: a block before the change counts the three of genesis,
    // one after it the four; the new node, which applied every block itself, recorded the same.
    let before = cluster.client(0).voters_at(first).await.unwrap();
    let after = cluster.client(0).voters_at(height).await.unwrap();
    assert_eq!((before.voters.len(), after.voters.len()), (3, 4));
    assert_eq!(after.quorum, 3);
    assert_eq!(
        cluster.client(voter).voters_at(height).await.unwrap(),
        after
    );
    cluster
        .assert_certified(0, first, &before.voter_set())
        .await;
    cluster
        .assert_certified(0, height, &after.voter_set())
        .await;
    // A client that trusts only the genesis follows the change from any node: the block that
    // made it is certified by the three voters before it, and proves the four after it.
    let followed = crate::voter_changes::follow_from_genesis(&cluster, 1, &before, &after).await;
    crate::voter_changes::forged_changes_are_refused(&cluster, 2, &followed).await;
    let admin = keys::read_key_file(&cluster.layout.admin_keys[0], None).unwrap();
    let member = cluster
        .client(voter)
        .member_proven(&admin.public_key(), &followed)
        .await
        .unwrap();
    assert_eq!(member.voters, 4);

    // A learner replicates (and forwards transactions) without a vote.
    let (learner, change) = cluster.spawn_joiner(true).await;
    xinlian_testnet::pass_proposal(&cluster.layout, change, "add a learner")
        .await
        .unwrap();
    cluster
        .wait_registry(0, "the learner joins Raft", |n| {
            n.raft_learners == [5] && n.raft_voters == [1, 2, 3, 4]
        })
        .await;
    let (_, height) = cluster.commit_via(learner, "through the learner").await;
    cluster.wait_height(learner, height).await;
    cluster.assert_identical(height).await;
    assert_eq!(
        cluster.client(learner).tx(&hash).await.unwrap().status,
        TxState::Committed
    );

    // Remove the leader: it hands leadership over first, then leaves and is cut off.
    let last_before_removal = cluster.client(0).status().await.unwrap().height;
    let leader = cluster.leader(None).await;
    let leader_raft_id = leader as u64 + 1;
    let dir = cluster._dir.path().to_path_buf();
    xinlian_testnet::remove_node(&dir, &mut cluster.layout, leader)
        .await
        .unwrap();
    let others: Vec<usize> = (0..5).filter(|i| *i != leader).collect();
    cluster
        .wait_registry(others[0], "Raft removes the old leader", |n| {
            !n.raft_voters.contains(&leader_raft_id)
        })
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while cluster.client(leader).status().await.unwrap().membership != NodeMembership::Removed {
        assert!(
            Instant::now() < deadline,
            "the removed node never learnt it"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let removed_height = cluster.client(leader).status().await.unwrap().height;
    let mut last = 0;
    for (n, i) in others.iter().enumerate() {
        last = cluster
            .commit_via(*i, &format!("after-removal-{n}"))
            .await
            .1;
    }
    let removed = cluster.client(leader).status().await.unwrap();
    assert_eq!(
        removed.height, removed_height,
        "a removed node still commits"
    );
    assert_eq!(removed.leader, None);
    // The others cut the removed node off (each on its own time: poll).
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let metrics =
            crate::harness::http_get(format!("{}/metrics", cluster.layout.nodes[leader].http_url))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
        if metrics.contains("xinlian_peers_connected 0") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the others keep a removed node connected"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in &others {
        cluster.wait_height(*i, last).await;
    }
    cluster.assert_identical_among(&others, last).await;
    let voters = cluster.client(others[0]).voters_at(last).await.unwrap();
    let removed_id = cluster.layout.nodes[leader].id.clone();
    assert!(voters.voters.iter().all(|v| v.node_id != removed_id));
    assert_eq!(voters.voters.len(), 3, "four voters less the removed one");
    // Asked of a node still in the chain: the removed one (perhaps node 0) applies no more.
    cluster
        .assert_certified(others[0], last, &voters.voter_set())
        .await;
    // Followed from the genesis again, through both changes (the learner changed no voter),
    // and an answer saved now verifies offline with `xinlian verify --node`.
    let before_removal = cluster
        .client(others[0])
        .voters_at(last_before_removal)
        .await
        .unwrap();
    crate::voter_changes::follow_from_genesis(&cluster, others[1], &before_removal, &voters).await;
    // Saved before any change or now, an answer verifies against the voters of its own block.
    let saved_now = crate::voter_changes::save_member_answer(&cluster, others[0], "now").await;
    for saved in [&saved_before, &saved_now] {
        crate::voter_changes::verify_following(&cluster, saved, others[2]);
    }

    // Restarted, a removed node refuses to take part and says why.
    cluster.kill_9(leader);
    let node = &cluster.layout.nodes[leader];
    let output = Command::new(XINLIAN)
        .args(["node", "start", "--config"])
        .arg(&node.config_file)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("was removed from the chain by governance"),
        "{stderr}"
    );
}
