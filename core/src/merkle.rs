//! Merkle trees as in RFC 6962 section 2.1 (and RFC 9162): leaves hashed with a `0x00` prefix,
//! inner nodes with `0x01`, so no leaf can pose as an inner node; an unbalanced tree splits at the
//! largest power of two below its size. Inclusion proofs are audit paths that the SDK can check
//! against a block header without a node.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::{Error, Hash, HashSuite, Result};

const LEAF_PREFIX: u8 = 0x00;
const NODE_PREFIX: u8 = 0x01;

/// The hash of one leaf.
pub fn leaf_hash(suite: HashSuite, data: &[u8]) -> Hash {
    suite.digest_parts(&[&[LEAF_PREFIX], data])
}

fn node_hash(suite: HashSuite, left: &Hash, right: &Hash) -> Hash {
    suite.digest_parts(&[&[NODE_PREFIX], left.as_bytes(), right.as_bytes()])
}

/// The root over leaf data (each item hashed as a leaf). The empty tree's root is the hash of the
/// empty string.
pub fn root<T: AsRef<[u8]>>(suite: HashSuite, leaves: &[T]) -> Hash {
    let hashes: Vec<Hash> = leaves
        .iter()
        .map(|l| leaf_hash(suite, l.as_ref()))
        .collect();
    root_of_leaf_hashes(suite, &hashes)
}

/// The root over already-computed leaf hashes.
pub fn root_of_leaf_hashes(suite: HashSuite, leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes.len() {
        0 => suite.digest(&[]),
        1 => leaf_hashes[0],
        n => {
            let k = split_point(n);
            let left = root_of_leaf_hashes(suite, &leaf_hashes[..k]);
            let right = root_of_leaf_hashes(suite, &leaf_hashes[k..]);
            node_hash(suite, &left, &right)
        }
    }
}

/// The largest power of two strictly below `n` (for `n >= 2`).
fn split_point(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// An inclusion proof: the leaf's index, the tree size, and the sibling hashes from the leaf up.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct InclusionProof {
    /// Index of the leaf, from 0.
    pub leaf_index: u64,
    /// Number of leaves in the tree.
    pub tree_size: u64,
    /// Audit path, from the leaf's sibling to the root's child.
    pub path: Vec<Hash>,
}

/// Builds the proof that leaf `index` is in the tree over `leaf_hashes`.
pub fn prove(suite: HashSuite, leaf_hashes: &[Hash], index: usize) -> Result<InclusionProof> {
    if index >= leaf_hashes.len() {
        return Err(Error::InvalidProof(format!(
            "leaf {index} is outside a tree of {} leaves",
            leaf_hashes.len()
        )));
    }
    let mut path = Vec::new();
    audit_path(suite, leaf_hashes, index, &mut path);
    Ok(InclusionProof {
        leaf_index: index as u64,
        tree_size: leaf_hashes.len() as u64,
        path,
    })
}

fn audit_path(suite: HashSuite, leaves: &[Hash], index: usize, path: &mut Vec<Hash>) {
    if leaves.len() <= 1 {
        return;
    }
    let k = split_point(leaves.len());
    if index < k {
        audit_path(suite, &leaves[..k], index, path);
        path.push(root_of_leaf_hashes(suite, &leaves[k..]));
    } else {
        audit_path(suite, &leaves[k..], index - k, path);
        path.push(root_of_leaf_hashes(suite, &leaves[..k]));
    }
}

impl InclusionProof {
    /// Checks that `leaf` (a leaf hash) leads to `root` along this path (RFC 9162 section
    /// 2.1.3.2).
    pub fn verify(&self, suite: HashSuite, leaf: &Hash, root: &Hash) -> Result<()> {
        if self.leaf_index >= self.tree_size {
            return Err(Error::InvalidProof(format!(
                "leaf index {} is not below tree size {}",
                self.leaf_index, self.tree_size
            )));
        }
        let (mut index, mut last) = (self.leaf_index, self.tree_size - 1);
        let mut hash = *leaf;
        for sibling in &self.path {
            if last == 0 {
                return Err(Error::InvalidProof(
                    "path is longer than the tree is deep".to_string(),
                ));
            }
            if index & 1 == 1 || index == last {
                hash = node_hash(suite, sibling, &hash);
                while index & 1 == 0 && index != 0 {
                    index >>= 1;
                    last >>= 1;
                }
            } else {
                hash = node_hash(suite, &hash, sibling);
            }
            index >>= 1;
            last >>= 1;
        }
        if last != 0 {
            return Err(Error::InvalidProof(
                "path is shorter than the tree is deep".to_string(),
            ));
        }
        if hash != *root {
            return Err(Error::InvalidProof(
                "path does not lead to the root".to_string(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(HashSuite::Sm3, &(i as u64).to_le_bytes()))
            .collect()
    }

    #[test]
    fn small_trees_match_the_rfc_definition() {
        let suite = HashSuite::Blake3;
        let l = leaves(3);
        let expected = node_hash(suite, &node_hash(suite, &l[0], &l[1]), &l[2]);
        assert_eq!(root_of_leaf_hashes(suite, &l), expected);
        assert_eq!(root_of_leaf_hashes(suite, &l[..1]), l[0]);
        assert_eq!(root::<&[u8]>(suite, &[]), suite.digest(&[]));
    }

    #[test]
    fn leaf_and_node_prefixes_differ() {
        // A leaf whose data is the concatenation of two hashes must not equal their inner node.
        let l = leaves(2);
        let concatenated = [l[0].0, l[1].0].concat();
        assert_ne!(
            leaf_hash(HashSuite::Sm3, &concatenated),
            node_hash(HashSuite::Sm3, &l[0], &l[1])
        );
    }

    #[test]
    fn proof_for_out_of_range_leaf_is_refused() {
        assert!(prove(HashSuite::Sm3, &leaves(4), 4).is_err());
    }

    proptest! {
        #[test]
        fn every_leaf_proves_and_altered_ones_fail(n in 1usize..80, flip in any::<u8>()) {
            let suite = HashSuite::Sm3;
            let l = leaves(n);
            let root = root_of_leaf_hashes(suite, &l);
            for (i, leaf) in l.iter().enumerate() {
                let proof = prove(suite, &l, i).unwrap();
                prop_assert!(proof.verify(suite, leaf, &root).is_ok());
                let mut altered = *leaf;
                altered.0[usize::from(flip) % 32] ^= 1 | flip;
                prop_assert!(proof.verify(suite, &altered, &root).is_err());
                if n > 1 {
                    let mut wrong_index = proof.clone();
                    wrong_index.leaf_index = (proof.leaf_index + 1) % n as u64;
                    prop_assert!(wrong_index.verify(suite, leaf, &root).is_err());
                    let mut short = proof.clone();
                    short.path.pop();
                    prop_assert!(short.verify(suite, leaf, &root).is_err());
                }
            }
        }
    }
}
