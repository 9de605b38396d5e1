//! `mdo agreement`: agreements — wie, wat, waarom, wanneer, hoe — written for an audience.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::case::NewAgreement;
use mdo::profile::write::Write;

use super::{AudienceArg, Out, Target, edit};

#[derive(Subcommand, Debug)]
pub(crate) enum AgreementCmd {
    /// Add an agreement.
    Add {
        /// Case.
        case: String,
        /// Who.
        #[arg(long)]
        wie: String,
        /// What.
        #[arg(long)]
        wat: String,
        /// Why.
        #[arg(long, default_value = "")]
        waarom: String,
        /// When.
        #[arg(long, default_value = "")]
        wanneer: String,
        /// How.
        #[arg(long, default_value = "")]
        hoe: String,
        /// Responsible participant (default: wie).
        #[arg(long, default_value = "")]
        owner: String,
        /// Due date YYYY-MM-DD.
        #[arg(long, default_value = "")]
        due: String,
        /// Evaluation date YYYY-MM-DD.
        #[arg(long, default_value = "")]
        evaluation: String,
        /// The goal it serves (item id).
        #[arg(long, default_value = "")]
        goal: String,
        /// One of the school's obligations in the arrangement.
        #[arg(long)]
        obligation: bool,
        /// The meeting where it is agreed (id).
        #[arg(long, default_value = "")]
        meeting: String,
        #[command(flatten)]
        audience: AudienceArg,
    },
    /// Change one field: wie, wat, waarom, wanneer, hoe, owner, due, status, evaluation.
    Edit {
        /// Case.
        case: String,
        /// Agreement id.
        agreement: String,
        /// Field.
        #[arg(long)]
        field: String,
        /// New value.
        #[arg(long)]
        value: String,
    },
    /// Set the status (open, gedaan, vervallen) with a note; back to open undoes.
    Status {
        /// Case.
        case: String,
        /// Agreement id.
        agreement: String,
        /// open, gedaan or vervallen.
        status: String,
        /// Why (required for vervallen).
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Remove an agreement.
    Remove {
        /// Case.
        case: String,
        /// Agreement id.
        agreement: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: AgreementCmd) -> Result<()> {
    match c {
        AgreementCmd::Add {
            case,
            wie,
            wat,
            waarom,
            wanneer,
            hoe,
            owner,
            due,
            evaluation,
            goal,
            obligation,
            meeting,
            audience: a,
        } => super::write(
            dir,
            out,
            &case,
            Target::Audience(a.audience.as_deref()),
            |_, _| {
                Ok(Write::Agreement(NewAgreement {
                    wie,
                    wat,
                    waarom,
                    wanneer,
                    hoe,
                    owner,
                    due,
                    evaluation,
                    goal,
                    obligation,
                    meeting,
                }))
            },
        ),
        AgreementCmd::Edit {
            case,
            agreement,
            field,
            value,
        } => edit(dir, out, &case, |case, _| {
            case.edit_agreement(&agreement, &field, &value)?;
            Ok(agreement)
        }),
        AgreementCmd::Status {
            case,
            agreement,
            status,
            note,
        } => edit(dir, out, &case, |case, _| {
            mdo::profile::traject::agreement_status(case, &agreement, status.parse()?, &note)?;
            Ok(agreement)
        }),
        AgreementCmd::Remove { case, agreement } => edit(dir, out, &case, |case, _| {
            case.remove_agreement(&agreement)?;
            Ok(agreement)
        }),
    }
}
