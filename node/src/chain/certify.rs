//! Commit certificates (docs/formats.md): each voter signs the blocks it applies and sends the
//! vote to its peers; every node keeps the votes for the heights around its head, and once a
//! quorum of voters signed the hash it applied itself, stores the certificate and serves it with
//! the block.
//!
//! Bounded against a hostile peer: a vote travels only as its sender's own (the sender's node id
//! comes from the transport, not from the message), one vote per voter and height is checked
//! (a second is dropped unverified, after a good or a bad one), and only heights within [`VOTE_WINDOW`] of the head are
//! kept. A vote for another block than the one this node applied is counted
//! (`other_block`): a quorum can only form on one hash, so it cannot certify, but it means a
//! node holds a different block at that height.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use xinlian_core::Hash;
use xinlian_core::certificate::{CommitCertificate, CommitVote, VoterSet, commit_vote_bytes};
use xinlian_core::crypto::Signature;
use xinlian_core::limits::{CARRIED_CERTIFICATES_MAX, CERTIFICATE_CARRY_WINDOW};
use xinlian_core::types::Block;

use super::{BlockRefusal, Chain, lock};

/// Blocks a proposer waits for a missing certificate before carrying later ones past it.
const CERTIFICATE_GAP_WAIT: u64 = 16;
use crate::Result;

/// Heights around the head for which votes are kept: a follower applies a block a moment after
/// the leader and its peers, so their votes arrive first, and a node catching up gets the votes
/// of blocks it has not applied yet.
pub const VOTE_WINDOW: u64 = 1024;

/// One voter's vote as it travels between peers; whose it is, the transport says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerVote {
    /// The block's height.
    pub height: u64,
    /// The block's hash.
    pub block_hash: Hash,
    /// The voter's signature over `commit_vote_bytes(chain, height, block_hash)`.
    pub signature: Signature,
}

/// Votes gathered per height until a certificate forms, and the voters of each height.
#[derive(Default)]
pub(crate) struct Certifier {
    rounds: BTreeMap<u64, Round>,
    /// Heights certified lately, so later votes for them cost nothing.
    certified: BTreeSet<u64>,
    /// The voter set in force from each height on where it changed (the registry after the
    /// block below it, which the block that changed it is still certified by), as stored; a
    /// block's votes count against its own height's set.
    history: BTreeMap<u64, VoterSet>,
}

#[derive(Default)]
struct Round {
    /// The hash this node applied at the height, once it has.
    applied: Option<Hash>,
    /// Each voter's vote: the hash it signed and its signature.
    votes: BTreeMap<String, (Hash, Signature)>,
    /// Voters whose vote here did not verify: their next ones are dropped unverified, so a
    /// member cannot make this node check signatures without end.
    refused: BTreeSet<String>,
}

impl Chain {
    /// After applying the block `block_hash` at `height`: signs this node's vote if it is a
    /// voter, sends it to the peers, and stores the certificate if a quorum is now in.
    pub(super) fn vote_on(&self, height: u64, block_hash: Hash) -> Result<()> {
        // A block is certified by the voters it was committed under; voters it changes take
        // over from the next block. So the voters a client already trusts certify the block
        // that changes them, and the registry proved under that block tells the client who
        // comes next (`voter_change.rs`).
        let after = self.voter_set();
        let changed = lock(&self.certifier).history.values().next_back() != Some(&after);
        if changed {
            // The proof first: a node stopped before the history records the change finds
            // the change unrecorded at start and proves it again (`load_voter_history`).
            self.record_voter_change(height)?;
            self.storage.put_voters(height + 1, &after)?;
            lock(&self.certifier)
                .history
                .insert(height + 1, after.clone());
        }
        let voters = lock(&self.certifier)
            .voters_of(height)
            .cloned()
            .unwrap_or(after);
        let vote = voters.key(&self.node_id).is_some().then(|| {
            CommitVote::sign(
                &self.node_key,
                &self.node_id,
                &self.genesis.chain_id,
                height,
                &block_hash,
            )
        });
        if let (Some(vote), Some(send)) = (&vote, self.vote_sender.get()) {
            send(PeerVote {
                height,
                block_hash,
                signature: vote.signature,
            });
        }
        let formed = {
            let mut certifier = lock(&self.certifier);
            let round = certifier.rounds.entry(height).or_default();
            round.applied = Some(block_hash);
            if let Some(vote) = vote {
                round
                    .votes
                    .insert(vote.node_id, (block_hash, vote.signature));
            }
            certifier.prune(height);
            self.try_certify(&mut certifier, height)
        };
        self.store_certificate(formed)
    }

    /// Takes votes `node_id` sent: each checked against the voter's key and kept until its
    /// height certifies. Every vote is counted by outcome (`xinlian_commit_votes_total`).
    pub fn receive_votes(&self, node_id: &str, votes: Vec<PeerVote>) -> Result<()> {
        let head = self.head().height;
        let chain_id = &self.genesis.chain_id;
        let mut formed = Vec::new();
        for vote in votes {
            let in_window = vote.height.saturating_add(VOTE_WINDOW) > head
                && vote.height <= head.saturating_add(VOTE_WINDOW);
            let outcome =
                {
                    let certifier = lock(&self.certifier);
                    if !in_window {
                        "out_of_window"
                    } else if certifier.certified.contains(&vote.height) {
                        "late"
                    } else if certifier.rounds.get(&vote.height).is_some_and(|r| {
                        r.votes.contains_key(node_id) || r.refused.contains(node_id)
                    }) {
                        "duplicate"
                    } else {
                        ""
                    }
                };
            if !outcome.is_empty() {
                self.metrics.count_commit_votes(outcome, 1);
                continue;
            }
            // The voters of the vote's height: known for heights applied here; for a height
            // ahead, those in force now (the set is checked again when the certificate forms).
            let key = match lock(&self.certifier).voters_of(vote.height) {
                Some(voters) => voters.key(node_id).cloned(),
                None => self.voter_set().key(node_id).cloned(),
            };
            let Some(key) = key else {
                self.metrics.count_commit_votes("not_a_voter", 1);
                continue;
            };
            // Checked outside the lock: an SM2 verification is the slow part.
            let message = commit_vote_bytes(chain_id, vote.height, &vote.block_hash);
            if key.verify(&message, &vote.signature).is_err() {
                self.metrics.count_commit_votes("bad_signature", 1);
                lock(&self.certifier)
                    .rounds
                    .entry(vote.height)
                    .or_default()
                    .refused
                    .insert(node_id.to_string());
                continue;
            }
            let mut certifier = lock(&self.certifier);
            let round = certifier.rounds.entry(vote.height).or_default();
            if round.applied.is_some_and(|hash| hash != vote.block_hash) {
                self.metrics.count_commit_votes("other_block", 1);
            } else {
                self.metrics.count_commit_votes("accepted", 1);
            }
            round
                .votes
                .insert(node_id.to_string(), (vote.block_hash, vote.signature));
            formed.push(self.try_certify(&mut certifier, vote.height));
        }
        for certificate in formed {
            self.store_certificate(certificate)?;
        }
        Ok(())
    }

    /// The certificates the block at `height` carries, when its parent carried through `after`:
    /// those this node holds above `after`, below `height` and within the carry window, in
    /// height order. A height whose certificate is not here yet stops the list while it is
    /// younger than [`CERTIFICATE_GAP_WAIT`] blocks (its votes may still come, and once a later
    /// one rides it never can); an older gap is passed over.
    pub(super) fn certificates_to_carry(
        &self,
        height: u64,
        after: u64,
    ) -> Result<Vec<CommitCertificate>> {
        let from = (after + 1).max(height.saturating_sub(CERTIFICATE_CARRY_WINDOW));
        let held = self
            .storage
            .certificates_between(from, height, CARRIED_CERTIFICATES_MAX)?;
        let mut carried = Vec::with_capacity(held.len());
        let mut next = from;
        for certificate in held {
            if certificate.height != next && next + CERTIFICATE_GAP_WAIT > height {
                break;
            }
            next = certificate.height + 1;
            carried.push(certificate);
        }
        Ok(carried)
    }

    /// The highest height whose certificate the stored chain carries.
    pub(super) fn carried_through(&self) -> u64 {
        *lock(&self.carried_through)
    }

    /// Checks the certificates `block` carries, as every node does before applying it: at most
    /// [`CARRIED_CERTIFICATES_MAX`], each above the last carried and below the block, within
    /// [`CERTIFICATE_CARRY_WINDOW`] of it, for the block this node holds at its height, and
    /// signed by a quorum of that height's voters.
    /// The outer error is this node's (its store failed): it halts rather than refuse a block
    /// the others may accept.
    pub(super) fn check_carried(
        &self,
        block: &Block,
    ) -> Result<std::result::Result<(), BlockRefusal>> {
        let refuse = |why: String| Ok(Err(BlockRefusal::Malformed(why)));
        let height = block.header.height;
        if block.certificates.len() > CARRIED_CERTIFICATES_MAX {
            return refuse(format!(
                "{} carried certificates, more than {CARRIED_CERTIFICATES_MAX}",
                block.certificates.len()
            ));
        }
        let mut previous = self.carried_through();
        for certificate in &block.certificates {
            let at = certificate.height;
            if at <= previous || at >= height {
                return refuse(format!(
                    "a carried certificate of height {at} is not between {previous} and {height}"
                ));
            }
            if at + CERTIFICATE_CARRY_WINDOW < height {
                return refuse(format!(
                    "a carried certificate of height {at} is more than {CERTIFICATE_CARRY_WINDOW} blocks back"
                ));
            }
            previous = at;
            if self.storage.height_of_block(&certificate.block_hash)? != Some(at) {
                return refuse(format!(
                    "the carried certificate of height {at} is for block {}, not the one on the chain",
                    certificate.block_hash
                ));
            }
            let (_, voters) = self.voters_since(at);
            if let Err(e) =
                certificate.verify(&self.genesis.chain_id, at, &certificate.block_hash, &voters)
            {
                return refuse(format!("carried certificate of height {at}: {e}"));
            }
        }
        Ok(Ok(()))
    }

    /// The certificate of the block at `height`, once a quorum signed it.
    pub fn certificate(&self, height: u64) -> Result<Option<CommitCertificate>> {
        self.storage.certificate(height)
    }

    /// The voters the registry as of the head names, who certify the blocks after it: active
    /// nodes that are not learners (`xinlian_contracts::views::voters` reads the same from
    /// state).
    pub fn voter_set(&self) -> VoterSet {
        let membership = self.membership();
        VoterSet::new(
            membership
                .active()
                .filter(|node| !node.learner)
                .map(|node| (node.id.clone(), node.public_key.clone())),
        )
    }

    /// Sends this node's vote on the head again, if it is a voter there. A vote goes once to
    /// the peers connected at the time: one reconnecting then misses it, and on an idle chain no
    /// later block's votes follow, so that peer would never certify the head (its proven
    /// answers would wait in vain). Called while the head stays put (`crate::revote`). A node
    /// restarted at a head it holds no certificate for counts its own vote there again, so the
    /// others' votes sent again complete it.
    pub fn resend_head_vote(&self) -> Result<()> {
        let head = self.head();
        if head.height == 0 {
            return Ok(());
        }
        let voters = lock(&self.certifier)
            .voters_of(head.height)
            .cloned()
            .unwrap_or_else(|| self.voter_set());
        if voters.key(&self.node_id).is_none() {
            return Ok(());
        }
        let vote = CommitVote::sign(
            &self.node_key,
            &self.node_id,
            &self.genesis.chain_id,
            head.height,
            &head.hash,
        );
        let uncertified = self.storage.certificate(head.height)?.is_none();
        let formed = {
            let mut certifier = lock(&self.certifier);
            if uncertified && !certifier.certified.contains(&head.height) {
                let round = certifier.rounds.entry(head.height).or_default();
                round.applied.get_or_insert(head.hash);
                round
                    .votes
                    .insert(self.node_id.clone(), (head.hash, vote.signature));
                self.try_certify(&mut certifier, head.height)
            } else {
                None
            }
        };
        self.store_certificate(formed)?;
        if let Some(send) = self.vote_sender.get() {
            send(PeerVote {
                height: head.height,
                block_hash: head.hash,
                signature: vote.signature,
            });
        }
        Ok(())
    }

    /// Sends this node's votes to its peers (set once by the network).
    pub fn set_vote_sender(&self, send: Box<dyn Fn(PeerVote) + Send + Sync>) {
        let _ = self.vote_sender.set(send);
    }

    /// The voters in force at `height` (the set recorded at the last change at or below it,
    /// which for a height above every change is the current one) and the height they took
    /// effect.
    pub fn voters_since(&self, height: u64) -> (u64, VoterSet) {
        let found = lock(&self.certifier)
            .history
            .range(..=height)
            .next_back()
            .map(|(since, voters)| (*since, voters.clone()));
        found.unwrap_or_else(|| (0, self.voter_set()))
    }

    /// Reads the recorded voter sets at start; a store from before they were recorded starts
    /// its history with the voters of its head.
    pub(super) fn load_voter_history(&self) -> Result<()> {
        let mut history = self.storage.voter_history()?;
        let voters = self.voter_set();
        let head = self.head().height;
        if history.is_empty() {
            self.storage.put_voters(head, &voters)?;
            history.insert(head, voters.clone());
        }
        // A change is recorded just after its block is stored; a node stopped in between
        // records it here, since that block is still its head.
        let unrecorded = history.values().next_back() != Some(&voters);
        if unrecorded {
            self.record_voter_change(head)?;
            self.storage.put_voters(head + 1, &voters)?;
            history.insert(head + 1, voters);
        }
        lock(&self.certifier).history = history;
        Ok(())
    }

    /// A certificate for `height` if the block this node applied there has a quorum of the
    /// votes of that height's voters.
    fn try_certify(&self, certifier: &mut Certifier, height: u64) -> Option<CommitCertificate> {
        let voters = certifier.voters_of(height)?;
        let round = certifier.rounds.get(&height)?;
        let applied = round.applied?;
        let votes: Vec<CommitVote> = round
            .votes
            .iter()
            .filter(|(node_id, (hash, _))| *hash == applied && voters.key(node_id).is_some())
            .map(|(node_id, (_, signature))| CommitVote {
                node_id: node_id.clone(),
                signature: *signature,
            })
            .collect();
        if votes.len() < voters.quorum() {
            return None;
        }
        certifier.rounds.remove(&height);
        certifier.certified.insert(height);
        Some(CommitCertificate::new(
            &self.genesis.chain_id,
            height,
            applied,
            votes,
        ))
    }

    fn store_certificate(&self, certificate: Option<CommitCertificate>) -> Result<()> {
        let Some(certificate) = certificate else {
            return Ok(());
        };
        self.storage.put_certificate(&certificate)?;
        self.metrics.count_certificate_formed();
        Ok(())
    }
}

impl Certifier {
    /// The recorded voters in force at `height`.
    fn voters_of(&self, height: u64) -> Option<&VoterSet> {
        self.history
            .range(..=height)
            .next_back()
            .map(|(_, voters)| voters)
    }

    /// Forgets rounds and certified heights that fell out of the window below `head`; a height
    /// that never reached a quorum in time stays without a certificate.
    fn prune(&mut self, head: u64) {
        let floor = head.saturating_sub(VOTE_WINDOW);
        self.rounds = self.rounds.split_off(&floor);
        self.certified = self.certified.split_off(&floor);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use xinlian_core::genesis::{Genesis, GenesisNode};
    use xinlian_core::types::Block;

    use super::*;
    use crate::chain::Applied;
    use crate::chain::tests::{evidence, genesis_with, key, open_chain};

    const CHAIN: &str = "certify";

    /// Two voters, `n` (key 2) and `m` (key 4): a certificate needs both.
    fn genesis() -> Genesis {
        let node = |id: &str, seed: u8| GenesisNode {
            id: id.into(),
            public_key: key(seed).public_key(),
            p2p_peer_id: format!("peer-{id}"),
        };
        genesis_with(
            CHAIN,
            vec![key(1).public_key()],
            vec![node("n", 2), node("m", 4)],
        )
    }

    fn chain_n(dir: &std::path::Path) -> Chain {
        open_chain(dir, "n", genesis(), key(2), "peer-n")
    }

    /// Builds the next block with one evidence transaction (not applied yet).
    fn build(chain: &Chain, nonce: u64) -> Block {
        chain.submit(evidence(chain, nonce)).unwrap();
        chain
            .build_block(1_000 * (chain.head().height + 1))
            .unwrap()
            .unwrap()
    }

    fn apply(chain: &Chain, block: &Block) {
        match chain.apply_entry(block.header.height, &block.to_bytes()) {
            Ok(Applied::Block(_)) => {}
            other => panic!("{other:?}"),
        }
    }

    fn m_vote(height: u64, block_hash: Hash) -> PeerVote {
        PeerVote {
            height,
            block_hash,
            signature: CommitVote::sign(&key(4), "m", CHAIN, height, &block_hash).signature,
        }
    }

    fn counted(chain: &Chain, code: &str) -> u64 {
        let prefix = format!("xinlian_commit_votes_total{{code=\"{code}\"}} ");
        chain
            .metrics()
            .render()
            .lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .map_or(0, |v| v.trim().parse().unwrap())
    }

    #[test]
    fn a_certificate_forms_when_the_other_voter_signs_before_or_after_this_node_applies() {
        let dir = tempfile::tempdir().unwrap();
        let chain = chain_n(dir.path());
        let voters = VoterSet::from_genesis(&genesis());
        let suite = chain.suite();

        // Applied here first: this node's vote alone is one of two; the other's completes it.
        let first = build(&chain, 1);
        let first_hash = first.header.hash(suite);
        apply(&chain, &first);
        assert_eq!(chain.certificate(1).unwrap(), None);
        chain
            .receive_votes("m", vec![m_vote(1, first_hash)])
            .unwrap();
        let certificate = chain.certificate(1).unwrap().unwrap();
        assert_eq!(certificate.votes.len(), 2);
        certificate.verify(CHAIN, 1, &first_hash, &voters).unwrap();

        // The other voter's vote arrives before this node applies the block: held, and the
        // certificate forms when this node applies the same block.
        let second = build(&chain, 2);
        let second_hash = second.header.hash(suite);
        chain
            .receive_votes("m", vec![m_vote(2, second_hash)])
            .unwrap();
        assert_eq!(chain.certificate(2).unwrap(), None);
        apply(&chain, &second);
        chain
            .certificate(2)
            .unwrap()
            .unwrap()
            .verify(CHAIN, 2, &second_hash, &voters)
            .unwrap();

        // A valid vote for another block than this node applied: counted, never certified;
        // the other voter's next vote for that height is a repeat, dropped unverified.
        let third = build(&chain, 3);
        apply(&chain, &third);
        chain
            .receive_votes("m", vec![m_vote(3, Hash([9; 32]))])
            .unwrap();
        assert_eq!(chain.certificate(3).unwrap(), None);
        chain
            .receive_votes("m", vec![m_vote(3, third.header.hash(suite))])
            .unwrap();
        assert_eq!(chain.certificate(3).unwrap(), None);

        // Bad input: a stranger's vote, a forged signature (checked once, the repeat dropped),
        // a vote far ahead, and a late one for a height already certified.
        chain
            .receive_votes("x", vec![m_vote(4, Hash([4; 32]))])
            .unwrap();
        let mut forged = m_vote(4, Hash([4; 32]));
        forged.signature.0[5] ^= 1;
        chain
            .receive_votes("m", vec![forged.clone(), forged])
            .unwrap();
        chain
            .receive_votes("m", vec![m_vote(5_000, Hash([4; 32]))])
            .unwrap();
        chain
            .receive_votes("m", vec![m_vote(1, first_hash)])
            .unwrap();
        for (code, n) in [
            ("accepted", 2),
            ("other_block", 1),
            ("duplicate", 2),
            ("not_a_voter", 1),
            ("bad_signature", 1),
            ("out_of_window", 1),
            ("late", 1),
        ] {
            assert_eq!(counted(&chain, code), n, "{code}");
        }
        assert_eq!(chain.voters_since(3), (0, voters));
    }

    /// Applies `block` with its certificates replaced by `certificates` (the header's hash of
    /// them updated and re-signed by the proposer): the refusal's message, if refused.
    fn refusal_with(chain: &Chain, block: &Block, certificates: Vec<CommitCertificate>) -> String {
        let mut altered = block.clone();
        altered.header.certificates_hash = Block::certificates_hash(chain.suite(), &certificates);
        altered.certificates = certificates;
        altered.signature = altered.header.sign(&key(2));
        match chain.apply_entry(altered.header.height, &altered.to_bytes()) {
            Ok(Applied::Refused(refusal)) => refusal.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn blocks_carry_earlier_certificates_and_a_forged_or_misplaced_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chain = chain_n(dir.path());
        let suite = chain.suite();
        let first = build(&chain, 1);
        apply(&chain, &first);
        chain
            .receive_votes("m", vec![m_vote(1, first.header.hash(suite))])
            .unwrap();
        let certificate_1 = chain.certificate(1).unwrap().unwrap();

        // The next block carries it, under the header's hash, and the chain records that.
        let second = build(&chain, 2);
        assert_eq!(second.certificates, vec![certificate_1.clone()]);
        apply(&chain, &second);
        assert_eq!(chain.carried_through(), 1);
        assert_eq!(chain.storage().carried_through().unwrap(), 1);
        chain
            .receive_votes("m", vec![m_vote(2, second.header.hash(suite))])
            .unwrap();
        let certificate_2 = chain.certificate(2).unwrap().unwrap();

        let third = build(&chain, 3);
        assert_eq!(third.certificates, vec![certificate_2.clone()]);
        // Certificates that do not match the header's hash of them.
        let mut unhashed = third.clone();
        unhashed.certificates.clear();
        match chain.apply_entry(3, &unhashed.to_bytes()).unwrap() {
            Applied::Refused(refusal) => assert!(refusal.to_string().contains("hash"), "{refusal}"),
            other => panic!("{other:?}"),
        }
        // One carried before.
        let again = refusal_with(&chain, &third, vec![certificate_1.clone()]);
        assert!(again.contains("not between 1 and 3"), "{again}");
        // A forged vote.
        let mut forged = certificate_2.clone();
        forged.votes[0].signature.0[3] ^= 1;
        let forged = refusal_with(&chain, &third, vec![forged]);
        assert!(forged.contains("does not verify"), "{forged}");
        // Fewer than a quorum.
        let mut short = certificate_2.clone();
        short.votes.truncate(1);
        let short = refusal_with(&chain, &third, vec![short]);
        assert!(short.contains("quorum"), "{short}");
        // Another block at that height, signed by both voters.
        let other_block = Hash([7; 32]);
        let other = CommitCertificate::new(
            CHAIN,
            2,
            other_block,
            vec![
                CommitVote::sign(&key(2), "n", CHAIN, 2, &other_block),
                CommitVote::sign(&key(4), "m", CHAIN, 2, &other_block),
            ],
        );
        let other = refusal_with(&chain, &third, vec![other]);
        assert!(other.contains("not the one on the chain"), "{other}");
        // Too many.
        let many = refusal_with(&chain, &third, vec![certificate_2.clone(); 9]);
        assert!(many.contains("more than 8"), "{many}");
        // The block as built is applied.
        apply(&chain, &third);
        assert_eq!(chain.carried_through(), 2);
    }
}
