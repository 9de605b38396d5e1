//! `mdo case` (new, list, show, audit, set) and `mdo log`: a case and what this device logged
//! about it.

use std::path::Path;

use anyhow::Result;
use clap::Subcommand;
use mdo::core::access;
use mdo::core::case::{Case, CompartmentKind};
use mdo::core::model::format_date;
use mdo::core::verslag;
use mdo::profile::NewCase;
use mdo::profile::traject;
use serde_json::{Value, json};

use super::{Out, edit, open, view};

#[derive(Subcommand, Debug)]
pub(crate) enum CaseCmd {
    /// Open a new case.
    New {
        /// The child's name.
        #[arg(long)]
        child: String,
        /// Date of birth, YYYY-MM-DD.
        #[arg(long)]
        birthdate: String,
        /// School.
        #[arg(long, default_value = "")]
        school: String,
        /// Class or group.
        #[arg(long, default_value = "")]
        class: String,
    },
    /// List the cases on this device.
    List,
    /// Everything this device can read of a case.
    Show {
        /// Case id (or a unique prefix).
        case: String,
    },
    /// Who can see what: participants × compartments, with the basis of each right.
    Audit {
        /// Case.
        case: String,
    },
    /// Change a case fact: child, birthdate, school, class, phase, status.
    Set {
        /// Case.
        case: String,
        /// Field.
        field: String,
        /// Value.
        value: String,
    },
    /// Change the support-route phase (chair), kept in the phase history.
    Phase {
        /// Case.
        case: String,
        /// signaleren, consultatie, leerlingbespreking, mdo, arrangeren, evalueren.
        phase: String,
        /// Why.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Close the case (chair or co-chair, with a reason): each organisation's retention term
    /// runs from today; nothing more is written until it is reopened.
    Close {
        /// Case.
        case: String,
        /// Why (everyone in the case reads it).
        #[arg(long)]
        reason: String,
    },
    /// Reopen a closed case (chair or co-chair, with a reason).
    Reopen {
        /// Case.
        case: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// What will be destroyed when: each part of the case with its organisation, term, date and
    /// source. With --years and --reason: set your own organisation's term.
    Retention {
        /// Case.
        case: String,
        /// Your organisation's term, in years after the closing.
        #[arg(long, requires = "reason")]
        years: Option<u32>,
        /// Why your organisation keeps it this long.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Destroy what your organisation holds in the case whose retention term has ended: every
    /// copy that syncs drops the keys, then the text (issue 17).
    Destroy {
        /// Case.
        case: String,
        /// The legal exceptions your organisation weighed, in words.
        #[arg(long, default_value = "")]
        exceptions: String,
    },
    /// Ask an organisation to destroy everything it holds about the child in this case (a
    /// parent with gezag, the child from 12; each of them signs the same request).
    RequestDestruction {
        /// Case.
        case: String,
        /// The organisation.
        #[arg(long)]
        org: String,
    },
    /// Answer a destruction request to your organisation: --grant destroys at once on every
    /// copy that syncs; --refuse keeps it. Name the legal ground and say why.
    AnswerDestruction {
        /// Case.
        case: String,
        /// Request id.
        request: String,
        /// Grant (destroy).
        #[arg(long, conflicts_with = "refuse", required_unless_present = "refuse")]
        grant: bool,
        /// Refuse.
        #[arg(long)]
        refuse: bool,
        /// The legal ground (a refusal: BW 7:455 lid 2, Jeugdwet 7.3.9, AVG art. 17 lid 3).
        #[arg(long)]
        ground: String,
        /// Why, in words the requester reads.
        #[arg(long)]
        reason: String,
    },
    /// Who read or changed what in the whole case: this device's log and what the
    /// professionals' devices shared, as far as you may read it; tampering is shown.
    Log {
        /// Case.
        case: String,
    },
    /// Destruction requests and what was destroyed, in Dutch.
    Destruction {
        /// Case.
        case: String,
    },
    /// Record an OPP, deskundigenadvies, TLV or arrangement.
    Route {
        /// Case.
        case: String,
        /// opp, deskundigenadvies, tlv, arrangement.
        kind: String,
        /// What it says (the OPP's handelingsdeel, the advice, the arrangement).
        #[arg(long)]
        text: String,
        /// Date YYYY-MM-DD (default today).
        #[arg(long, default_value = "")]
        date: String,
        /// Until YYYY-MM-DD.
        #[arg(long, default_value = "")]
        until: String,
        #[command(flatten)]
        audience: super::AudienceArg,
    },
    /// A parent's (or the young person's) answer on a route record: instemming with an OPP.
    RouteAnswer {
        /// Case.
        case: String,
        /// Route record id.
        record: String,
        /// ja, deels or nee.
        agrees: String,
        /// Whose answer (participant id; default: you).
        #[arg(long)]
        person: Option<String>,
        /// Their words.
        #[arg(long, default_value = "")]
        text: String,
    },
}

pub(crate) fn run(dir: &Path, out: &Out, c: CaseCmd) -> Result<()> {
    match c {
        CaseCmd::New {
            child,
            birthdate,
            school,
            class,
        } => {
            let mut s = open(dir)?;
            let case = s.new_case(&NewCase {
                child,
                birthdate,
                school,
                class,
            })?;
            out.print(json!({ "id": case.id }), || format!("ok {}", case.id));
            Ok(())
        }
        CaseCmd::List => {
            let mut s = open(dir)?;
            let mut rows = Vec::new();
            for id in s.case_ids()? {
                let (case, _) = s.load(id)?;
                let info = case.info();
                let open = case
                    .agreements()
                    .iter()
                    .filter(|a| a.data.status == mdo::core::model::AgreementStatus::Open)
                    .count();
                rows.push(json!({ "id": id, "child": info.child, "school": info.school, "class": info.class, "phase": info.phase, "status": info.status, "open_agreements": open }));
            }
            out.print(Value::Array(rows.clone()), || {
                if rows.is_empty() {
                    return "Nog geen casussen. Maak er een met `mdo case new` of `mdo demo`."
                        .into();
                }
                rows.iter()
                    .map(|r| {
                        let id = r["id"].as_str().unwrap_or("");
                        format!(
                            "{}  {}  {} {}  fase {}  {} open afspraken",
                            &id[..8.min(id.len())],
                            r["child"].as_str().unwrap_or(""),
                            r["school"].as_str().unwrap_or(""),
                            r["class"].as_str().unwrap_or(""),
                            r["phase"].as_str().unwrap_or(""),
                            r["open_agreements"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            });
            Ok(())
        }
        CaseCmd::Show { case } => {
            let mut s = open(dir)?;
            let case = view(&mut s, &case, "")?;
            let value = json!({
                "id": case.id,
                "info": case.info(),
                "age_band": case.age_band(case.today()),
                "compartments": case.compartment_list().iter().map(|(cid, k)| json!({ "id": cid, "kind": k.descriptor(), "audience": k.audience() })).collect::<Vec<_>>(),
                "participants": case.participants(),
                "items": case.items(),
                "agreements": case.agreements(),
                "arrows": case.arrows(),
                "meetings": case.meetings(),
                "meeting_notes": case.meetings().iter().flat_map(|m| case.meeting_notes(&m.data.id)).collect::<Vec<_>>(),
                "verslagen": case.verslagen(),
                "rejected": s.store().rejected_chunks(case.id)?,
            });
            out.print(value, || show_text(&case));
            Ok(())
        }
        CaseCmd::Audit { case } => audit(dir, out, &case),
        CaseCmd::Set { case, field, value } => edit(dir, out, &case, |case, p| {
            if field == "phase" {
                traject::change_phase(case, p.me(), value.parse()?, "")?;
            } else {
                case.set_fact(&field, &value)?;
            }
            Ok(field)
        }),
        CaseCmd::Close { case, reason } => edit(dir, out, &case, |case, p| {
            mdo::profile::retention::close(case, p, &reason)?;
            Ok("afgesloten".into())
        }),
        CaseCmd::Reopen { case, reason } => edit(dir, out, &case, |case, p| {
            mdo::profile::retention::reopen(case, p, &reason)?;
            Ok("heropend".into())
        }),
        CaseCmd::Retention {
            case,
            years: Some(years),
            reason,
        } => edit(dir, out, &case, |case, p| {
            mdo::profile::retention::set_term(case, p, years, reason.as_deref().unwrap_or(""))?;
            Ok(format!("{years} jaar"))
        }),
        CaseCmd::Retention {
            case, years: None, ..
        } => {
            let mut s = open(dir)?;
            let case = super::load(&mut s, &case)?;
            let plan = mdo::profile::retention::schedule(&case);
            let closed = case.state().closed.clone();
            out.print(
                json!({
                    "closed": closed,
                    "parts": plan.iter().map(|p| json!({
                        "compartment": p.descriptor,
                        "organisation": p.organisation,
                        "controller": p.controller,
                        "term": p.term,
                        "set_by": p.set_by,
                        "destroy_on": p.destroy_on.map(format_date),
                    })).collect::<Vec<_>>(),
                }),
                || {
                    let mut lines = vec![match &closed {
                        Some(c) => format!(
                            "afgesloten op {} door {}: {}",
                            mdo::core::model::long_date(&c.on),
                            c.by,
                            c.reason
                        ),
                        None => "de casus loopt; de termijnen beginnen bij het afsluiten".into(),
                    }];
                    lines.extend(mdo::profile::retention::lines(&case));
                    lines.join("\n")
                },
            );
            Ok(())
        }
        CaseCmd::Destroy { case, exceptions } => edit(dir, out, &case, |case, p| {
            let gone = mdo::profile::destruction::destroy_due(case, p, &exceptions)?;
            Ok(format!("{} deel/delen vernietigd", gone.len()))
        }),
        CaseCmd::RequestDestruction { case, org } => edit(dir, out, &case, |case, p| {
            mdo::profile::destruction::request(case, p, &org)
        }),
        CaseCmd::AnswerDestruction {
            case,
            request,
            grant,
            refuse: _,
            ground,
            reason,
        } => edit(dir, out, &case, |case, p| {
            let gone =
                mdo::profile::destruction::answer(case, p, &request, grant, &ground, &reason)?;
            Ok(if grant {
                format!("toegekend; {} deel/delen vernietigd", gone.len())
            } else {
                "afgewezen".into()
            })
        }),
        CaseCmd::Log { case } => {
            let mut s = open(dir)?;
            let case = super::load(&mut s, &case)?;
            let log = mdo::profile::caselog::case_log(&case, s.store())?;
            out.print(json!(log), || {
                let mut lines = vec![mdo::profile::caselog::coverage(&log)];
                for p in &log.problems {
                    lines.push(format!("LET OP: {p}"));
                }
                lines.extend(log.rows.iter().map(|r| r.sentence.clone()));
                lines.join("\n")
            });
            Ok(())
        }
        CaseCmd::Destruction { case } => {
            let mut s = open(dir)?;
            let case = super::load(&mut s, &case)?;
            let requests = mdo::profile::destruction::requests(&case, s.store().me());
            let tombstones = mdo::profile::destruction::tombstones(&case, s.store().me());
            let (ops_with_keys, chunks) = s.store().destroyed_left(case.id)?;
            out.print(
                json!({
                    "requests": requests,
                    "destroyed": tombstones,
                    "shredded_here": s.store().shredded(case.id)?.len(),
                    "left_of_destroyed": { "ops_with_keys": ops_with_keys, "chunks": chunks },
                    "chunks_stored": s.store().chunks_of(case.id)?.len(),
                }),
                || {
                    let mut lines: Vec<String> = requests
                        .iter()
                        .map(|r| format!("{}: {}", r.id, r.text))
                        .collect();
                    lines.extend(tombstones.iter().cloned());
                    if lines.is_empty() {
                        lines.push("geen verzoeken; niets vernietigd".into());
                    }
                    lines.join("\n")
                },
            );
            Ok(())
        }
        CaseCmd::Phase { case, phase, note } => edit(dir, out, &case, |case, p| {
            traject::change_phase(case, p.me(), phase.parse()?, &note)?;
            Ok(phase)
        }),
        CaseCmd::Route {
            case,
            kind,
            text,
            date,
            until,
            audience,
        } => super::write(
            dir,
            out,
            &case,
            super::Target::Audience(audience.audience.as_deref()),
            |_, _| {
                Ok(mdo::profile::write::Write::Route {
                    kind: kind.parse()?,
                    date,
                    until,
                    text,
                })
            },
        ),
        CaseCmd::RouteAnswer {
            case,
            record,
            agrees,
            person,
            text,
        } => edit(dir, out, &case, |case, p| {
            let person = person.unwrap_or_else(|| p.me().person.clone());
            traject::answer_route(case, p.me(), &record, &person, agrees.parse()?, &text)?;
            Ok(record)
        }),
    }
}

fn show_text(case: &Case) -> String {
    let mut s = verslag::overview(case);
    s.push_str("\n## Ids\n\n");
    for i in case.items() {
        s.push_str(&format!(
            "- item {} [{}] {} — zichtbaar voor: {}\n",
            i.data.id,
            i.data.section,
            i.data.text,
            i.audience.label()
        ));
    }
    for a in case.agreements() {
        s.push_str(&format!(
            "- afspraak {} {} / {} — zichtbaar voor: {}\n",
            a.data.id,
            a.data.wie,
            a.data.wat,
            a.audience.label()
        ));
    }
    for m in case.meetings() {
        s.push_str(&format!("- overleg {} op {}\n", m.data.id, m.data.date));
    }
    for p in case.participants() {
        s.push_str(&format!("- deelnemer {} {}\n", p.id, p.name));
    }
    s
}

/// `mdo log`: the access log of this device (all cases, or one).
pub(crate) fn log(dir: &Path, out: &Out, case: Option<String>) -> Result<()> {
    let s = open(dir)?;
    let id = case.map(|c| s.resolve(&c)).transpose()?;
    let entries = s.store().access_log(id)?;
    out.print(json!(entries), || {
        entries
            .iter()
            .map(|e| {
                let when = e.when();
                format!(
                    "{when} {:<11} {} ({}, {}) zaak {} {} — grond: {}{}",
                    e.action.label(),
                    e.name,
                    e.role,
                    e.organisation,
                    &e.case[..8.min(e.case.len())],
                    e.compartment,
                    e.basis,
                    if e.detail.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", e.detail)
                    }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    Ok(())
}

/// `mdo case audit`: who sees what — participants × items, and per participant the
/// compartments with the basis of each right. Logged as a view.
fn audit(dir: &Path, out: &Out, case_ref: &str) -> Result<()> {
    let mut s = open(dir)?;
    let case = view(&mut s, case_ref, "audit")?;
    let access = case.access();
    let st = case.state();
    let members: Vec<String> = st.members.keys().cloned().collect();
    let mut items = Vec::new();
    let mut add = |kind: &str, id: &str, text: &str, compartment: &str| {
        let cid = CompartmentKind::parse(compartment).map(|k| k.id(case.id));
        let readers: Vec<String> = cid
            .and_then(|c| access.compartments.get(&c))
            .map(|a| a.readers.keys().cloned().collect())
            .unwrap_or_default();
        items.push(json!({ "kind": kind, "id": id, "text": text, "compartment": compartment, "readers": readers }));
    };
    for i in case.items() {
        add("item", &i.data.id, &i.data.text, &i.compartment);
    }
    for a in case.agreements() {
        add(
            "agreement",
            &a.data.id,
            &format!("{} / {}", a.data.wie, a.data.wat),
            &a.compartment,
        );
    }
    let rows = access::audit(st, &access);
    out.print(
        json!({ "case": case.id, "today": format_date(case.today()), "participants": members, "items": items, "compartments": rows }),
        || {
            let mut s = format!("Wie ziet wat ({}):\n\n", format_date(case.today()));
            s.push_str(&format!("{:<40} {}\n", "", members.join(" ")));
            for it in &items {
                let readers: Vec<&str> = it["readers"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                let text: String = it["text"].as_str().unwrap_or("").chars().take(38).collect();
                let cells: Vec<String> = members
                    .iter()
                    .map(|m| {
                        let mark = if readers.contains(&m.as_str()) { "x" } else { "." };
                        format!("{mark:^w$}", w = m.len())
                    })
                    .collect();
                s.push_str(&format!("{text:<40} {}\n", cells.join(" ")));
            }
            s.push_str("\nPer compartiment (grond):\n");
            for r in &rows {
                s.push_str(&format!(
                    "- {} ({}): {}\n",
                    r.member,
                    r.role.id(),
                    r.reads
                        .iter()
                        .map(|(c, b)| format!("{c} [{b}]"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            s
        },
    );
    Ok(())
}
