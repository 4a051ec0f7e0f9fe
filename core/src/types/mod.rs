//! Transactions, blocks and receipts: the records the chain is made of.

mod block;
mod call;
mod gov;
mod receipt;
mod tx;

pub use block::{Block, BlockHeader};
pub use call::{Call, GovCall, GovChange, MemberRole, OrgRole, SystemCall};
pub use gov::{NodeRecord, Proposal, Settings};
pub use receipt::{Receipt, ReceiptStatus};
pub use tx::{SignedTransaction, Transaction};
