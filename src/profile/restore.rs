//! A profile brought back from its recovery phrase (issue 16; `docs/sharing-rules.md` §11c):
//! the same identity under a new passphrase ([`Session::restore`]), and its cases fetched again
//! from a device of those cases or a storage peer ([`fetch_cases`]) — one flow for `mdo restore`
//! / `mdo sync --restore` and the app.

use std::net::SocketAddr;
use std::path::Path;

use mdo_crypto::{CaseId, KdfParams};
use tokio::sync::Mutex;

use crate::core::model::Role;
use crate::core::sync::Stats;
use crate::net;
use crate::store::Profile;

use super::invite::network;
use super::{Error, Result, Session};

impl Session {
    /// Brings a profile back from its 24-word recovery phrase: the same identity (participant id
    /// and device id), under a new passphrase, holding no case yet — its cases come back with
    /// [`fetch_cases`], and the keys it was given are in their logs, addressed to this identity.
    pub fn restore(
        dir: &Path,
        phrase: &str,
        pass: &str,
        name: &str,
        role: Role,
        organisation: &str,
        kdf: KdfParams,
    ) -> Result<Session> {
        let seed = mdo_crypto::DeviceSeed::from_recovery_phrase(phrase).map_err(|e| {
            Error::Said(format!(
                "de herstelzin klopt niet: {}. Controleer de 24 woorden en hun volgorde",
                recovery_hint(&e.to_string())
            ))
        })?;
        let store = Profile::restore(dir, pass, name, role, organisation, kdf, seed)?;
        Ok(Session { store })
    }
}

/// What [`fetch_cases`] brought back.
#[derive(Debug, Clone, Default)]
pub struct Fetched {
    /// The cases that are now on this device and were not before.
    pub cases: Vec<CaseId>,
    /// The sessions' counters.
    pub stats: Stats,
}

/// Fetches this identity's cases from `peer` (`NODE-ID@IP:PORT`): a restoring session (the
/// peer offers only the cases whose log names this device; anything else is forgotten), this
/// device's key work, and one ordinary sync to hand over what the key work made. The peer is
/// remembered, so later syncs find it.
pub fn fetch_cases(
    session: Session,
    peer: &str,
    bind: SocketAddr,
    lan: bool,
) -> (Session, Result<Fetched>) {
    if let Err(e) = session.participant_only("fetch cases as a participant") {
        return (session, Err(e));
    }
    let before = match session.case_ids() {
        Ok(c) => c,
        Err(e) => return (session, Err(e)),
    };
    let (cfg, rt) = match network(&session, lan) {
        Ok(x) => x,
        Err(e) => return (session, Err(e)),
    };
    let profile = Mutex::new(session.into_store());
    let result = rt.block_on(async {
        let addr = cfg.dial(net::parse_peer(peer.trim())?);
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let r = async {
            let mut stats = net::restore_from(&ep, &profile, addr.clone()).await?;
            profile.lock().await.remember_peer(&addr)?;
            let cases = profile.lock().await.case_ids()?;
            let made = super::keys::key_work(&mut *profile.lock().await, &cases)?;
            if made > 0 {
                let s = net::sync_with(&ep, &profile, addr, None).await?;
                stats.ops_sent += s.ops_sent;
                stats.chunks_sent += s.chunks_sent;
                stats.ops_received += s.ops_received;
                stats.chunks_received += s.chunks_received;
            }
            Ok::<Stats, Error>(stats)
        }
        .await;
        ep.close().await;
        r
    });
    drop(rt);
    let session = Session::from_store(profile.into_inner());
    let result = result.and_then(|stats| {
        let now = session.case_ids()?;
        Ok(Fetched {
            cases: now.into_iter().filter(|c| !before.contains(c)).collect(),
            stats,
        })
    });
    (session, result)
}

/// The recovery phrase's problem in Dutch (the crypto crate's messages are English).
fn recovery_hint(e: &str) -> String {
    let number = |after: &str| {
        e.split(after)
            .nth(1)
            .and_then(|t| t.split_whitespace().next())
            .map(|n| n.trim_matches(|c: char| !c.is_ascii_digit()).to_string())
            .unwrap_or_default()
    };
    if e.contains("not in the") {
        format!("woord {} staat niet in de woordenlijst", number("word "))
    } else if e.contains("checksum") {
        "de woorden passen niet bij elkaar (een woord is verkeerd of staat op de verkeerde plek)"
            .into()
    } else if e.contains("expected 24 words") {
        format!("het moeten 24 woorden zijn, het zijn er {}", number("got "))
    } else {
        "de woorden zijn niet te lezen".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phrase_problems_are_said_in_dutch() {
        assert_eq!(
            recovery_hint("invalid recovery phrase: word 5 is not in the BIP-39 English word list"),
            "woord 5 staat niet in de woordenlijst"
        );
        assert_eq!(
            recovery_hint("invalid recovery phrase: expected 24 words, got 23"),
            "het moeten 24 woorden zijn, het zijn er 23"
        );
        assert!(recovery_hint("the checksum does not match").contains("passen niet"));
    }
}
