//! `mdo meeting`: meetings (with parents, or professionals only), notes at the chair's six
//! steps, the verslag for one audience, tops and tips, presence.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::case::Feedback;
use mdo::profile::traject;
use mdo::profile::write::{Plan, Write, parse_choice};

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
        /// Start time, e.g. 15:00.
        #[arg(long, default_value = "")]
        start: String,
        /// Where it is held.
        #[arg(long, default_value = "")]
        place: String,
        /// Invite a participant (id); repeat for more.
        #[arg(long = "invite")]
        invite: Vec<String>,
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
    /// Mark a participant present (or, with --absent, not present; with --input, absent with
    /// what they gave beforehand).
    Present {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Participant id.
        participant: String,
        /// Not present (a correction).
        #[arg(long)]
        absent: bool,
        /// Absent, with this input given beforehand.
        #[arg(long)]
        input: Option<String>,
    },
    /// Close a meeting (chair): its record is complete. --reopen opens it again.
    Close {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// Open it again.
        #[arg(long)]
        reopen: bool,
    },
    /// Set the verslag for one audience as final (chair).
    Vaststellen {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// The verslag's audience (parents, child, professionals, organisation).
        #[arg(long)]
        audience: String,
    },
    /// A parent's or the young person's view on the final verslag, and whether they agree.
    Zienswijze {
        /// Case.
        case: String,
        /// Meeting id.
        meeting: String,
        /// The verslag's audience (parents, child).
        #[arg(long)]
        audience: String,
        /// Whose view (participant id; default: you).
        #[arg(long)]
        person: Option<String>,
        /// ja, deels or nee.
        #[arg(long)]
        agrees: String,
        /// Their words.
        #[arg(long, default_value = "")]
        text: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: MeetingCmd) -> Result<()> {
    match c {
        MeetingCmd::New {
            case,
            date,
            end,
            start,
            place,
            invite,
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
                        plan: Plan {
                            start,
                            place,
                            invited: invite,
                        },
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
            absent,
            input,
        } => edit(dir, out, &case, |case, _| {
            match input {
                Some(i) => traject::absent_with_input(case, &meeting, &participant, &i)?,
                None => traject::presence(case, &meeting, &participant, !absent)?,
            }
            Ok(meeting)
        }),
        MeetingCmd::Close {
            case,
            meeting,
            reopen,
        } => edit(dir, out, &case, |case, _| {
            traject::close_meeting(case, &meeting, !reopen)?;
            Ok(meeting)
        }),
        MeetingCmd::Vaststellen {
            case,
            meeting,
            audience,
        } => edit(dir, out, &case, |case, p| {
            let kind = parse_choice(&audience)?;
            traject::vaststellen(case, p.me(), &meeting, &kind)?;
            Ok(meeting)
        }),
        MeetingCmd::Zienswijze {
            case,
            meeting,
            audience,
            person,
            agrees,
            text,
        } => edit(dir, out, &case, |case, p| {
            let kind = parse_choice(&audience)?;
            let person = person.unwrap_or_else(|| p.me().person.clone());
            traject::view(
                case,
                p.me(),
                &meeting,
                &kind,
                &person,
                agrees.parse()?,
                &text,
            )?;
            Ok(meeting)
        }),
    }
}
