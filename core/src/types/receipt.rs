//! Receipts: the outcome of each executed transaction.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use crate::hash::domains;
use crate::{Hash, HashSuite, encoding::encode};

/// The outcome of one transaction in a block. A failed call changed no state.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction's hash.
    pub tx_hash: Hash,
    /// Height of the block that holds it.
    pub height: u64,
    /// Position in that block, from 0.
    pub index: u32,
    /// Success, or a stable error code with a message.
    pub status: ReceiptStatus,
}

/// Success or failure of a call.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum ReceiptStatus {
    /// The call took effect.
    Success,
    /// The call was refused; the code is stable across versions, the message is for people.
    Failure {
        /// Stable machine-readable code, e.g. `role_forbidden`.
        code: String,
        /// What was wrong, naming the offending value.
        message: String,
    },
}

impl std::fmt::Display for ReceiptStatus {
    /// `success`, or `refused (code): message`, for people and logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReceiptStatus::Success => f.write_str("success"),
            ReceiptStatus::Failure { code, message } => write!(f, "refused ({code}): {message}"),
        }
    }
}

impl Receipt {
    /// Leaf of the block's receipts root.
    pub fn hash(&self, suite: HashSuite) -> Hash {
        suite.digest_tagged(&domains::RECEIPT_HASH, &encode(self))
    }

    /// Whether the call took effect.
    pub fn is_success(&self) -> bool {
        matches!(self.status, ReceiptStatus::Success)
    }
}
