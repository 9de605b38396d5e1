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

fn addr(s: &str) -> Result<SocketAddr> {
    s.parse()
        .with_context(|| format!("'{s}' is not an address like 0.0.0.0:0 or 127.0.0.1:4000"))
}

pub(crate) fn serve(dir: &Path, out: &Out, bind: &str) -> Result<()> {
    let bind = addr(bind)?;
    let p = open_profile(dir)?;
    let device = p.device().device_id();
    let profile = Arc::new(Mutex::new(p));
    runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind).await?
        };
        let addrs = net::address_of(&ep);
        out.print(json!({ "node": ep.id().to_string(), "device": device, "addrs": addrs }), || {
            format!("mdo serve: bereikbaar als {}", addrs.join(", "))
        });
        use std::io::Write;
        let _ = std::io::stdout().flush();
        let server = net::serve(ep.clone(), profile.clone(), |peer, r| match r {
            Ok(s) => eprintln!(
                "mdo: sync met {}: {} ops en {} stukken ontvangen, {} ops en {} stukken verstuurd{}",
                &peer.to_hex()[..10],
                s.ops_received,
                s.chunks_received,
                s.ops_sent,
                s.chunks_sent,
                if s.refused.is_empty() { String::new() } else { format!("; geweigerd: {}", s.refused.join("; ")) }
            ),
            Err(e) => eprintln!("mdo: sync met {} afgebroken: {e}", &peer.to_hex()[..10]),
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
    peer: &str,
    bind: &str,
) -> Result<()> {
    let bind = addr(bind)?;
    let peer = net::parse_peer(peer)?;
    let p = open_profile(dir)?;
    let cases = match case {
        Some(c) => Some(vec![match p.resolve_case(&c) {
            Ok(id) => id,
            // A case this device holds nothing of yet (just invited): ask for it.
            Err(_) => mdo::crypto::CaseId::from_hex(c.trim())
                .with_context(|| format!("no case '{c}' here; give its full id to fetch it"))?,
        }]),
        None => None,
    };
    let profile = Arc::new(Mutex::new(p));
    let total = runtime()?.block_on(async move {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind).await?
        };
        let mut total = mdo::core::sync::Stats::default();
        // A second round carries the key work the first one caused (keys handed to the peer).
        for _ in 0..2 {
            let s = net::sync_with(&ep, &profile, peer.clone(), cases.clone()).await?;
            total.ops_sent += s.ops_sent;
            total.ops_received += s.ops_received;
            total.chunks_sent += s.chunks_sent;
            total.chunks_received += s.chunks_received;
            total.refused.extend(s.refused);
            let made = {
                let mut p = profile.lock().await;
                net::key_work(&mut p)?
            };
            if made == 0 {
                break;
            }
        }
        ep.close().await;
        anyhow::Ok(total)
    })?;
    for r in &total.refused {
        eprintln!("mdo: warning: the peer sent something that was refused: {r}");
    }
    out.print(
        json!({ "peers": 1, "ops_sent": total.ops_sent, "ops_received": total.ops_received, "chunks_sent": total.chunks_sent, "chunks_received": total.chunks_received, "refused": total.refused.len() }),
        || {
            format!(
                "1 peer bereikt: {} ops en {} stukken ontvangen, {} ops en {} stukken verstuurd",
                total.ops_received, total.chunks_received, total.ops_sent, total.chunks_sent
            )
        },
    );
    Ok(())
}
