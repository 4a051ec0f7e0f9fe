//! Verifying the signatures of many transactions at once, as a node does with a block: SM2
//! signatures one by one across all cores, Ed25519 signatures in batches across all cores.
//!
//! The outcome is exactly that of checking each signature alone, so it does not depend on which
//! transactions a node had already checked: a batch passes only if every signature in it would
//! pass alone (see `crypto::ed25519` on why the equation is the cofactored one), and a failing
//! batch is checked one by one to name the culprit.

use rayon::prelude::*;

use crate::Error;
use crate::crypto::{PublicKey, ed25519};
use crate::types::SignedTransaction;

/// How many Ed25519 signatures are verified as one batch. Batches gain little above 64 (the
/// per-signature cost falls from about 39 to 22 microseconds at 64 on our machines), while
/// smaller batches spread over the cores and cost less to re-check when one fails.
pub const ED25519_BATCH: usize = 64;

/// A transaction whose signature did not verify: its position in the input and why.
#[derive(Debug)]
pub struct Rejected {
    /// Index into the slice given to [`verify_signatures`].
    pub index: usize,
    /// What was wrong.
    pub error: Error,
}

/// Verifies every transaction's form and signature. On failure, names the first failing
/// transaction in input order, the same one whatever the number of cores.
pub fn verify_signatures(txs: &[&SignedTransaction]) -> Result<(), Rejected> {
    let mut singles = Vec::new();
    let mut batchable = Vec::new();
    for (index, tx) in txs.iter().enumerate() {
        match &tx.tx.sender {
            PublicKey::Ed25519(_) if ed25519::check_encodings(&tx.signature).is_ok() => {
                batchable.push(index)
            }
            _ => singles.push(index),
        }
    }
    let single_failure = singles
        .par_iter()
        .filter_map(|&index| check_one(txs, index).err())
        .min_by_key(|rejected| rejected.index);
    let batch_failure = batchable
        .par_chunks(ED25519_BATCH)
        .filter_map(|chunk| check_ed25519_batch(txs, chunk).err())
        .min_by_key(|rejected| rejected.index);
    match (single_failure, batch_failure) {
        (Some(a), Some(b)) => Err(if a.index < b.index { a } else { b }),
        (Some(failure), None) | (None, Some(failure)) => Err(failure),
        (None, None) => Ok(()),
    }
}

fn check_one(txs: &[&SignedTransaction], index: usize) -> Result<(), Rejected> {
    txs[index]
        .verify_signature()
        .map_err(|error| Rejected { index, error })
}

/// One batch call; when it fails (or a transaction's form is wrong), each signature is checked
/// alone and the first failure is reported.
fn check_ed25519_batch(txs: &[&SignedTransaction], chunk: &[usize]) -> Result<(), Rejected> {
    if ed25519_batch_passes(txs, chunk) {
        Ok(())
    } else {
        check_each(txs, chunk)
    }
}

/// Whether one batch call accepts every signature of `chunk`: then each would pass alone. False
/// also when one of them is not an Ed25519 transaction of the right form (the caller then
/// checks each alone).
fn ed25519_batch_passes(txs: &[&SignedTransaction], chunk: &[usize]) -> bool {
    let mut messages = Vec::with_capacity(chunk.len());
    let mut signatures = Vec::with_capacity(chunk.len());
    let mut keys = Vec::with_capacity(chunk.len());
    let mut senders = Vec::with_capacity(chunk.len());
    for &index in chunk {
        let tx = txs[index];
        let PublicKey::Ed25519(key) = &tx.tx.sender else {
            return false;
        };
        if tx.check_form().is_err() {
            return false;
        }
        messages.push(tx.tx.signing_bytes());
        signatures.push(ed25519_dalek::Signature::from_bytes(&tx.signature.0));
        keys.push(*key.dalek());
        senders.push(key);
    }
    let messages: Vec<&[u8]> = messages.iter().map(Vec::as_slice).collect();
    let passes = ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok();
    if passes {
        senders.iter().for_each(|key| key.mark_proven());
    }
    passes
}

/// Verifies each transaction's form and signature on the calling thread, Ed25519 ones in
/// batches of [`ED25519_BATCH`] (a failing batch is checked one by one), and returns one verdict
/// per transaction, each exactly what checking it alone gives. For admission of a gossiped batch,
/// which runs on threads of its own and must not queue behind block checks on rayon's pool.
pub fn verify_each(txs: &[&SignedTransaction]) -> Vec<Result<(), Error>> {
    let mut verdicts: Vec<Option<Result<(), Error>>> = txs.iter().map(|_| None).collect();
    let batchable: Vec<usize> = (0..txs.len())
        .filter(|&index| {
            matches!(txs[index].tx.sender, PublicKey::Ed25519(_))
                && ed25519::check_encodings(&txs[index].signature).is_ok()
        })
        .collect();
    for chunk in batchable.chunks(ED25519_BATCH) {
        if chunk.len() > 1 && ed25519_batch_passes(txs, chunk) {
            for &index in chunk {
                verdicts[index] = Some(Ok(()));
            }
        }
    }
    verdicts
        .into_iter()
        .zip(txs)
        .map(|(verdict, tx)| verdict.unwrap_or_else(|| tx.verify_signature()))
        .collect()
}

fn check_each(txs: &[&SignedTransaction], chunk: &[usize]) -> Result<(), Rejected> {
    chunk.iter().try_for_each(|&index| check_one(txs, index))
}

#[cfg(test)]
mod tests;
