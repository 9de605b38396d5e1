//! CLI commands about who sees what: participants (`mdo member`), consent (`mdo consent`), the
//! access log (`mdo log`), the audit matrix (`mdo case audit`), moving an item to another
//! audience, and carrying ciphertext in a bundle (`mdo bundle`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use mdo::core::access::{self, ConsentState};
use mdo::core::case::CompartmentKind;
use mdo::core::membership::{Action, Basis, ConsentSpec, Recipient};
use mdo::core::model::{
    Audience, ConsentCategory, ConsentHow, LegalGround, Role, format_date, parse_date,
};
use mdo::crypto::PublicIdentity;
use mdo::store::{AccessAction, bundle, write_atomic};
use serde_json::{Value, json};

use crate::cli::{Out, edit, open_profile, warn_rejected};

/// What earlier readers keep: said whenever a right ends.
const KEEP_NOTE: &str = "Wat eerder gedeeld is, blijft bij wie het al ontving; nieuwe informatie bereikt hen niet meer.";

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
    /// Record a change of gezag (custody) of a parent.
    Custody {
        /// Case.
        case: String,
        /// Participant id.
        member: String,
        /// yes or no.
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

#[derive(Subcommand, Debug)]
pub(crate) enum StorageCmd {
    /// Name a storage peer for the case (chair or co-chair): a node an organisation keeps online
    /// that stores and forwards the case's ciphertext and can read nothing; its operator accepts
    /// the case with `mdo settings set accept-case ID`.
    Add {
        /// Case.
        case: String,
        /// The storage node's identity (`mdo whoami` on it).
        #[arg(long)]
        identity: String,
        /// The organisation that runs it.
        #[arg(long)]
        org: String,
    },
    /// End a storage peer's role in the case.
    Remove {
        /// Case.
        case: String,
        /// Its device id.
        device: String,
    },
}

pub(crate) fn storage_cmd(dir: &Path, out: &Out, c: StorageCmd) -> Result<()> {
    match c {
        StorageCmd::Add {
            case,
            identity,
            org,
        } => {
            let identity = parse_identity(&identity)?;
            edit(dir, out, &case, |case, p| {
                let device = identity.device_id().to_hex();
                case.membership(
                    p.device(),
                    Action::AddStoragePeer {
                        device: identity,
                        organisation: org,
                    },
                )?;
                Ok(device)
            })
        }
        StorageCmd::Remove { case, device } => {
            let d = mdo::crypto::DeviceId::from_hex(&device)?;
            edit(dir, out, &case, |case, p| {
                case.membership(p.device(), Action::RemoveStoragePeer { device: d })?;
                Ok(device)
            })
        }
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum BundleCmd {
    /// Write the case's ciphertext (ops and chunks) to a file.
    Export {
        /// Case.
        case: String,
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Store the contents of a bundle (each entry verified; known ones skipped).
    Import {
        /// The bundle file.
        file: PathBuf,
    },
}

pub(crate) fn parse_identity(h: &str) -> Result<PublicIdentity> {
    let bytes =
        hex::decode(h.trim()).context("--identity must be the hex that `mdo whoami` prints")?;
    PublicIdentity::from_bytes(&bytes).context("--identity is not a valid device identity")
}

fn list<T>(s: &str, f: impl Fn(&str) -> Result<T>) -> Result<Vec<T>> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(f)
        .collect()
}

pub(crate) fn member_cmd(dir: &Path, out: &Out, c: MemberCmd) -> Result<()> {
    match c {
        MemberCmd::List { case } => {
            let mut p = open_profile(dir)?;
            let id = p.resolve_case(&case)?;
            let (case, report) = p.load_case(id)?;
            warn_rejected(&report);
            let members = case.members();
            out.print(json!(members), || {
                members
                    .iter()
                    .map(|m| {
                        format!(
                            "{:<14} {:<20} {:<28} {}{}{} [{}] leest: {}",
                            m.member.id,
                            m.name,
                            format!("{} {}", m.member.role.id(), m.member.organisation),
                            if m.member.admin { "voorzitter " } else { "" },
                            if m.member.custody { "gezag " } else { "" },
                            match m.member.status {
                                mdo::core::membership::MemberStatus::Active => "",
                                mdo::core::membership::MemberStatus::Unconfirmed =>
                                    "WACHT OP BEVESTIGING ",
                                mdo::core::membership::MemberStatus::Removed => "VERWIJDERD ",
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
                case.membership(
                    p.device(),
                    Action::RemoveMember {
                        member: member.clone(),
                        reason,
                    },
                )?;
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
            let device = parse_identity(&identity)?;
            edit(dir, out, &case, |case, p| {
                let member = member.unwrap_or_else(|| p.me().person.clone());
                case.membership(
                    p.device(),
                    Action::AddDevice {
                        member: member.clone(),
                        device,
                    },
                )?;
                Ok(member)
            })
        }
        MemberCmd::DeviceRemove { case, device } => {
            let device = mdo::crypto::DeviceId::from_hex(&device)?;
            edit(dir, out, &case, |case, p| {
                let member = case
                    .state()
                    .device_owner
                    .get(&device)
                    .cloned()
                    .ok_or_else(|| {
                        anyhow!("no device {device} in this case (see mdo member list)")
                    })?;
                case.membership(
                    p.device(),
                    Action::RemoveDevice {
                        member: member.clone(),
                        device,
                    },
                )?;
                Ok(member)
            })?;
            eprintln!("mdo: {KEEP_NOTE}");
            Ok(())
        }
        MemberCmd::Confirm { case, member } => edit(dir, out, &case, |case, p| {
            case.membership(
                p.device(),
                Action::Confirm {
                    member: member.clone(),
                },
            )?;
            Ok(member)
        }),
        MemberCmd::Custody {
            case,
            member,
            custody,
        } => {
            let custody = match custody.as_str() {
                "yes" | "ja" | "true" => true,
                "no" | "nee" | "false" => false,
                other => bail!("custody must be yes or no, not '{other}'"),
            };
            edit(dir, out, &case, |case, p| {
                case.membership(
                    p.device(),
                    Action::SetCustody {
                        member: member.clone(),
                        custody,
                    },
                )?;
                Ok(member)
            })
        }
        MemberCmd::Role {
            case,
            member,
            role,
            chair,
        } => {
            let role: Role = role.parse()?;
            edit(dir, out, &case, |case, p| {
                case.membership(
                    p.device(),
                    Action::SetRole {
                        member: member.clone(),
                        role,
                        admin: chair,
                    },
                )?;
                Ok(member)
            })
        }
    }
}

fn categories(s: &str) -> Result<Vec<ConsentCategory>> {
    list(s, |c| Ok(c.parse::<ConsentCategory>()?))
}

/// Records a consent or legal basis; returns its id.
#[allow(clippy::too_many_arguments)]
fn grant(
    case: &mut mdo::core::case::Case,
    p: &mdo::store::Profile,
    basis: Basis,
    purpose: String,
    categories: Vec<ConsentCategory>,
    to: &str,
    from: Option<String>,
    until: String,
) -> Result<String> {
    let members = case.state().members.clone();
    let recipients = list(to, |r| {
        Recipient::parse(r, &members).map_err(anyhow::Error::msg)
    })?;
    let id = mdo::core::case::new_id()?;
    case.membership(
        p.device(),
        Action::Grant {
            record: ConsentSpec {
                id: id.clone(),
                basis,
                purpose,
                categories,
                recipients,
                from: from.unwrap_or_else(|| format_date(case.today())),
                until,
            },
        },
    )?;
    Ok(id)
}

pub(crate) fn consent_cmd(dir: &Path, out: &Out, c: ConsentCmd) -> Result<()> {
    match c {
        ConsentCmd::Grant {
            case,
            by,
            category,
            to,
            until,
            from,
            how,
            purpose,
        } => {
            let how: ConsentHow = how.parse()?;
            let cats = categories(&category)?;
            parse_date(&until)?;
            edit(dir, out, &case, |case, p| {
                let basis = Basis::Consent {
                    consenters: list(&by, |x| Ok(x.to_string()))?,
                    how,
                };
                let id = grant(case, p, basis, purpose, cats, &to, from, until)?;
                let status = case
                    .state()
                    .consents
                    .get(&id)
                    .map(|rec| access::consent_status(case.state(), rec, case.today()));
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
            until,
            from,
            reasoning,
            decided_by,
        } => {
            let ground: LegalGround = ground.parse()?;
            let cats = categories(&category)?;
            parse_date(&until)?;
            edit(dir, out, &case, |case, p| {
                let basis = Basis::Legal {
                    ground,
                    reasoning,
                    decided_by: decided_by.unwrap_or_else(|| p.me().person.clone()),
                };
                grant(case, p, basis, String::new(), cats, &to, from, until)
            })
        }
        ConsentCmd::Withdraw {
            case,
            consent,
            by,
            note,
        } => {
            edit(dir, out, &case, |case, p| {
                case.membership(
                    p.device(),
                    Action::Withdraw {
                        consent: consent.clone(),
                        by: by.unwrap_or_else(|| p.me().person.clone()),
                        note,
                    },
                )?;
                Ok(consent)
            })?;
            eprintln!("mdo: {KEEP_NOTE}");
            Ok(())
        }
        ConsentCmd::List { case } => {
            let mut p = open_profile(dir)?;
            let id = p.resolve_case(&case)?;
            let (case, report) = p.load_case(id)?;
            warn_rejected(&report);
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
                            "{} {}: {} → {} van {} t/m {}; {}{}{}",
                            r.spec.id,
                            s.state.label(),
                            r.spec
                                .categories
                                .iter()
                                .map(|c| c.id())
                                .collect::<Vec<_>>()
                                .join(","),
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

pub(crate) fn log_cmd(dir: &Path, out: &Out, case: Option<String>) -> Result<()> {
    let p = open_profile(dir)?;
    let id = case.map(|c| p.resolve_case(&c)).transpose()?;
    let entries = p.access_log(id)?;
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

pub(crate) fn audit_cmd(dir: &Path, out: &Out, case_ref: &str) -> Result<()> {
    let mut p = open_profile(dir)?;
    let id = p.resolve_case(case_ref)?;
    let (case, report) = p.load_case(id)?;
    warn_rejected(&report);
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
    let shown: Vec<_> = case
        .compartment_list()
        .into_iter()
        .map(|(c, _)| c)
        .collect();
    p.log_access(&case, AccessAction::View, &shown, "audit")?;
    out.print(
        json!({ "case": id, "today": format_date(case.today()), "participants": members, "items": items, "compartments": rows }),
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

pub(crate) fn move_item(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    item: &str,
    order: Option<f64>,
    audience: Option<String>,
    category: Option<String>,
) -> Result<()> {
    if order.is_none() && audience.is_none() && category.is_none() {
        bail!("say where to: --order N, --audience AUDIENCE or --category CATEGORY");
    }
    let audience = audience.map(|a| a.parse::<Audience>()).transpose()?;
    let category = category.map(|c| c.parse::<ConsentCategory>()).transpose()?;
    let mut moved = false;
    edit(dir, out, case_ref, |case, p| {
        if let Some(o) = order {
            case.reorder_item(item, o)?;
        }
        let target = match (category, audience) {
            (Some(c), _) => Some(CompartmentKind::for_category(c, p.me())),
            (None, Some(a)) => Some(CompartmentKind::for_audience(a, p.me())),
            _ => None,
        };
        if let Some(t) = target {
            case.move_item(item, t)?;
            moved = true;
        }
        Ok(item.to_string())
    })?;
    if moved {
        eprintln!("mdo: {KEEP_NOTE}");
    }
    Ok(())
}

pub(crate) fn bundle_cmd(dir: &Path, out: &Out, c: BundleCmd) -> Result<()> {
    match c {
        BundleCmd::Export { case, out: path } => {
            let p = open_profile(dir)?;
            let id = p.resolve_case(&case)?;
            let mut entries: Vec<(bundle::Kind, Vec<u8>)> = p
                .ops_of(id)?
                .into_iter()
                .map(|b| (bundle::Kind::Op, b))
                .collect();
            entries.extend(
                p.chunks_of(id)?
                    .into_iter()
                    .map(|(_, _, b)| (bundle::Kind::Chunk, b)),
            );
            let bytes = bundle::encode(id, &entries);
            write_atomic(&path, &bytes)?;
            out.print(
                json!({ "case": id, "entries": entries.len(), "bytes": bytes.len(), "file": path }),
                || {
                    format!(
                        "{} onderdelen ({} bytes, alleen versleuteld) geschreven naar {}",
                        entries.len(),
                        bytes.len(),
                        path.display()
                    )
                },
            );
            Ok(())
        }
        BundleCmd::Import { file } => {
            let mut p = open_profile(dir)?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            let (case, entries) = bundle::decode(&bytes)?;
            let (mut new, mut known, mut failed) = (0, 0, Vec::new());
            // Ops first: rights are known before content is looked at.
            for (kind, b) in entries
                .iter()
                .filter(|(k, _)| *k == bundle::Kind::Op)
                .chain(entries.iter().filter(|(k, _)| *k == bundle::Kind::Chunk))
            {
                let r = match kind {
                    bundle::Kind::Op => p.store_op(b),
                    bundle::Kind::Chunk => p.store_envelope(b),
                };
                match r {
                    Ok(true) => new += 1,
                    Ok(false) => known += 1,
                    Err(e) => failed.push(e.to_string()),
                }
            }
            for f in &failed {
                eprintln!("mdo: warning: an entry of the bundle was refused: {f}");
            }
            // A sync ends with the key work the new state asks of this device: hand the keys it
            // holds to newly entitled devices, rotate them away from excluded ones.
            let mut keys = 0;
            if p.case_ids()?.contains(&case) {
                let (mut c, report) = p.load_case(case)?;
                warn_rejected(&report);
                keys = p.commit(&mut c)?.ops.len();
            }
            out.print(
                json!({ "case": case, "new": new, "known": known, "refused": failed.len(), "key_ops": keys }),
                || {
                    format!(
                        "zaak {case}: {new} nieuw, {known} al aanwezig, {} geweigerd",
                        failed.len()
                    )
                },
            );
            Ok(())
        }
    }
}
