//! `mdo invite`, `mdo invite confirm` and `mdo join`: the application layer's invite flow and
//! its one join client (`mdo::profile::invite`), on a tokio runtime at the binary's edge.

use std::path::Path;
use std::sync::Arc;

use anyhow::Result;
use clap::Subcommand;
use mdo::net;
use mdo::profile::invite::{Invite, join_round};
use mdo::store::invites::JoinAnswer;
use serde_json::json;
use tokio::sync::Mutex;

use super::node::{addr, runtime};
use super::{Out, open};

#[derive(Subcommand, Debug)]
pub(crate) enum InviteCmd {
    /// Confirm that the joining device shows CODE.
    Confirm {
        /// Case.
        case: String,
        /// The code, e.g. 123-456.
        code: String,
    },
}

#[allow(clippy::too_many_arguments)]
/// A device invite: one's own, or (by the chair) a participant's.
#[derive(Debug, Clone)]
pub(crate) enum Device {
    /// Another device of mine.
    Mine,
    /// Another device of this participant.
    Of(String),
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn invite(
    dir: &Path,
    out: &Out,
    case: &str,
    role: &str,
    org: &str,
    custody: bool,
    auto_accept: bool,
    valid_hours: i64,
    qr: bool,
    device: Option<Device>,
) -> Result<()> {
    let role = role.parse()?;
    let mut s = open(dir)?;
    s.participant_only("invite anyone")?;
    let id = s.resolve(case)?;
    let device_of = device.map(|d| match d {
        Device::Mine => s.me().person.clone(),
        Device::Of(m) => m,
    });
    let t = s.invite(
        id,
        &Invite {
            role,
            organisation: org.to_string(),
            custody,
            auto_accept,
            valid_hours,
            device_of,
        },
    )?;
    let ticket = t.encode();
    let qr = if qr { Some(t.qr()?.to_text()) } else { None };
    if auto_accept {
        eprintln!(
            "mdo: let op: --auto-accept laat de codevergelijking weg; gebruik het alleen als het ticket over een vertrouwd kanaal gaat"
        );
    }
    out.print(json!({ "case": id, "ticket": ticket, "expires": t.expiry, "auto_accept": auto_accept, "qr": qr }), || {
        format!("Uitnodiging (geldig {valid_hours} uur, één keer te gebruiken):\n\n  {ticket}\n{}\nDe ander typt: mdo join TICKET. Vergelijk daarna samen de code en bevestig met: mdo invite confirm {} CODE", qr.as_deref().map(|q| format!("\n{q}")).unwrap_or_default(), &id.to_hex()[..8])
    });
    Ok(())
}

pub(crate) fn confirm(dir: &Path, out: &Out, case: &str, code: &str) -> Result<()> {
    let mut s = open(dir)?;
    let id = s.resolve(case)?;
    let member = s.confirm_join(id, code)?;
    out.print(json!({ "case": id, "member": member }), || {
        format!(
            "bevestigd: deelnemer {member} is toegevoegd; de sleutels gaan mee bij de volgende sync"
        )
    });
    Ok(())
}

pub(crate) fn join(
    dir: &Path,
    out: &Out,
    ticket: &str,
    name: Option<String>,
    wait_secs: u64,
    bind: &str,
    lan: bool,
) -> Result<()> {
    let t = net::ticket::Ticket::decode(ticket).map_err(mdo::profile::Error::from)?;
    let bind = addr(bind)?;
    let s = open(dir)?;
    s.participant_only("join a case as a participant; a case names it with `mdo storage add`")?;
    // Without a relay of its own, the device answers through the inviter's (the ticket's).
    let cfg = net::NetConfig::from_settings(&s.store().settings()?, lan)?.for_ticket(&t);
    let name = name.unwrap_or_else(|| s.me().name.clone());
    let had_relay = s.store().settings()?.relay.is_some();
    let profile = Arc::new(Mutex::new(s.into_store()));
    let case = t.case;
    let relay_of = profile.clone();
    let (member, stats) = runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
        let mut shown = false;
        let (member, stats) = loop {
            match join_round(&ep, &profile, &cfg, &t, &name, shown).await? {
                (JoinAnswer::Accepted { member }, stats) => break (member, stats),
                (JoinAnswer::Refused { reason }, _) => anyhow::bail!("the invite was refused: {reason}"),
                (JoinAnswer::Pending { code }, _) => {
                    if !shown {
                        out.print(json!({ "status": "pending", "code": code }), || {
                            format!("Verificatiecode: {code}\nControleer samen met de uitnodiger dat die dezelfde code ziet; die bevestigt met `mdo invite confirm`. Even wachten …")
                        });
                        use std::io::Write;
                        let _ = std::io::stdout().flush();
                        shown = true;
                    }
                    if std::time::Instant::now() > deadline {
                        anyhow::bail!("no confirmation within {wait_secs} s; run `mdo join` again with the same ticket once the inviter confirmed code {code}");
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
            }
        };
        ep.close().await;
        anyhow::Ok((member, stats))
    })?;
    out.print(
        json!({ "status": "joined", "case": case, "member": member, "ops_received": stats.ops_received, "chunks_received": stats.chunks_received }),
        || format!("aangesloten bij zaak {} als {member}: {} ops en {} stukken ontvangen", &case.to_hex()[..8], stats.ops_received, stats.chunks_received),
    )
    ;
    let now = relay_of.blocking_lock().settings()?.relay;
    if !had_relay && let Some(url) = now {
        eprintln!(
            "mdo: {}: {url} (wijzigen: mdo settings set relay URL, of off)",
            mdo::profile::invite::RELAY_ADOPTED
        );
    }
    Ok(())
}
