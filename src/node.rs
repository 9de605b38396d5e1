//! `mdo serve` and `mdo sync`: the tokio runtime at the binary's edge around `mdo::net`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use mdo::net;
use serde_json::json;
use tokio::sync::Mutex;

use crate::cli::{Out, open_profile};

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The network configuration of a profile's settings (`--lan` turns discovery on for this run).
fn net_config(p: &mdo::store::Profile, lan: bool) -> Result<net::NetConfig> {
    Ok(net::NetConfig::from_settings(&p.settings()?, lan)?)
}

fn addr(s: &str) -> Result<SocketAddr> {
    s.parse()
        .with_context(|| format!("'{s}' is not an address like 0.0.0.0:0 or 127.0.0.1:4000"))
}

pub(crate) fn serve(dir: &Path, out: &Out, bind: &str, storage: bool, lan: bool) -> Result<()> {
    let bind = addr(bind)?;
    let p = open_profile(dir)?;
    let cfg = net_config(&p, lan)?;
    let storage = storage || cfg_storage(&p)?;
    let device = p.device().device_id();
    let profile = Arc::new(Mutex::new(p));
    runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let addrs = net::address_of(&ep);
        profile.lock().await.set_node_addrs(&addrs)?;
        out.print(json!({ "node": ep.id().to_string(), "device": device, "addrs": addrs, "storage": storage }), || {
            format!(
                "mdo serve{}: bereikbaar als {}",
                if storage { " (opslagknooppunt: bewaart en stuurt door, leest niets)" } else { "" },
                addrs.join(", ")
            )
        });
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let server = net::serve(ep.clone(), cfg, profile.clone(), net::Wake::default(), |peer, r| match r {
            Ok(s) => tracing::info!(
                "sync met {}: {} ops en {} stukken ontvangen, {} ops en {} stukken verstuurd{}",
                &peer.to_hex()[..10],
                s.ops_received,
                s.chunks_received,
                s.ops_sent,
                s.chunks_sent,
                if s.refused.is_empty() { String::new() } else { format!("; geweigerd: {}", s.refused.join("; ")) }
            ),
            Err(e) => tracing::warn!("sync met {} afgebroken: {e}", &peer.to_hex()[..10]),
        });
        tokio::select! {
            _ = server => {}
            _ = tokio::signal::ctrl_c() => {}
        }
        ep.close().await;
        let p = profile.lock().await;
        let _ = p.checkpoint();
        anyhow::Ok(())
    })
}

pub(crate) fn sync(
    dir: &Path,
    out: &Out,
    case: Option<String>,
    peer: Option<String>,
    bind: &str,
    lan: bool,
) -> Result<()> {
    let bind = addr(bind)?;
    let p = open_profile(dir)?;
    let cfg = net_config(&p, lan)?;
    let cases = match case {
        Some(c) => Some(vec![match p.resolve_case(&c) {
            Ok(id) => id,
            // A case this device holds nothing of yet (just invited): ask for it.
            Err(_) => mdo::crypto::CaseId::from_hex(c.trim())
                .with_context(|| format!("no case '{c}' here; give its full id to fetch it"))?,
        }]),
        None => None,
    };
    // Whom to reach: the given peer, or every remembered peer that is a device of the case(s).
    let peers: Vec<String> = match peer {
        Some(p) => vec![p],
        None => {
            let wanted = match &cases {
                Some(c) => c.clone(),
                None => p.case_ids()?,
            };
            let mut devices = std::collections::BTreeSet::new();
            for c in wanted {
                devices.extend(p.case_devices(c)?);
            }
            p.known_peers()?
                .into_iter()
                .filter(|(d, _)| devices.contains(d))
                .map(|(_, a)| a)
                .collect()
        }
    };
    if peers.is_empty() {
        anyhow::bail!(
            "no known peer for this case yet: give --peer NODE-ID@IP:PORT (or join with an invite first)"
        );
    }
    let profile = Arc::new(Mutex::new(p));
    let (total, reached) = runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let mut total = mdo::core::sync::Stats::default();
        let mut reached = 0;
        for text in &peers {
            let peer = cfg.dial(net::parse_peer(text)?);
            // A second round carries the key work the first one caused (keys handed to the peer).
            for round in 0..2 {
                let s = match net::sync_with(&ep, &profile, peer.clone(), cases.clone()).await {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!("{e}");
                        break;
                    }
                };
                if round == 0 {
                    reached += 1;
                    profile.lock().await.remember_peer(&peer, text)?;
                }
                total.ops_sent += s.ops_sent;
                total.ops_received += s.ops_received;
                total.chunks_sent += s.chunks_sent;
                total.chunks_received += s.chunks_received;
                total.refused.extend(s.refused);
                let made = {
                    let mut p = profile.lock().await;
                    net::key_work(&mut p, s.ops_changed.iter().copied())?
                };
                if made == 0 {
                    break;
                }
            }
        }
        ep.close().await;
        anyhow::Ok((total, reached))
    })?;
    for r in &total.refused {
        tracing::warn!("the peer sent something that was refused: {r}");
    }
    if reached == 0 {
        anyhow::bail!(
            "no peer could be reached; what you changed stays here and goes along with the next sync"
        );
    }
    out.print(
        json!({ "peers": reached, "ops_sent": total.ops_sent, "ops_received": total.ops_received, "chunks_sent": total.chunks_sent, "chunks_received": total.chunks_received, "refused": total.refused.len() }),
        || {
            format!(
                "{reached} peer(s) bereikt: {} ops en {} stukken ontvangen, {} ops en {} stukken verstuurd",
                total.ops_received, total.chunks_received, total.ops_sent, total.chunks_sent
            )
        },
    );
    Ok(())
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
) -> Result<()> {
    let role: mdo::core::model::Role = role.parse()?;
    let mut p = open_profile(dir)?;
    if cfg_storage(&p)? {
        return Err(mdo::store::StoreError::StoragePeer("invite anyone").into());
    }
    let id = p.resolve_case(case)?;
    let addrs: Vec<SocketAddr> = p
        .node_addrs()?
        .iter()
        .filter_map(|a| a.split_once('@').and_then(|(_, s)| s.parse().ok()))
        .collect();
    if addrs.is_empty() {
        anyhow::bail!(
            "start `mdo serve` on this device first: the invite tells the new device where to find it"
        );
    }
    let (secret, expiry) =
        p.create_invite(id, role, org, custody, auto_accept, valid_hours * 3600)?;
    let t = net::ticket::Ticket {
        case: id,
        node: p.device().device_id().0,
        addrs,
        secret,
        expiry,
    };
    let ticket = t.encode();
    let qr = if qr { Some(t.qr()?.to_text()) } else { None };
    if auto_accept {
        eprintln!(
            "mdo: let op: --auto-accept laat de codevergelijking weg; gebruik het alleen als het ticket over een vertrouwd kanaal gaat"
        );
    }
    out.print(json!({ "case": id, "ticket": ticket, "expires": expiry, "auto_accept": auto_accept, "qr": qr }), || {
        format!("Uitnodiging (geldig {valid_hours} uur, één keer te gebruiken):\n\n  {ticket}\n{}\nDe ander typt: mdo join TICKET. Vergelijk daarna samen de code en bevestig met: mdo invite confirm {} CODE", qr.as_deref().map(|q| format!("\n{q}")).unwrap_or_default(), &id.to_hex()[..8])
    });
    Ok(())
}

fn cfg_storage(p: &mdo::store::Profile) -> Result<bool> {
    Ok(p.settings()?.storage)
}

pub(crate) fn confirm(dir: &Path, out: &Out, case: &str, code: &str) -> Result<()> {
    let mut p = open_profile(dir)?;
    let id = p.resolve_case(case)?;
    let member = p.confirm_invite(id, code)?;
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
    use mdo::store::invites::JoinAnswer;
    let t = net::ticket::Ticket::decode(ticket)?;
    let bind = addr(bind)?;
    let p = open_profile(dir)?;
    if cfg_storage(&p)? {
        return Err(mdo::store::StoreError::StoragePeer(
            "join a case as a participant; a case names it with `mdo storage add`",
        )
        .into());
    }
    let cfg = net_config(&p, lan)?;
    let name = name.unwrap_or_else(|| p.me().name.clone());
    let identity = p.device().public_identity().clone();
    let profile = Arc::new(Mutex::new(p));
    let case = t.case;
    let (member, stats) = runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
        let mut shown = false;
        let (member, stats) = loop {
            match net::join_round(&ep, &profile, &cfg, &t, &identity, &name).await? {
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
    );
    Ok(())
}
