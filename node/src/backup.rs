//! Backups that cannot break Raft: a consistent RocksDB checkpoint of a running node, and a
//! restore that brings back blocks and state but never Raft's vote, term or log.
//!
//! Restoring Raft's own state from a backup would take the node back in time: it could vote a
//! second time in a term it already voted in, or forget entries it acknowledged and a quorum
//! counted on. So a restore keeps what is the chain's (blocks, receipts, state, indexes) and drops
//! what is the member's (hard state, log, conf state, applied index): the node starts as a
//! replica whose leader fills its log again, recognising every block it already holds.

use std::path::{Path, PathBuf};

use crate::storage::{Head, Storage};
use crate::{Config, Error, Result};

/// What a backup holds.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct BackupInfo {
    /// Where it is.
    pub dir: PathBuf,
    /// The chain it belongs to.
    pub chain_id: String,
    /// The height it was taken at.
    pub height: u64,
}

/// Reads what a backup (or any store) directory holds, without changing it.
pub fn inspect(dir: &Path) -> Result<(BackupInfo, xinlian_core::genesis::Genesis, Head)> {
    let storage = Storage::open_read_only(dir).map_err(|e| {
        Error::Backup(format!(
            "{} is not a node store or backup: {e}",
            dir.display()
        ))
    })?;
    let (Some(genesis), Some(head)) = (storage.genesis()?, storage.head()?) else {
        return Err(Error::Backup(format!(
            "{} holds no chain (no genesis or head)",
            dir.display()
        )));
    };
    let info = BackupInfo {
        dir: dir.to_path_buf(),
        chain_id: genesis.chain_id.clone(),
        height: head.height,
    };
    Ok((info, genesis, head))
}

/// Takes a consistent checkpoint of the running node's store into `dir`, an absolute path
/// that does not exist yet (on the same file system as the data directory, files are hard
/// links and the backup takes no extra space until the store moves on).
pub fn take(storage: &Storage, dir: &Path) -> Result<BackupInfo> {
    if !dir.is_absolute() {
        return Err(Error::Backup(format!(
            "the backup directory must be an absolute path, got {}",
            dir.display()
        )));
    }
    if dir.exists() {
        return Err(Error::Backup(format!(
            "{} exists already; name a new directory for each backup",
            dir.display()
        )));
    }
    // RocksDB makes the checkpoint directory itself but not its parents (`backups/<name>` in a
    // fresh place is the usual request).
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| Error::Backup(format!("creating {}: {e}", parent.display())))?;
    }
    storage
        .checkpoint(dir)
        .map_err(|e| Error::Backup(format!("checkpoint into {}: {e}", dir.display())))?;
    Ok(inspect(dir)?.0)
}

/// Restores the store of the node configured by `config` from the backup in `from`: checks the
/// backup is of this chain, moves an existing data directory aside (only with `replace`), copies
/// the backup in and forgets Raft's state. The node must be stopped.
pub fn restore(
    config: &Config,
    genesis_hash: xinlian_core::Hash,
    from: &Path,
    replace: bool,
) -> Result<BackupInfo> {
    let (info, genesis, _) = inspect(from)?;
    if genesis.hash() != genesis_hash {
        return Err(Error::Backup(format!(
            "{} is a backup of chain {:?} (genesis {}), not of this node's chain (genesis {genesis_hash})",
            from.display(),
            genesis.chain_id,
            genesis.hash()
        )));
    }
    let data_dir = &config.data_dir;
    let occupied = std::fs::read_dir(data_dir).is_ok_and(|mut entries| entries.next().is_some());
    if occupied {
        // A running node holds the store's lock: opening it fails.
        if let Err(e) = Storage::open(data_dir, 8 << 20) {
            return Err(Error::Backup(format!(
                "cannot open {} ({e}); stop the node before restoring",
                data_dir.display()
            )));
        }
        if !replace {
            return Err(Error::Backup(format!(
                "{} holds a store already; pass --replace to move it aside and restore",
                data_dir.display()
            )));
        }
        let aside = data_dir.with_extension(format!("before-restore-{}", crate::now_ms()));
        std::fs::rename(data_dir, &aside)?;
        tracing::info!(target: "xinlian.node", from = %data_dir.display(), to = %aside.display(), "moved the old store aside");
    }
    std::fs::create_dir_all(data_dir)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), data_dir.join(entry.file_name()))?;
        }
    }
    let storage = Storage::open(data_dir, 8 << 20)?;
    storage.forget_consensus_state()?;
    Ok(BackupInfo {
        dir: data_dir.clone(),
        ..info
    })
}
