//! `mdo participant add`: someone on the case roster (an `AddMember` op and a roster entry).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::profile::members::{self, NewParticipant};

use super::{Out, edit};

#[derive(Subcommand, Debug)]
pub(crate) enum ParticipantCmd {
    /// Add someone to the case roster.
    Add {
        /// Case.
        case: String,
        /// Name.
        #[arg(long)]
        name: String,
        /// Role.
        #[arg(long)]
        role: String,
        /// Organisation.
        #[arg(long, default_value = "")]
        org: String,
        /// Holds gezag (parents).
        #[arg(long)]
        custody: bool,
        /// Co-chair: may add and remove participants.
        #[arg(long)]
        chair: bool,
        /// The participant's device identity (`mdo whoami` on their device prints it); the
        /// participant id is then derived from it, as their own device does.
        #[arg(long)]
        identity: Option<String>,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: ParticipantCmd) -> Result<()> {
    let ParticipantCmd::Add {
        case,
        name,
        role,
        org,
        custody,
        chair,
        identity,
    } = c;
    let role = role.parse()?;
    let identity = identity.map(|h| members::parse_identity(&h)).transpose()?;
    edit(dir, out, &case, |case, p| {
        members::add_participant(
            case,
            p,
            NewParticipant {
                name,
                role,
                organisation: org,
                custody,
                chair,
                identity,
            },
        )
    })
}
