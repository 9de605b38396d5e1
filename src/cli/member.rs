//! `mdo member`: participants as the membership log knows them — list, remove, devices,
//! confirm, custody, role. Each change is one op through the application layer
//! (`mdo::profile::members`).

use std::path::Path;

use anyhow::{Result, bail};
use clap::Subcommand;
use mdo::core::membership::MemberStatus;
use mdo::profile::{KEEP_NOTE, members};
use serde_json::json;

use super::{Out, edit, load, open};

#[derive(Subcommand, Debug)]
pub(crate) enum MemberCmd {
    /// List the participants with their id, role, rights and status.
    List {
        /// Case.
        case: String,
    },
    /// Remove a participant: their keys are rotated away, nothing new reaches them.
    Remove {
        /// Case.
        case: String,
        /// Participant id.
        member: String,
        /// Why (kept in the log).
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Add a device (a second laptop, a new phone) to a participant: by that participant from a
    /// device they already have, or by the chair. The new device gets the keys its participant
    /// may read at the next sync.
    DeviceAdd {
        /// Case.
        case: String,
        /// Participant id (default: yourself).
        #[arg(long)]
        member: Option<String>,
        /// The new device's public identity (`mdo whoami` on it).
        #[arg(long)]
        identity: String,
    },
    /// Remove one device (a lost or stolen laptop) and nothing else: keys rotate away from it,
    /// the participant's other devices keep working.
    DeviceRemove {
        /// Case.
        case: String,
        /// The device id (hex, as `mdo member list` shows it).
        device: String,
    },
    /// Confirm a participant added by a chair who was removed at the same time.
    Confirm {
        /// Case.
        case: String,
        /// Participant id.
        member: String,
    },
    /// Record the gezag (custody) of a parent or voogd: yes, no, or unknown (not yet checked in
    /// the gezagsregister: counts as no gezag for reading; their consent is still asked and
    /// nothing medical is released until it is checked).
    Custody {
        /// Case.
        case: String,
        /// Participant id.
        member: String,
        /// yes, no or unknown (ja, nee, onbekend).
        custody: String,
    },
    /// Change a participant's role, or make them co-chair (--chair).
    Role {
        /// Case.
        case: String,
        /// Participant id.
        member: String,
        /// New role.
        role: String,
        /// Co-chair.
        #[arg(long)]
        chair: bool,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: MemberCmd) -> Result<()> {
    match c {
        MemberCmd::List { case } => {
            let mut s = open(dir)?;
            let case = load(&mut s, &case)?;
            let list = case.members();
            out.print(json!(list), || {
                list.iter()
                    .map(|m| {
                        format!(
                            "{:<14} {:<20} {:<28} {}{}{} [{}] leest: {}",
                            m.member.id,
                            m.name,
                            format!("{} {}", m.member.role.id(), m.member.organisation),
                            if m.member.admin { "voorzitter " } else { "" },
                            if m.member.custody { "gezag " } else { "" },
                            match m.member.status {
                                MemberStatus::Active => "",
                                MemberStatus::Unconfirmed => "WACHT OP BEVESTIGING ",
                                MemberStatus::Removed => "VERWIJDERD ",
                            },
                            m.member.devices.len(),
                            m.reads.join(", ")
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        MemberCmd::Remove {
            case,
            member,
            reason,
        } => {
            edit(dir, out, &case, |case, p| {
                members::remove(case, p, &member, &reason)?;
                Ok(member)
            })?;
            eprintln!("mdo: {KEEP_NOTE}");
            Ok(())
        }
        MemberCmd::DeviceAdd {
            case,
            member,
            identity,
        } => {
            let device = members::parse_identity(&identity)?;
            edit(dir, out, &case, |case, p| {
                members::add_device(case, p, member, device)
            })
        }
        MemberCmd::DeviceRemove { case, device } => {
            let device = members::parse_device(&device)?;
            edit(dir, out, &case, |case, p| {
                members::remove_device(case, p, device)
            })?;
            eprintln!("mdo: {KEEP_NOTE}");
            Ok(())
        }
        MemberCmd::Confirm { case, member } => edit(dir, out, &case, |case, p| {
            members::confirm(case, p, &member)?;
            Ok(member)
        }),
        MemberCmd::Custody {
            case,
            member,
            custody,
        } => {
            let (custody, unknown) = match custody.as_str() {
                "yes" | "ja" | "true" => (true, false),
                "no" | "nee" | "false" => (false, false),
                "unknown" | "onbekend" => (false, true),
                other => bail!("gezag: kies ja, nee of onbekend, niet '{other}'"),
            };
            edit(dir, out, &case, |case, p| {
                members::set_custody(case, p, &member, custody, unknown)?;
                Ok(member)
            })
        }
        MemberCmd::Role {
            case,
            member,
            role,
            chair,
        } => {
            let role = role.parse()?;
            edit(dir, out, &case, |case, p| {
                members::set_role(case, p, &member, role, chair)?;
                Ok(member)
            })
        }
    }
}
