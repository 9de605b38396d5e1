//! `mdo serve` and `mdo sync`: the tokio runtime at the binary's edge around `mdo::net`, with
//! the application layer's key work (`mdo::profile::keys`).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use mdo::net;
use serde_json::json;
use tokio::sync::Mutex;

use mdo::profile::keys::key_work;

use super::{Out, open};

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// The network configuration of a profile's settings (`--lan` turns discovery on for this run).
fn net_config(p: &mdo::store::Profile, lan: bool) -> Result<net::NetConfig> {
    Ok(net::NetConfig::from_settings(&p.settings()?, lan)?)
}

pub(crate) fn addr(s: &str) -> Result<SocketAddr> {
    s.parse()
        .with_context(|| format!("'{s}' is not an address like 0.0.0.0:0 or 127.0.0.1:4000"))
}

pub(crate) fn serve(dir: &Path, out: &Out, bind: &str, storage: bool, lan: bool) -> Result<()> {
    let bind = addr(bind)?;
    let p = open(dir)?.into_store();
    let cfg = net_config(&p, lan)?;
    let storage = storage || p.settings()?.storage;
    let device = p.device().device_id();
    let profile = Arc::new(Mutex::new(p));
    runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::serving_endpoint(p.device(), bind, &cfg, p.last_port()).await?
        };
        // Where it is reached (direct and, with a relay, there): stored for invites and for
        // the peers this device tells; printed for whoever types it.
        let addrs = vec![net::format_peer(&net::own_addr(&ep, &cfg).await)];
        profile.lock().await.set_node_addrs(&addrs)?;
        out.print(json!({ "node": ep.id().to_string(), "device": device, "addrs": addrs, "storage": storage }), || {
            format!(
                "mdo serve{}: bereikbaar als {}",
                if storage { " (opslagapparaat: bewaart en stuurt door, leest niets)" } else { "" },
                addrs.join(", ")
            )
        });
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let server = net::serve(ep.clone(), cfg, profile.clone(), net::Wake::default(), key_work, |peer, r| match r {
            Ok(s) => tracing::info!(
                "sync met {}: {} ops en {} stukken ontvangen, {} ops en {} stukken verstuurd{}",
                &peer.to_hex()[..10],
                s.ops_received,
                s.chunks_received,
                s.ops_sent,
                s.chunks_sent,
                if s.refused.is_empty() { String::new() } else { format!("; geweigerd: {}", s.refused.join("; ")) }
            ),
            Err(e) => match e.strip_prefix(net::RETRY) {
                Some(secs) => tracing::info!("{} niet bereikbaar; opnieuw proberen over {secs} s", &peer.to_hex()[..10]),
                None => tracing::warn!("sync met {} afgebroken: {e}", &peer.to_hex()[..10]),
            },
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
    restore: bool,
) -> Result<()> {
    let bind = addr(bind)?;
    if restore {
        return fetch_cases(dir, out, peer.as_deref().unwrap_or_default(), bind, lan);
    }
    let p = open(dir)?.into_store();
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
        Some(p) => {
            net::parse_peer(&p)?;
            vec![p]
        }
        None => {
            let wanted = match &cases {
                Some(c) => c.clone(),
                None => p.case_ids()?,
            };
            let mut devices = std::collections::BTreeSet::new();
            for c in wanted {
                devices.extend(p.case_devices(c)?);
            }
            // Where each was reached, and where partners said it is now.
            let mut out = Vec::new();
            for (d, a) in p.known_peers()? {
                if devices.contains(&d) {
                    out.push(match p.dial_addr(d)? {
                        Some(addr) => net::format_peer(&addr),
                        None => a,
                    });
                }
            }
            out
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
            // A remembered address that no longer reads is skipped, not fatal for the others.
            let Ok(mut peer) = net::parse_peer(text) else {
                tracing::warn!("a remembered peer's address cannot be read; skipped");
                continue;
            };
            // A bare device id: where this device last heard it is reached, if anywhere.
            if peer.ip_addrs().next().is_none()
                && let Some(known) = profile.lock().await.peer_addr(net::device_of(peer.id))?
            {
                peer = mdo::store::peers::merge(&peer, &known);
            }
            let peer = cfg.dial(peer);
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
                    profile.lock().await.remember_peer(&peer)?;
                }
                total.ops_sent += s.ops_sent;
                total.ops_received += s.ops_received;
                total.chunks_sent += s.chunks_sent;
                total.chunks_received += s.chunks_received;
                total.refused.extend(s.refused);
                let made = {
                    let mut p = profile.lock().await;
                    key_work(&mut p, &s.ops_changed.iter().copied().collect::<Vec<_>>())?
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

/// `mdo sync --restore --peer ADDR`: the restored profile fetches its cases
/// (`profile::restore::fetch_cases`).
fn fetch_cases(
    dir: &Path,
    out: &Out,
    peer: &str,
    bind: std::net::SocketAddr,
    lan: bool,
) -> Result<()> {
    let s = open(dir)?;
    let (_, r) = mdo::profile::restore::fetch_cases(s, peer, bind, lan);
    let f = r?;
    let ids: Vec<String> = f.cases.iter().map(|c| c.to_hex()).collect();
    out.print(
        json!({ "peers": 1, "ops_received": f.stats.ops_received, "chunks_received": f.stats.chunks_received, "ops_sent": f.stats.ops_sent, "chunks_sent": f.stats.chunks_sent, "restored_cases": ids.len(), "cases": ids }),
        || format!("{} casus(sen) teruggehaald: {}", ids.len(), ids.join(", ")),
    );
    Ok(())
}
