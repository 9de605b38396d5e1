//! `mdo bundle`: a case's ciphertext on a USB stick — its membership ops and encrypted chunks,
//! nothing a stranger can read.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Subcommand;
use serde_json::json;

use super::{Out, open};

#[derive(Subcommand, Debug)]
pub(crate) enum BundleCmd {
    /// Write the case's ciphertext (ops and chunks) to a file.
    Export {
        /// Case.
        case: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Store the contents of a bundle (each entry verified; known ones skipped).
    Import {
        /// The bundle file.
        file: PathBuf,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: BundleCmd) -> Result<()> {
    match c {
        BundleCmd::Export { case, out: path } => {
            let mut s = open(dir)?;
            let id = s.resolve(&case)?;
            let (entries, bytes) = s.export_bundle(id, &path)?;
            out.print(
                json!({ "case": id, "entries": entries, "bytes": bytes, "file": path }),
                || {
                    format!(
                        "{entries} onderdelen ({bytes} bytes, alleen versleuteld) geschreven naar {}",
                        path.display()
                    )
                },
            );
            Ok(())
        }
        BundleCmd::Import { file } => {
            let mut s = open(dir)?;
            let r = s.import_bundle(&file)?;
            for f in &r.refused {
                eprintln!("mdo: warning: an entry of the bundle was refused: {f}");
            }
            out.print(
                json!({ "case": r.case, "new": r.new, "known": r.known, "refused": r.refused.len(), "key_ops": r.key_ops }),
                || {
                    format!(
                        "zaak {}: {} nieuw, {} al aanwezig, {} geweigerd",
                        r.case,
                        r.new,
                        r.known,
                        r.refused.len()
                    )
                },
            );
            Ok(())
        }
    }
}
