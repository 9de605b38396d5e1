//! `mdo meeting`: meetings (with parents, or professionals only), notes at the chair's six
//! steps, the verslag for one audience, tops and tips, presence.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::case::Feedback;
use mdo::profile::write::Write;

use super::{Out, Target, edit, today};

#[derive(Subcommand, Debug)]
pub(crate) enum MeetingCmd {
    /// Start a meeting.
    New {
        /// Case.
        case: String,
        /// Date YYYY-MM-DD (default today).
        #[arg(long)]
        date: Option<String>,
        /// Planned end, e.g. 16:00.
        #[arg(long, default_value = "")]
        end: String,
        /// Who the meeting is for: parents (with parents, the regular MDO) or professionals
        /// (professionals only: parents do not see it).
        #[arg(long)]
        audience: String,
    },
    /// Notes at one of the six steps.
    Step {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Step 1–6.
        step: usize,
        /// What was noted.
        #[arg(long)]
        note: String,
        /// For whom, if narrower than the meeting (e.g. organisation, medical); default: the
        /// meeting's own audience, or your role's narrower default (a jeugdarts: medical).
        #[arg(long)]
        audience: Option<String>,
    },
    /// Compose the verslag of a meeting for one audience and store it in that audience's
    /// compartment (it holds only what every reader of that audience may read).
    Verslag {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// parents (voor ouders en professionals), professionals, or organisation.
        #[arg(long)]
        audience: String,
    },
    /// A participant's top.
    Top {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        #[arg(long)]
        by: String,
        /// The top.
        #[arg(long)]
        text: String,
    },
    /// A participant's tip.
    Tip {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        #[arg(long)]
        by: String,
        /// The tip.
        #[arg(long)]
        text: String,
    },
    /// Mark a participant present.
    Present {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        participant: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: MeetingCmd) -> Result<()> {
    match c {
        MeetingCmd::New {
            case,
            date,
            end,
            audience,
        } => {
            let date = date.unwrap_or_else(today);
            super::write(
                dir,
                out,
                &case,
                Target::Audience(Some(&audience)),
                |_, _| {
                    Ok(Write::Meeting {
                        date,
                        end,
                        present: None,
                    })
                },
            )
        }
        MeetingCmd::Step {
            case,
            meeting,
            step,
            note,
            audience,
        } => super::write(
            dir,
            out,
            &case,
            Target::Audience(audience.as_deref()),
            |_, _| {
                Ok(Write::MeetingNote {
                    meeting,
                    step,
                    text: note,
                })
            },
        ),
        MeetingCmd::Verslag {
            case,
            meeting,
            audience,
        } => super::write(
            dir,
            out,
            &case,
            Target::Audience(Some(&audience)),
            |_, _| Ok(Write::Verslag { meeting }),
        ),
        MeetingCmd::Top {
            case,
            meeting,
            by,
            text,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_feedback(&meeting, Feedback::Top, &by, &text)?;
            Ok(meeting)
        }),
        MeetingCmd::Tip {
            case,
            meeting,
            by,
            text,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_feedback(&meeting, Feedback::Tip, &by, &text)?;
            Ok(meeting)
        }),
        MeetingCmd::Present {
            case,
            meeting,
            participant,
        } => edit(dir, out, &case, |case, _| {
            case.meeting_present(&meeting, &participant)?;
            Ok(meeting)
        }),
    }
}
