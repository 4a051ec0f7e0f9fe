//! Executes a block's transactions in order, each in its own overlay so a refused call changes
//! nothing, and returns receipts, the write set and the new state commitment.

use std::collections::HashSet;

use xinlian_core::crypto::SignatureScheme;
use xinlian_core::genesis::Genesis;
use xinlian_core::limits::TX_VALIDITY_BLOCKS_MAX;
use xinlian_core::types::{Call, Receipt, ReceiptStatus, SignedTransaction};
use xinlian_core::{Hash, HashSuite};

use crate::system::{self, Member};
use crate::{ContractError, ExecError, Overlay, StateReader, WriteSet};
use crate::{auth, coldchain, governance, licence, stats};

/// The chain-wide rules fixed by genesis (later: changed by governance).
#[derive(Clone, Debug)]
pub struct ChainRules {
    /// The chain id every transaction must name.
    pub chain_id: String,
    /// The chain's hash function.
    pub suite: HashSuite,
    /// Signature schemes accepted from senders.
    pub schemes: Vec<SignatureScheme>,
}

impl ChainRules {
    /// The rules a genesis sets.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        ChainRules {
            chain_id: genesis.chain_id.clone(),
            suite: genesis.hash_suite(),
            schemes: genesis.signature_schemes.clone(),
        }
    }

    /// Whether keys of `scheme` are accepted.
    pub fn accepts(&self, scheme: SignatureScheme) -> bool {
        self.schemes.contains(&scheme)
    }
}

/// What the block supplies to every call: its height and time. Never the wall clock.
#[derive(Clone, Copy, Debug)]
pub struct BlockContext {
    /// Height of the block being executed.
    pub height: u64,
    /// The block's timestamp (ms since the Unix epoch).
    pub timestamp_ms: u64,
}

/// What one call sees of its surroundings.
pub struct TxContext<'a> {
    /// Chain rules.
    pub rules: &'a ChainRules,
    /// The block.
    pub block: &'a BlockContext,
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Signature schemes accepted at this point of the chain.
    pub schemes: Vec<SignatureScheme>,
}

impl TxContext<'_> {
    /// Whether keys of `scheme` are accepted now.
    pub fn accepts(&self, scheme: SignatureScheme) -> bool {
        self.schemes.contains(&scheme)
    }
}

/// The result of executing a block.
#[derive(Debug)]
pub struct BlockOutcome {
    /// One receipt per transaction, in order.
    pub receipts: Vec<Receipt>,
    /// Every state and index write of the block; the node puts them in the state tree, whose
    /// root the header carries.
    pub writes: WriteSet,
}

/// Runs transactions through the contracts.
#[derive(Clone, Debug)]
pub struct Executor {
    rules: ChainRules,
}

type Checked<T> = Result<Result<T, ContractError>, ExecError>;

impl Executor {
    /// An executor for the chain `rules` describe.
    pub fn new(rules: ChainRules) -> Self {
        Executor { rules }
    }

    /// The chain rules.
    pub fn rules(&self) -> &ChainRules {
        &self.rules
    }

    /// The state writes that genesis creates.
    pub fn genesis_writes(genesis: &Genesis, base: &dyn StateReader) -> WriteSet {
        let mut overlay = Overlay::new(base);
        system::genesis_writes(genesis, &mut overlay);
        governance::genesis_writes(genesis, &mut overlay);
        coldchain::genesis_writes(&mut overlay);
        overlay.into_writes()
    }

    /// The signature schemes accepted now: as governance last set them, else as genesis did.
    pub fn accepted_schemes(
        &self,
        state: &dyn StateReader,
    ) -> Result<Vec<SignatureScheme>, ExecError> {
        let overlay = Overlay::new(state);
        Ok(governance::settings(&overlay)?
            .map(|s| s.signature_schemes)
            .unwrap_or_else(|| self.rules.schemes.clone()))
    }

    /// The checks a transaction must pass to enter the mempool for inclusion at `height`: the
    /// same ones execution makes before the call (chain, scheme, window, duplicate, sender,
    /// role), so admission and execution cannot disagree on committed state; then the call's
    /// stateless argument bounds ([`crate::check_bounds`]), so a transaction whose fields break
    /// a bound (a 45 KB memo where 4 KB is the limit) never enters a mempool, where it would
    /// only take room until execution refused it. The signature is checked by the caller.
    ///
    /// The call's bounds come after the prechecks so that an expired or duplicate transaction is
    /// refused as such: the block builder drops only those and includes other refusals (a
    /// refusal here is one execution would give too, so it ends in a receipt, as before).
    pub fn check_admission(
        &self,
        state: &dyn StateReader,
        tx: &SignedTransaction,
        height: u64,
    ) -> Checked<Member> {
        self.check_admission_hashed(state, tx, &tx.hash(self.rules.suite), height)
    }

    /// [`Executor::check_admission`] of a transaction whose hash the caller already computed
    /// (a node hashes each transaction once).
    pub fn check_admission_hashed(
        &self,
        state: &dyn StateReader,
        tx: &SignedTransaction,
        hash: &Hash,
        height: u64,
    ) -> Checked<Member> {
        debug_assert_eq!(*hash, tx.hash(self.rules.suite));
        let (member, _) = match self.precheck(&Overlay::new(state), tx, hash, height)? {
            Ok(passed) => passed,
            Err(e) => return Ok(Err(e)),
        };
        Ok(crate::check_bounds(&tx.tx.call).map(|()| member))
    }

    /// The checks before a call, on `state`: chain, scheme, window, duplicate, sender, role.
    /// Returns the sender's member record and the schemes accepted on `state` (read once here,
    /// for the call's context too).
    fn precheck(
        &self,
        state: &Overlay<'_>,
        signed: &SignedTransaction,
        hash: &Hash,
        height: u64,
    ) -> Checked<(Member, Vec<SignatureScheme>)> {
        let tx = &signed.tx;
        if tx.chain_id != self.rules.chain_id {
            return Ok(Err(ContractError::WrongChain {
                expected: self.rules.chain_id.clone(),
                found: tx.chain_id.clone(),
            }));
        }
        let schemes = self.accepted_schemes(state)?;
        if !schemes.contains(&tx.sender.scheme()) {
            return Ok(Err(ContractError::SchemeNotAccepted(
                tx.sender.scheme().to_string(),
            )));
        }
        if tx.valid_until_height < height {
            return Ok(Err(ContractError::Expired {
                valid_until: tx.valid_until_height,
                height,
            }));
        }
        if tx.valid_until_height - height > TX_VALIDITY_BLOCKS_MAX {
            return Ok(Err(ContractError::WindowTooFar {
                valid_until: tx.valid_until_height,
                height,
                max: TX_VALIDITY_BLOCKS_MAX,
            }));
        }
        if state.tx_committed(hash)? {
            return Ok(Err(ContractError::Duplicate(hash.to_hex())));
        }
        let Some(member) = system::find_member(state, self.rules.suite, &tx.sender)? else {
            return Ok(Err(ContractError::UnknownSender(tx.sender.to_string())));
        };
        let allowed = match &tx.call {
            Call::System(call) => system::role_allows(member.role, call),
            Call::Governance(_) => governance::is_governor(state, &member)?,
            Call::Trace(_) => coldchain::role_allows(member.role),
            Call::Licence(_) => licence::role_allows(member.role),
            Call::Auth(_) => auth::role_allows(member.role),
        };
        if !allowed {
            return Ok(Err(ContractError::RoleForbidden {
                role: format!("{:?}", member.role).to_lowercase(),
                org: member.org.to_string(),
                call: tx.call.name().to_string(),
            }));
        }
        Ok(Ok((member, schemes)))
    }

    /// Executes `txs` as block `block` on top of `state` whose commitment is `previous_root`.
    pub fn execute_block(
        &self,
        state: &dyn StateReader,
        block: &BlockContext,
        txs: &[SignedTransaction],
    ) -> Result<BlockOutcome, ExecError> {
        let hashes: Vec<Hash> = txs.iter().map(|tx| tx.hash(self.rules.suite)).collect();
        self.execute_block_hashed(state, block, txs, &hashes)
    }

    /// [`Executor::execute_block`] with the transactions' hashes already computed, one per
    /// transaction in the same order (a node hashes each transaction once).
    pub fn execute_block_hashed(
        &self,
        state: &dyn StateReader,
        block: &BlockContext,
        txs: &[SignedTransaction],
        tx_hashes: &[Hash],
    ) -> Result<BlockOutcome, ExecError> {
        assert_eq!(txs.len(), tx_hashes.len(), "one hash per transaction");
        debug_assert!(
            txs.iter()
                .zip(tx_hashes)
                .all(|(tx, hash)| tx.hash(self.rules.suite) == *hash)
        );
        let mut block_state = Overlay::new(state);
        let mut seen = HashSet::with_capacity(txs.len());
        let mut receipts = Vec::with_capacity(txs.len());
        for (index, (signed, &tx_hash)) in txs.iter().zip(tx_hashes).enumerate() {
            let outcome = if seen.insert(tx_hash) {
                self.execute_tx(&mut block_state, block, signed, tx_hash)?
            } else {
                Err(ContractError::Duplicate(tx_hash.to_hex()))
            };
            let code = match &outcome {
                Ok(()) => "ok",
                Err(e) => e.code(),
            };
            stats::count(
                &mut block_state,
                stats::metric::TX,
                block.timestamp_ms,
                &[signed.tx.call.name(), code],
            )?;
            let status = match outcome {
                Ok(()) => ReceiptStatus::Success,
                Err(e) => ReceiptStatus::Failure {
                    code: e.code().to_string(),
                    message: e.to_string(),
                },
            };
            let index = u32::try_from(index).expect("block_txs_max fits in u32");
            receipts.push(Receipt {
                tx_hash,
                height: block.height,
                index,
                status,
            });
        }
        Ok(BlockOutcome {
            receipts,
            writes: block_state.into_writes(),
        })
    }

    fn execute_tx(
        &self,
        block_state: &mut Overlay<'_>,
        block: &BlockContext,
        signed: &SignedTransaction,
        tx_hash: Hash,
    ) -> Checked<()> {
        let writes = {
            let mut tx_state = Overlay::new(&*block_state);
            // Nothing is written to `tx_state` before the call, so the schemes precheck read are
            // the call's.
            let (member, schemes) =
                match self.precheck(&tx_state, signed, &tx_hash, block.height)? {
                    Ok(passed) => passed,
                    Err(e) => return Ok(Err(e)),
                };
            let ctx = TxContext {
                rules: &self.rules,
                block,
                tx_hash,
                schemes,
            };
            let result = match &signed.tx.call {
                Call::System(call) => system::execute(&mut tx_state, &ctx, &member, call)?,
                Call::Governance(call) => governance::execute(&mut tx_state, &ctx, &member, call)?,
                Call::Trace(call) => coldchain::execute(&mut tx_state, &ctx, &member, call)?,
                Call::Licence(call) => licence::execute(&mut tx_state, &ctx, &member, call)?,
                Call::Auth(call) => auth::execute(&mut tx_state, &ctx, &member, call)?,
            };
            if let Err(e) = result {
                return Ok(Err(e));
            }
            tx_state.into_writes()
        };
        block_state.absorb(writes);
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests;
