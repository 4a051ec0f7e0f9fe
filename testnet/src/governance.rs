//! Changing a running testnet's membership the way departments do: a proposal by one
//! organisation's admin, approvals by others until the majority is reached.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use xinlian_core::Hash;
use xinlian_core::api::ProposalStatus;
use xinlian_core::crypto::PrivateKey;
use xinlian_core::types::{Call, GovCall, GovChange};
use xinlian_sdk::{Client, keys};

use crate::Layout;
use crate::layout::{P2P_PORT_OFFSET, Ports, write_node_config, write_node_keys};
use crate::process::start_node;

const COMMIT_TIMEOUT: Duration = Duration::from_secs(30);

/// A node written to disk but not yet in the chain's registry.
pub struct PreparedNode {
    /// Its index in the layout.
    pub index: usize,
    /// The governance change that adds it.
    pub change: GovChange,
}

/// Writes keys and a config for one more node (run by the first organisation), adds it to the
/// layout, and returns the change that admits it. Its config lists every active node as a peer;
/// the node starts as a joiner and syncs until governance adds it.
pub async fn prepare_node(dir: &Path, layout: &mut Layout, learner: bool) -> Result<PreparedNode> {
    let client = responsive_client(layout).await?;
    let registry = client.gov_nodes().await?;
    let index = layout.nodes.len();
    let node_id = format!("node{index}");
    ensure!(
        registry.nodes.iter().all(|n| n.id != node_id),
        "the chain already has a node {node_id}"
    );
    let node_dir = dir.join(&node_id);
    ensure!(!node_dir.exists(), "{} already exists", node_dir.display());
    let (node_key, peer_id) = write_node_keys(&node_dir, layout.suite.default_scheme())?;
    let peers = registry
        .nodes
        .iter()
        .filter(|n| !n.removed)
        .filter_map(|n| {
            let entry = layout.nodes.iter().find(|e| e.id == n.id)?;
            Some(format!(
                "{}/p2p/{}",
                entry.p2p_address.as_ref()?,
                n.p2p_peer_id
            ))
        })
        .collect();
    let base = http_port_base(layout)?;
    let ports = Ports {
        http: base + index as u16,
        p2p: base + P2P_PORT_OFFSET + index as u16,
    };
    let entry = write_node_config(
        &node_dir,
        &node_id,
        ports,
        peers,
        layout.tls.as_ref(),
        false,
    )?;
    layout.nodes.push(entry);
    layout.save(dir)?;
    let org = registry
        .nodes
        .first()
        .map(|n| n.org.clone())
        .context("the chain has no nodes")?;
    Ok(PreparedNode {
        index,
        change: GovChange::AddNode {
            org,
            id: node_id,
            public_key: node_key.public_key(),
            p2p_peer_id: peer_id,
            learner,
        },
    })
}

/// Adds a node: prepares it, passes the proposal, and starts its process.
pub async fn add_node(
    dir: &Path,
    layout: &mut Layout,
    xinlian_binary: &Path,
    learner: bool,
) -> Result<(usize, Hash)> {
    let prepared = prepare_node(dir, layout, learner).await?;
    let memo = format!("testnet: add node{}", prepared.index);
    let proposal = pass_proposal(layout, prepared.change, &memo).await?;
    let started = start_node(layout, prepared.index, xinlian_binary).await;
    layout.save(dir)?;
    started?;
    Ok((prepared.index, proposal))
}

/// Removes node `index` from the chain by proposal and marks it removed in the layout, so `up`,
/// `status` and `bench` leave it out; its process keeps running, cut off, until `down`.
pub async fn remove_node(dir: &Path, layout: &mut Layout, index: usize) -> Result<Hash> {
    let node = layout
        .nodes
        .get(index)
        .with_context(|| format!("--node must be below {}", layout.nodes.len()))?;
    ensure!(!node.removed, "{} was already removed", node.id);
    let change = GovChange::RemoveNode {
        id: node.id.clone(),
    };
    let memo = format!("testnet: remove {}", node.id);
    let proposal = pass_proposal(layout, change, &memo).await?;
    layout.nodes[index].removed = true;
    layout.save(dir)?;
    Ok(proposal)
}

/// Proposes `change` with the first organisation's admin and approves it with the others' until
/// it takes effect. Returns the proposal id.
pub async fn pass_proposal(layout: &Layout, change: GovChange, memo: &str) -> Result<Hash> {
    let client = responsive_client(layout).await?;
    let admins = org_admins(layout)?;
    let (proposer, approvers) = admins.split_first().context("no admin keys")?;
    let propose = Call::Governance(GovCall::Propose {
        change,
        memo: memo.to_string(),
    });
    let id = commit(&client, proposer, propose).await?;
    for approver in approvers {
        if client.proposal(&id).await?.status == ProposalStatus::Executed {
            break;
        }
        commit(
            &client,
            approver,
            Call::Governance(GovCall::Approve { proposal_id: id }),
        )
        .await?;
    }
    let view = client.proposal(&id).await?;
    if view.status != ProposalStatus::Executed {
        bail!(
            "proposal {id} has {} of {} approvals and did not take effect",
            view.proposal.approvals.len(),
            view.approvals_needed
        );
    }
    Ok(id)
}

async fn commit(client: &Client, key: &PrivateKey, call: Call) -> Result<Hash> {
    let tx = client.sign_call(key, call).await?;
    let hash = client.submit(&tx).await?;
    let status = client.wait_for_commit(&hash, COMMIT_TIMEOUT).await?;
    let receipt = status.receipt.context("committed without a receipt")?;
    ensure!(
        receipt.is_success(),
        "transaction {hash}: {}",
        receipt.status
    );
    Ok(hash)
}

/// The first node that answers (a removed or killed node may be first in the layout).
async fn responsive_client(layout: &Layout) -> Result<Client> {
    for node in layout.active_nodes() {
        let client = layout.client(node)?;
        if let Ok(status) = client.status().await
            && status.membership == xinlian_core::api::NodeMembership::Voter
        {
            return Ok(client);
        }
    }
    bail!("no voting node of the testnet answers")
}

/// One admin key per founding organisation, in organisation order (files `org<i>-admin-*.pem`).
fn org_admins(layout: &Layout) -> Result<Vec<PrivateKey>> {
    let mut admins = Vec::new();
    for org in 0.. {
        let prefix = format!("org{org}-admin-");
        let Some(path) = layout.admin_keys.iter().find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&prefix))
        }) else {
            break;
        };
        admins.push(keys::read_key_file(path, None)?);
    }
    Ok(admins)
}

fn http_port_base(layout: &Layout) -> Result<u16> {
    let first = &layout.nodes[0].http_url;
    let port: u16 = first
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .with_context(|| format!("no port in {first}"))?;
    Ok(port)
}
