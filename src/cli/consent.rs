//! `mdo consent`: consent records and legal bases — grant, legal, withdraw, list — through the
//! application layer (`mdo::profile::consent`).

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::access::{self, ConsentState};
use mdo::core::membership::Basis;
use mdo::core::model::{ConsentCategory, ConsentHow, LegalGround};
use mdo::profile::{KEEP_NOTE, consent};
use serde_json::{Value, json};

use super::{Out, edit, list, load, open};

#[derive(Subcommand, Debug)]
pub(crate) enum ConsentCmd {
    /// Record a consent to share information categories with recipients.
    Grant {
        /// Case.
        case: String,
        /// Who consented: participant ids, comma-separated (each parent with gezag; the child
        /// from 12; the young person alone from 16).
        #[arg(long)]
        by: String,
        /// Categories, comma-separated: medisch, ggz, gezinssituatie, verzuim, onderzoek, dossier.
        #[arg(long)]
        category: String,
        /// Recipients, comma-separated: participant id, role (or role:ROLE), organisation (or
        /// org:NAME).
        #[arg(long)]
        to: String,
        /// The source: the organisation(s) whose information it opens, comma-separated (e.g.
        /// "GGD JGZ"); required for every category but dossier.
        #[arg(long, default_value = "")]
        source: String,
        /// Last valid day, YYYY-MM-DD.
        #[arg(long)]
        until: String,
        /// First valid day (default today).
        #[arg(long)]
        from: Option<String>,
        /// written, oral or digital.
        #[arg(long, default_value = "written")]
        how: String,
        /// Purpose.
        #[arg(long, default_value = "")]
        purpose: String,
    },
    /// Record sharing without consent on a legal basis (with its reasoning).
    Legal {
        /// Case.
        case: String,
        /// meldrecht, legal-duty, conflict-of-duties or child-protection.
        #[arg(long)]
        ground: String,
        /// Categories, comma-separated.
        #[arg(long)]
        category: String,
        /// Recipients, comma-separated.
        #[arg(long)]
        to: String,
        /// The source: the organisation(s) whose information it opens, comma-separated.
        #[arg(long, default_value = "")]
        source: String,
        /// Last valid day.
        #[arg(long)]
        until: String,
        /// First valid day (default today).
        #[arg(long)]
        from: Option<String>,
        /// Why, written down.
        #[arg(long)]
        reasoning: String,
        /// Who decided (participant id; default you).
        #[arg(long)]
        decided_by: Option<String>,
    },
    /// Withdraw a consent (from now on; what was shared stays with its recipients).
    Withdraw {
        /// Case.
        case: String,
        /// Consent record id.
        consent: String,
        /// Who withdraws (participant id; default you).
        #[arg(long)]
        by: Option<String>,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List consent records and legal bases with their status today.
    List {
        /// Case.
        case: String,
    },
}

fn categories(s: &str) -> Result<Vec<ConsentCategory>> {
    list(s, |c| Ok(c.parse::<ConsentCategory>()?))
}

fn grant_of(
    category: &str,
    to: &str,
    source: &str,
    from: Option<String>,
    until: String,
    purpose: String,
) -> Result<consent::Grant> {
    Ok(consent::Grant {
        categories: categories(category)?,
        recipients: list(to, |r| Ok(r.to_string()))?,
        sources: list(source, |s| Ok(s.to_string()))?,
        from,
        until,
        purpose,
    })
}

pub(crate) fn run(dir: &Path, out: &Out, c: ConsentCmd) -> Result<()> {
    match c {
        ConsentCmd::Grant {
            case,
            by,
            category,
            to,
            source,
            until,
            from,
            how,
            purpose,
        } => {
            let how: ConsentHow = how.parse()?;
            let g = grant_of(&category, &to, &source, from, until, purpose)?;
            let consenters = list(&by, |x| Ok(x.to_string()))?;
            edit(dir, out, &case, |case, p| {
                let (id, status) = consent::grant(case, p, consenters, how, g)?;
                if let Some(status) = status.filter(|s| s.state != ConsentState::Active) {
                    eprintln!(
                        "mdo: let op: deze toestemming is {}; nog nodig: {}",
                        status.state.label(),
                        status.missing.join(", ")
                    );
                }
                Ok(id)
            })
        }
        ConsentCmd::Legal {
            case,
            ground,
            category,
            to,
            source,
            until,
            from,
            reasoning,
            decided_by,
        } => {
            let ground: LegalGround = ground.parse()?;
            let g = grant_of(&category, &to, &source, from, until, String::new())?;
            edit(dir, out, &case, |case, p| {
                consent::legal(case, p, ground, &reasoning, decided_by, g)
            })
        }
        ConsentCmd::Withdraw {
            case,
            consent: id,
            by,
            note,
        } => {
            edit(dir, out, &case, |case, p| {
                consent::withdraw(case, p, &id, by.as_deref(), &note)?;
                Ok(id)
            })?;
            eprintln!("mdo: {KEEP_NOTE}");
            Ok(())
        }
        ConsentCmd::List { case } => {
            let mut s = open(dir)?;
            let case = load(&mut s, &case)?;
            let st = case.state();
            let rows: Vec<Value> = st
                .consents
                .values()
                .map(|r| {
                    let status = access::consent_status(st, r, case.today());
                    json!({ "record": r, "status": status })
                })
                .collect();
            out.print(Value::Array(rows), || {
                st.consents
                    .values()
                    .map(|r| {
                        let s = access::consent_status(st, r, case.today());
                        let basis = match &r.spec.basis {
                            Basis::Consent { consenters, how } => {
                                format!(
                                    "toestemming van {} ({})",
                                    consenters.join(", "),
                                    how.label()
                                )
                            }
                            Basis::Legal {
                                ground, decided_by, ..
                            } => {
                                format!("{} (besloten door {decided_by})", ground.label())
                            }
                        };
                        format!(
                            "{} {}: {}{} → {} van {} t/m {}; {}{}{}",
                            r.spec.id,
                            s.state.label(),
                            r.spec
                                .categories
                                .iter()
                                .map(|c| c.id())
                                .collect::<Vec<_>>()
                                .join(","),
                            if r.spec.sources.is_empty() {
                                String::new()
                            } else {
                                format!(" (bron: {})", r.spec.sources.join(", "))
                            },
                            r.spec
                                .recipients
                                .iter()
                                .map(|c| c.describe())
                                .collect::<Vec<_>>()
                                .join(","),
                            r.spec.from,
                            r.spec.until,
                            basis,
                            if s.missing.is_empty() {
                                String::new()
                            } else {
                                format!("; nog nodig: {}", s.missing.join(", "))
                            },
                            s.review
                                .map(|x| format!("; HERZIEN: {x}"))
                                .unwrap_or_default(),
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
    }
}
