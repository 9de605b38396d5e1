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
    /// Record a consent to share information categories with recipients: the question, and
    /// each named person's answer as their own act (a parent or child records only their own).
    Grant {
        /// Case.
        case: String,
        /// Who gave it: participant ids, comma-separated (each parent with gezag; the child
        /// from 12; the young person alone from 16); each is recorded as that person's own
        /// answer. Leave empty to record only the question, for each person to answer.
        #[arg(long, default_value = "")]
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
        /// What it is for (required).
        #[arg(long)]
        purpose: String,
    },
    /// Record one person's answer to a consent record: given or refused.
    Answer {
        /// Case.
        case: String,
        /// Consent record id.
        consent: String,
        /// Whose answer (participant id; default you).
        #[arg(long)]
        by: Option<String>,
        /// Record a refusal instead of consent.
        #[arg(long)]
        refuse: bool,
        /// written, oral or digital.
        #[arg(long, default_value = "written")]
        how: String,
        /// Note.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Release your organisation's medical or GGZ information under a consent (the doctor
    /// decides after the consent: WGBO art. 7:457).
    Release {
        /// Case.
        case: String,
        /// Consent record id.
        consent: String,
        /// Note: what you release and why.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Record sharing without consent on a legal basis (with its reasoning).
    Legal {
        /// Case.
        case: String,
        /// legal-duty, conflict-of-duties, child-protection (to the GI) or parent-information
        /// (BW 1:377c, to a parent without gezag). You decide it: you hold the information.
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
        } => {
            let ground: LegalGround = ground.parse()?;
            let g = grant_of(&category, &to, &source, from, until, String::new())?;
            edit(dir, out, &case, |case, p| {
                consent::legal(case, p, ground, &reasoning, g)
            })
        }
        ConsentCmd::Answer {
            case,
            consent: id,
            by,
            refuse,
            how,
            note,
        } => {
            let how: ConsentHow = how.parse()?;
            edit(dir, out, &case, |case, p| {
                consent::answer(case, p, &id, by.as_deref(), !refuse, how, &note)?;
                if let Some(rec) = case.state().consents.get(&id) {
                    let s = access::consent_status(case.state(), rec, case.today());
                    eprintln!("mdo: deze toestemming is nu {}", s.state.label());
                }
                Ok(id)
            })
        }
        ConsentCmd::Release {
            case,
            consent: id,
            note,
        } => edit(dir, out, &case, |case, p| {
            consent::release(case, p, &id, &note)?;
            Ok(id)
        }),
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
            for n in consent::age_notices(&case) {
                eprintln!("mdo: let op: {n}");
            }
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
                            Basis::Consent { .. } => {
                                let people: Vec<String> = r
                                    .answers
                                    .iter()
                                    .map(|(who, a)| {
                                        format!("{who} {} ({})", a.state.label(), a.how.label())
                                    })
                                    .collect();
                                format!(
                                    "toestemming: {}; doel: {}",
                                    if people.is_empty() {
                                        "nog niemand heeft geantwoord".into()
                                    } else {
                                        people.join(", ")
                                    },
                                    r.spec.purpose
                                )
                            }
                            Basis::Legal {
                                ground, decided_by, ..
                            } => {
                                format!("{} (besloten door {decided_by})", ground.label())
                            }
                        };
                        format!(
                            "{} {}: {}{} → {} van {} t/m {}; {}{}{}{}",
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
                            if s.missing.is_empty() && s.refused.is_empty() {
                                String::new()
                            } else if s.refused.is_empty() {
                                format!("; nog nodig: {}", s.missing.join(", "))
                            } else {
                                format!("; geweigerd door: {}", s.refused.join(", "))
                            },
                            if s.awaiting_release.is_empty() {
                                String::new()
                            } else {
                                format!(
                                    "; wacht op vrijgave door: {}",
                                    s.awaiting_release.join(", ")
                                )
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
