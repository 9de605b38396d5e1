//! `mdo item`: items in sections — circles, questions, the needs chain, notes — each written
//! for an audience (`--audience`, `--category`, or the writer's default, named in the output).

use std::path::Path;

use anyhow::{Result, bail};
use clap::Subcommand;
use mdo::core::case::CompartmentKind;
use mdo::core::model::{Audience, ConsentCategory, Section};
use mdo::profile::KEEP_NOTE;
use mdo::profile::write::Write;

use super::{AudienceArg, Out, Target, edit};

#[derive(Subcommand, Debug)]
pub(crate) enum ItemCmd {
    /// Add an item.
    Add {
        /// Case.
        case: String,
        /// Section, e.g. kind.plus, school.min, thuis.vraag, kind.doel, vragen, behoeften.kind.
        #[arg(long)]
        section: String,
        /// Text.
        #[arg(long)]
        text: String,
        /// The item this one follows from in the needs chain.
        #[arg(long)]
        parent: Option<String>,
        /// Whose item it is, if not yours (participant id; e.g. a parent's question).
        #[arg(long)]
        by: Option<String>,
        #[command(flatten)]
        audience: AudienceArg,
        /// Consent category (medisch, ggz, gezinssituatie, verzuim, onderzoek): the item goes to
        /// your organisation's compartment for it, readable beyond it only under consent.
        #[arg(long)]
        category: Option<String>,
        /// In the safety track (--audience safety:ORG): why the parents do not read it.
        #[arg(long)]
        withhold_reason: Option<String>,
        /// In the safety track: when keeping it from the parents is reviewed (YYYY-MM-DD,
        /// within a year).
        #[arg(long)]
        review: Option<String>,
    },
    /// Replace an item's text.
    Edit {
        /// Case.
        case: String,
        /// Item id.
        item: String,
        /// New text.
        #[arg(long)]
        text: String,
    },
    /// Move an item within its section (--order), or to another audience (--audience,
    /// --category).
    Move {
        /// Case.
        case: String,
        /// Item id.
        item: String,
        /// New position key: items sort by it (new items get their creation time in seconds).
        #[arg(long)]
        order: Option<f64>,
        /// New audience.
        #[arg(long)]
        audience: Option<String>,
        /// New consent category.
        #[arg(long)]
        category: Option<String>,
    },
    /// Remove an item.
    Remove {
        /// Case.
        case: String,
        /// Item id.
        item: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: ItemCmd) -> Result<()> {
    match c {
        ItemCmd::Add {
            case,
            section,
            text,
            parent,
            by,
            audience: a,
            category,
            withhold_reason,
            review,
        } => {
            let section = Section::parse(&section)?;
            let category = category.map(|c| c.parse::<ConsentCategory>()).transpose()?;
            if category.is_some() && a.audience.is_some() {
                bail!("give --audience or --category, not both");
            }
            let withhold = match (withhold_reason, review) {
                (None, None) => None,
                (r, d) => Some(mdo::profile::write::Withhold {
                    reason: r.unwrap_or_default(),
                    review: d.unwrap_or_default(),
                }),
            };
            let w = Write::Item {
                section,
                text,
                parent,
                by,
                withhold,
            };
            let target = match category {
                Some(c) => Target::Category(c),
                None => Target::Audience(a.audience.as_deref()),
            };
            super::write(dir, out, &case, target, |_, _| Ok(w))
        }
        ItemCmd::Edit { case, item, text } => edit(dir, out, &case, |case, _| {
            case.edit_item(&item, &text)?;
            Ok(item)
        }),
        ItemCmd::Move {
            case,
            item,
            order,
            audience,
            category,
        } => {
            if order.is_none() && audience.is_none() && category.is_none() {
                bail!("say where to: --order N, --audience AUDIENCE or --category CATEGORY");
            }
            let audience = audience.map(|a| a.parse::<Audience>()).transpose()?;
            let category = category.map(|c| c.parse::<ConsentCategory>()).transpose()?;
            let moved = audience.is_some() || category.is_some();
            edit(dir, out, &case, |case, p| {
                if let Some(o) = order {
                    case.reorder_item(&item, o)?;
                }
                let target = match (category, audience) {
                    (Some(c), _) => Some(CompartmentKind::for_category(c, p.me())),
                    (None, Some(a)) => Some(CompartmentKind::for_audience(a, p.me())),
                    _ => None,
                };
                if let Some(t) = target {
                    case.move_item(&item, t)?;
                }
                Ok(item)
            })?;
            if moved {
                eprintln!("mdo: {KEEP_NOTE}");
            }
            Ok(())
        }
        ItemCmd::Remove { case, item } => edit(dir, out, &case, |case, _| {
            case.remove_item(&item)?;
            Ok(item)
        }),
    }
}
