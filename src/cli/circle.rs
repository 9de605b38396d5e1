//! `mdo circle`: circles beyond kind, school and thuis, and arrows between circles (written
//! for an audience).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::model::Direction;
use mdo::profile::write::Write;

use super::{AudienceArg, Out, Target, edit};

#[derive(Subcommand, Debug)]
pub(crate) enum CircleCmd {
    /// Add a circle beyond kind, school and thuis.
    Add {
        /// Case.
        case: String,
        /// Name (lowercase, e.g. vrije-tijd).
        name: String,
    },
    /// Add an arrow between two circles.
    Arrow {
        /// Case.
        case: String,
        /// From circle.
        #[arg(long)]
        from: String,
        /// To circle.
        #[arg(long)]
        to: String,
        /// What happens.
        #[arg(long)]
        text: String,
        /// omhoog or omlaag.
        #[arg(long, default_value = "omlaag")]
        direction: String,
        #[command(flatten)]
        audience: AudienceArg,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: CircleCmd) -> Result<()> {
    match c {
        CircleCmd::Add { case, name } => edit(dir, out, &case, |case, _| {
            case.add_circle(&name)?;
            Ok(name)
        }),
        CircleCmd::Arrow {
            case,
            from,
            to,
            text,
            direction,
            audience: a,
        } => {
            let direction: Direction = direction.parse()?;
            super::write(
                dir,
                out,
                &case,
                Target::Audience(a.audience.as_deref()),
                |_, _| {
                    Ok(Write::Arrow {
                        from,
                        to,
                        text,
                        direction,
                    })
                },
            )
        }
    }
}
