//! `mdo storage`: the storage peers of a case (nodes that store and forward its ciphertext and
//! read nothing).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::profile::members;

use super::{Out, edit};

#[derive(Subcommand, Debug)]
pub(crate) enum StorageCmd {
    /// Name a storage peer for the case (chair or co-chair): a node an organisation keeps online
    /// that stores and forwards the case's ciphertext and can read nothing; its operator accepts
    /// the case with `mdo settings set accept-case ID`.
    Add {
        /// Case.
        case: String,
        /// The storage node's identity (`mdo whoami` on it).
        #[arg(long)]
        identity: String,
        /// The organisation that runs it.
        #[arg(long)]
        org: String,
    },
    /// End a storage peer's role in the case.
    Remove {
        /// Case.
        case: String,
        /// Its device id.
        device: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: StorageCmd) -> Result<()> {
    match c {
        StorageCmd::Add {
            case,
            identity,
            org,
        } => {
            let identity = members::parse_identity(&identity)?;
            edit(dir, out, &case, |case, p| {
                members::add_storage_peer(case, p, identity, &org)
            })
        }
        StorageCmd::Remove { case, device } => {
            let d = members::parse_device(&device)?;
            edit(dir, out, &case, |case, p| {
                members::remove_storage_peer(case, p, d)?;
                Ok(device)
            })
        }
    }
}
