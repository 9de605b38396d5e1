//! Invites, the inviter's confirmation and the one join client.
//!
//! The inviter makes a one-time ticket (which case, where to find the inviting device, a secret
//! stored only as a keyed hash, an expiry); the joining device sends a join request over the
//! join ALPN; both show a verification code and the inviter confirms it; the joining device
//! then syncs the case, does its key work and syncs once more. The command line (`mdo invite`,
//! `mdo join`) and the app call these functions; the transport is `net`'s.

use std::net::SocketAddr;

use mdo_crypto::CaseId;
use tokio::sync::Mutex;

use crate::core::model::Role;
use crate::core::sync::Stats;
use crate::net::{self, NetConfig, ticket::Ticket};
use crate::store::Profile;
use crate::store::invites::JoinAnswer;

use super::{Error, Result, Session};

/// An invite for a new participant of one case.
#[derive(Debug, Clone)]
pub struct Invite {
    /// The new participant's role.
    pub role: Role,
    /// Their organisation.
    pub organisation: String,
    /// A parent with gezag.
    pub custody: bool,
    /// Skip the code comparison (scripted or already-trusted channels only).
    pub auto_accept: bool,
    /// Hours the invite stays valid.
    pub valid_hours: i64,
    /// A device of this existing participant (one's own second laptop or new phone), not a new
    /// participant.
    pub device_of: Option<String>,
}

impl Session {
    /// Makes a one-time invite ticket for `case`. The ticket tells the new device where to find
    /// this one, so this device's node must be reachable (`mdo serve`, or the app open).
    pub fn invite(&mut self, case: CaseId, i: &Invite) -> Result<Ticket> {
        self.participant_only("invite anyone")?;
        if !(0..=24 * 14).contains(&i.valid_hours) {
            return Err("een uitnodiging is hoogstens 14 dagen geldig".into());
        }
        let (c, _) = self.load(case)?;
        match &i.device_of {
            None => super::members::check_may_join(&c, i.role, &i.organisation)?,
            // The membership log's rule for add-device, said before anything is made.
            Some(d) => {
                if !c
                    .my_member()
                    .is_some_and(|m| m.is_active() && (m.admin || m.id == *d))
                {
                    return Err("alleen de deelnemer zelf, vanaf een eigen apparaat, of de voorzitter kan een apparaat toevoegen".into());
                }
                if !c.state().members.get(d).is_some_and(|m| m.is_active()) {
                    return Err(Error::Said(format!(
                        "'{d}' doet niet (meer) mee aan deze casus"
                    )));
                }
            }
        }
        let p = self.store_mut();
        // Where this device's node is reached: its direct addresses and its relay (the node
        // stores them when it starts, [`net::own_addr`]).
        let known: Vec<iroh::EndpointAddr> = p
            .node_addrs()?
            .iter()
            .filter_map(|a| net::parse_peer(a).ok())
            .collect();
        let addrs: Vec<SocketAddr> = known
            .iter()
            .flat_map(|a| a.ip_addrs().copied())
            .filter(|a| !a.ip().is_unspecified())
            .take(net::ticket::MAX_ADDRS)
            .collect();
        let relay = known.iter().find_map(|a| a.relay_urls().next().cloned());
        if addrs.is_empty() && relay.is_none() {
            return Err("dit apparaat is nog niet bereikbaar: start eerst `mdo serve` of open de app; een uitnodiging vertelt het nieuwe apparaat waar het dit apparaat vindt".into());
        }
        let (secret, expiry) = p.create_invite(
            case,
            i.role,
            &i.organisation,
            i.custody,
            i.auto_accept,
            i.valid_hours * 3600,
            i.device_of.as_deref(),
        )?;
        Ok(Ticket {
            case,
            node: p.device().device_id().0,
            addrs,
            relay,
            secret,
            expiry,
        })
    }

    /// The inviter confirms the code the joining device shows; returns the new participant id.
    pub fn confirm_join(&mut self, case: CaseId, code: &str) -> Result<String> {
        self.store_mut()
            .confirm_invite(case, code)
            .map_err(|e| match e {
                crate::store::StoreError::Core(crate::core::CoreError::NotFound { .. }) => {
                    Error::Said(format!(
                        "geen aanmelding met code {}: vergelijk de code nog eens met het nieuwe apparaat",
                        code.trim()
                    ))
                }
                e => e.into(),
            })
    }

    /// Names of devices that answered an invite to `case` and wait for the code to be
    /// confirmed.
    pub fn pending_joins(&self, case: CaseId) -> Result<Vec<String>> {
        Ok(self.store().pending_joins(case)?)
    }
}

/// The network settings of `session` and a runtime for one exchange on an endpoint of its own
/// (a join round, fetching a restored profile's cases).
pub(super) fn network(
    session: &Session,
    lan: bool,
) -> Result<(NetConfig, tokio::runtime::Runtime)> {
    let cfg = NetConfig::from_settings(&session.store().settings()?, lan)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|_| {
            Error::Said("het netwerk van dit apparaat kon niet starten; probeer het opnieuw".into())
        })?;
    Ok((cfg, rt))
}

/// What the joining device says when it took the inviter's relay as its own (`join_round`).
pub const RELAY_ADOPTED: &str = "Dit apparaat gebruikt nu de relay uit de uitnodiging";

/// Whether `t` names a relay that this profile now uses because of it.
pub fn relay_adopted(session: &Session, t: &Ticket) -> Option<String> {
    let url = t.relay.as_ref()?.to_string();
    let s = session.store().settings().ok()?;
    (s.relay.as_deref() == Some(url.as_str())).then_some(url)
}

/// One round of joining with ticket `t`, on a network endpoint of its own that is closed again
/// afterwards (the app's join: it asks again each second while the answer is pending).
/// `bind`: the local address. The session goes to the async side for the round and is
/// handed back with the outcome.
pub fn join_once(
    session: Session,
    t: &Ticket,
    bind: SocketAddr,
    lan: bool,
    code_compared: bool,
) -> (Session, Result<(JoinAnswer, Stats)>) {
    if let Err(e) = session
        .participant_only("join a case as a participant; a case names it with `mdo storage add`")
    {
        return (session, Err(e));
    }
    let (cfg, rt) = match network(&session, lan) {
        Ok((cfg, rt)) => (cfg.for_ticket(t), rt),
        Err(e) => return (session, Err(e)),
    };
    let name = session.me().name.clone();
    let profile = Mutex::new(session.into_store());
    let answer = rt.block_on(async {
        let ep = {
            let p = profile.lock().await;
            net::endpoint(p.device(), bind, &cfg).await?
        };
        let r = join_round(&ep, &profile, &cfg, t, &name, code_compared).await;
        ep.close().await;
        r
    });
    drop(rt);
    (Session::from_store(profile.into_inner()), answer)
}

/// One round of joining a case with ticket `t` — the one join client that `mdo join` and the
/// app share: ask the inviter; when accepted, remember the inviter, sync the case, do this
/// device's key work and sync once more if it made keys. A pending answer carries the code the
/// inviter must confirm: the caller shows it and asks again; a refusal says why.
///
/// `code_compared`: an earlier round showed the code and the person compared it with the
/// inviter. Only then does a device without a relay of its own take the inviter's relay as its
/// own (decision, docs/deployment.md "Devices and the relay": a ticket that skipped the
/// comparison — or came from an impostor — never changes where this device goes); the caller
/// says so ([`RELAY_ADOPTED`]).
pub async fn join_round(
    ep: &iroh::Endpoint,
    profile: &Mutex<Profile>,
    cfg: &NetConfig,
    t: &Ticket,
    name: &str,
    code_compared: bool,
) -> Result<(JoinAnswer, Stats)> {
    let identity = profile.lock().await.device().public_identity().clone();
    let peer = cfg.dial(net::ticket_addr(t)?);
    let answer = net::request_join(ep, peer.clone(), t, &identity, name).await?;
    let mut stats = Stats::default();
    if let JoinAnswer::Accepted { member } = &answer {
        {
            let mut p = profile.lock().await;
            p.remember_peer(&peer)?;
            // The inviter's relay becomes this device's relay when it has none and the code
            // was compared: the inviter's organisation runs it for the devices of its cases, and
            // this device is reached there from now on.
            if let Some(url) = t.relay.as_ref().filter(|_| code_compared) {
                let mut s = p.settings()?;
                if s.relay.is_none() && !s.public_relays {
                    s.relay = Some(url.to_string());
                    p.set_settings(&s)?;
                }
            }
        }
        stats = net::sync_with(ep, profile, peer.clone(), Some(vec![t.case])).await?;
        // Admitted as another device of an existing participant: this profile is that person.
        if *member != profile.lock().await.me().person {
            profile
                .lock()
                .await
                .adopt_person(member, t.case)
                .map_err(|e| match e {
                    crate::store::StoreError::Core(crate::core::CoreError::NoAccess { .. }) => {
                        Error::Said("dit apparaat doet al mee als iemand anders; koppel een apparaat waarop nog geen casus van uzelf staat".into())
                    }
                    e => e.into(),
                })?;
            // One's own device was paired for all of the person's cases at once: take up the
            // others the inviter holds with this device now (a restoring session: the inviter
            // offers only the cases whose log names this device).
            let s = net::restore_from(ep, profile, peer.clone()).await?;
            stats.ops_received += s.ops_received;
            stats.chunks_received += s.chunks_received;
        }
        let cases = profile.lock().await.case_ids()?;
        let made = super::keys::key_work(&mut *profile.lock().await, &cases)?;
        if made > 0 {
            let s = net::sync_with(ep, profile, peer, Some(cases)).await?;
            stats.ops_received += s.ops_received;
            stats.chunks_received += s.chunks_received;
        }
    }
    Ok((answer, stats))
}
