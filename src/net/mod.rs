//! The network shell around the sans-IO sync protocol ([`crate::core::sync`]): one iroh endpoint
//! per device (its node key *is* the device's Ed25519 identity, so the remote node id that iroh's
//! TLS authenticates is the remote device id), ALPN [`ALPN`], frames over one bidirectional QUIC
//! stream per session. No relays, no address lookup, no port mapping: peers are dialled by direct
//! address (tickets, remembered peers); optionally local-network discovery (mDNS), a self-hosted
//! relay, or the public relays, per [`NetConfig`].

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use iroh::endpoint::{NetReportConfig, RecvStream, SendStream, presets};
use iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey};
use mdo_crypto::{CaseId, DeviceId, DeviceSecret};
use tokio::sync::Mutex;

use crate::core::sync::{Msg, Session, Stats};
use crate::store::Profile;
use crate::store::replica::StoreReplica;

pub mod ticket;

/// The ALPN of the sync protocol; the number is the protocol version.
pub const ALPN: &[u8] = b"mdo/sync/1";
/// The ALPN of join requests (a device answering an invite).
pub const ALPN_JOIN: &[u8] = b"mdo/join/1";
const MAX_JOIN: usize = 64 << 10;

/// A join request: proves the invite secret and presents the joining device. Its `Debug` leaves
/// the secret out (a log line must not hand the invite to whoever reads the log).
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinRequest {
    /// The case.
    pub case: CaseId,
    /// The invite secret (hex).
    pub secret: String,
    /// The joining device's public identity (hex).
    pub identity: String,
    /// The name the person gives.
    pub name: String,
}

impl std::fmt::Debug for JoinRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinRequest")
            .field("case", &self.case)
            .field("secret", &"<redacted>")
            .field("identity", &self.identity)
            .field("name", &self.name)
            .finish()
    }
}

/// Network errors, each with a message a person can act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The endpoint could not start.
    #[error("cannot start the network endpoint on {addr}: {reason}")]
    Bind {
        /// Where.
        addr: String,
        /// Why.
        reason: String,
    },
    /// A peer address could not be read.
    #[error("'{0}' is not a peer address: write NODE-ID@IP:PORT (the serving device prints it)")]
    BadPeer(String),
    /// The peer could not be reached.
    #[error("cannot reach peer {peer}: {reason}")]
    Connect {
        /// Who.
        peer: String,
        /// Why.
        reason: String,
    },
    /// The session broke off or the peer broke the protocol.
    #[error("sync with {peer} stopped: {reason} (nothing received so far is lost; sync again)")]
    Session {
        /// Who.
        peer: String,
        /// Why.
        reason: String,
    },
}

/// mDNS service name of MDO nodes on the local network.
pub const MDNS_SERVICE: &str = "mdo-sync";

/// How a device's endpoint reaches others: by default only direct addresses (tickets,
/// remembered peers); optionally the local network (mDNS), a self-hosted relay, or the public
/// relays. Nothing here talks to the internet unless the user turned it on.
#[derive(Debug, Clone, Default)]
pub struct NetConfig {
    /// Announce this node and find peers by id on the local network (mDNS).
    pub lan: bool,
    /// A self-hosted relay; every device of a case that sets it meets the others there.
    pub relay: Option<iroh::RelayUrl>,
    /// The iroh project's public relays.
    pub public_relays: bool,
}

impl NetConfig {
    /// The configuration of a profile's settings; `lan` turns local discovery on for this run.
    pub fn from_settings(
        s: &crate::store::settings::Settings,
        lan: bool,
    ) -> Result<Self, NetError> {
        let relay = s
            .relay
            .as_deref()
            .map(|u| {
                u.parse::<iroh::RelayUrl>().map_err(|e| NetError::Bind {
                    addr: u.into(),
                    reason: format!("the relay setting is not a usable URL ({e}); change it with `mdo settings set relay URL`"),
                })
            })
            .transpose()?;
        Ok(NetConfig {
            lan: lan || s.lan,
            relay,
            public_relays: s.public_relays,
        })
    }

    fn relay_mode(&self) -> RelayMode {
        match (&self.relay, self.public_relays) {
            (Some(url), false) => RelayMode::custom([url.clone()]),
            (Some(url), true) => {
                let map = iroh::defaults::prod::default_relay_map();
                map.extend(&iroh::RelayMap::from(url.clone()));
                RelayMode::Custom(map)
            }
            (None, true) => RelayMode::Default,
            (None, false) => RelayMode::Disabled,
        }
    }

    /// The address to dial for `addr`: with a self-hosted relay, the peer is also sought there.
    pub fn dial(&self, addr: EndpointAddr) -> EndpointAddr {
        match &self.relay {
            Some(url) if addr.relay_urls().next().is_none() => addr.with_relay_url(url.clone()),
            _ => addr,
        }
    }
}

/// A device's endpoint, bound to `bind` (e.g. `127.0.0.1:0` in tests, `0.0.0.0:0` on a LAN),
/// with nothing that talks to the internet unless `cfg` says so; with `cfg.lan`, it also
/// announces itself and finds peers by node id on the local network (mDNS), so two laptops in one
/// school need no address.
pub async fn endpoint(
    device: &DeviceSecret,
    bind: SocketAddr,
    cfg: &NetConfig,
) -> Result<Endpoint, NetError> {
    let err = |e: String| NetError::Bind {
        addr: bind.to_string(),
        reason: e,
    };
    let key = SecretKey::from_bytes(device.seed().expose().expose());
    let mut b = Endpoint::builder(presets::Minimal)
        .secret_key(key)
        .relay_mode(cfg.relay_mode())
        .clear_address_lookup()
        .clear_ip_transports()
        .bind_addr(bind)
        .map_err(|e| err(e.to_string()))?
        .net_report_config(NetReportConfig::minimal())
        .alpns(vec![ALPN.to_vec(), ALPN_JOIN.to_vec()]);
    if cfg.lan {
        b = b.address_lookup(
            iroh_mdns_address_lookup::MdnsAddressLookup::builder().service_name(MDNS_SERVICE),
        );
    }
    b.bind().await.map_err(|e| err(e.to_string()))
}

/// The device id behind an endpoint id (both are the Ed25519 public key).
pub fn device_of(id: iroh::EndpointId) -> DeviceId {
    DeviceId(*id.as_bytes())
}

/// `NODE-ID@IP:PORT` of a bound endpoint (its first bound socket).
pub fn address_of(ep: &Endpoint) -> Vec<String> {
    ep.bound_sockets()
        .into_iter()
        .map(|s| format!("{}@{s}", ep.id()))
        .collect()
}

/// Parses `NODE-ID@IP:PORT`, or a bare `NODE-ID` (found on the local network with `--lan`).
pub fn parse_peer(s: &str) -> Result<EndpointAddr, NetError> {
    let Some((id, addr)) = s.trim().split_once('@') else {
        let id: iroh::EndpointId = s.trim().parse().map_err(|_| NetError::BadPeer(s.into()))?;
        return Ok(EndpointAddr::new(id));
    };
    let id: iroh::EndpointId = id.parse().map_err(|_| NetError::BadPeer(s.into()))?;
    let addr: SocketAddr = addr.parse().map_err(|_| NetError::BadPeer(s.into()))?;
    Ok(EndpointAddr::new(id).with_ip_addr(addr))
}

async fn write(send: &mut SendStream, m: &Msg) -> Result<(), String> {
    send.write_all(&m.encode()).await.map_err(|e| e.to_string())
}

async fn read(recv: &mut RecvStream) -> Result<Msg, String> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let n = Msg::frame_len(&len)
        .map_err(|e| e.to_string())?
        .ok_or("short frame header")?;
    let mut body = vec![0u8; n];
    recv.read_exact(&mut body)
        .await
        .map_err(|e| e.to_string())?;
    Msg::decode(&body).map_err(|e| e.to_string())
}

/// Runs one session over a stream pair: sends our hello, then answers the peer's messages until
/// both sides are done. The profile is locked only while a message is handled, never while
/// waiting on the network (two nodes pushing to each other at once cannot deadlock). A
/// malformed message ends the session with a reason sent to the peer.
pub async fn run_session(
    profile: &Mutex<Profile>,
    peer: DeviceId,
    cases: Option<Vec<CaseId>>,
    send: &mut SendStream,
    recv: &mut RecvStream,
) -> Result<Stats, String> {
    let (mut session, hello, held, mut rights) = {
        let mut guard = profile.lock().await;
        guard.refresh_clock();
        let held = guard.case_ids().map_err(|e| e.to_string())?;
        let cases = cases.unwrap_or_else(|| held.clone());
        let mut replica = StoreReplica::new(&mut guard);
        replica.prepare();
        let (session, hello) = Session::start(peer, cases, &replica);
        (session, hello, held, replica.into_rights())
    };
    write(send, &hello).await?;
    while !session.finished() {
        let msg = read(recv).await?;
        let handled = {
            let mut guard = profile.lock().await;
            let mut replica = StoreReplica::with_rights(&mut guard, rights);
            let r = session.handle(msg, &mut replica);
            rights = replica.into_rights();
            r
        };
        match handled {
            Ok(out) => {
                for m in &out {
                    write(send, m).await?;
                }
            }
            Err(e) => {
                let _ = write(
                    send,
                    &Msg::Refuse {
                        reason: e.to_string(),
                    },
                )
                .await;
                return Err(e.to_string());
            }
        }
    }
    let _ = send.finish();
    // A case this device asked for but whose log does not name it (as a participant's device or
    // a storage peer) is not kept.
    let mut guard = profile.lock().await;
    let me = guard.device().device_id();
    for c in session.cases() {
        if !held.contains(&c)
            && !guard
                .case_devices(c)
                .map(|d| d.contains(&me))
                .unwrap_or(false)
        {
            guard.forget_case(c).map_err(|e| e.to_string())?;
        }
    }
    Ok(session.stats)
}

/// Dials `peer` and syncs `cases` (all shared cases when `None`).
pub async fn sync_with(
    ep: &Endpoint,
    profile: &Mutex<Profile>,
    peer: EndpointAddr,
    cases: Option<Vec<CaseId>>,
) -> Result<Stats, NetError> {
    let who = peer.id.to_string();
    let conn = ep
        .connect(peer, ALPN)
        .await
        .map_err(|e| NetError::Connect {
            peer: who.clone(),
            reason: e.to_string(),
        })?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| NetError::Connect {
        peer: who.clone(),
        reason: e.to_string(),
    })?;
    let stats = run_session(
        profile,
        device_of(conn.remote_id()),
        cases,
        &mut send,
        &mut recv,
    )
    .await
    .map_err(|reason| NetError::Session {
        peer: who.clone(),
        reason,
    })?;
    // Let the last frames arrive before closing.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), send.stopped()).await;
    conn.close(0u32.into(), b"done");
    Ok(stats)
}

type OnDone = Arc<dyn Fn(DeviceId, Result<Stats, String>) + Send + Sync>;

/// Connections kept open for live updates.
#[derive(Clone, Default)]
struct Live(Arc<std::sync::Mutex<Vec<iroh::endpoint::Connection>>>);

impl Live {
    fn add(&self, c: &iroh::endpoint::Connection) {
        if let Ok(mut v) = self.0.lock() {
            v.push(c.clone());
        }
    }
    fn remove(&self, c: &iroh::endpoint::Connection) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|x| x.stable_id() != c.stable_id());
        }
    }
    fn all(&self) -> Vec<iroh::endpoint::Connection> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Runs one session on a new stream of a live connection (this side opens it).
async fn push(
    conn: &iroh::endpoint::Connection,
    profile: &Mutex<Profile>,
) -> Result<Stats, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    let r = run_session(
        profile,
        device_of(conn.remote_id()),
        None,
        &mut send,
        &mut recv,
    )
    .await;
    // The connection stays open, so the finished stream's last frames are delivered without
    // waiting for the peer's acknowledgement here.
    r
}

/// Answers every session a peer opens on `conn` until it closes; the connection stays
/// registered for live pushes meanwhile.
async fn keep(
    conn: iroh::endpoint::Connection,
    profile: Arc<Mutex<Profile>>,
    on_done: OnDone,
    live: Live,
) {
    let peer = device_of(conn.remote_id());
    live.add(&conn);
    while let Ok((mut send, mut recv)) = conn.accept_bi().await {
        let r = run_session(&profile, peer, None, &mut send, &mut recv).await;
        after(&profile, peer, r, &on_done).await;
    }
    live.remove(&conn);
}

async fn after(
    profile: &Mutex<Profile>,
    peer: DeviceId,
    result: Result<Stats, String>,
    on_done: &OnDone,
) {
    if let Ok(stats) = &result
        && !stats.ops_changed.is_empty()
    {
        // New ops may ask this device for key work (hand keys to a new member ...), in the
        // cases that changed only.
        let mut p = profile.lock().await;
        let _ = key_work(&mut p, stats.ops_changed.iter().copied());
    }
    on_done(peer, result);
}

/// Wakes a running node at once when this process changed the profile (the UI, a bench), so
/// its connected peers get the change without waiting for the store poll. Cheap to clone.
#[derive(Clone, Default)]
pub struct Wake(Arc<tokio::sync::Notify>);

impl Wake {
    /// Tells the node that the store changed.
    pub fn changed(&self) {
        self.0.notify_one();
    }
}

/// How often a node looks at the store for changes made by other processes (the CLI).
const POLL: std::time::Duration = std::time::Duration::from_millis(200);

/// Runs the node until the endpoint closes: accepts peers (each connection stays open and may
/// carry many sessions), dials the remembered peers, and — live — whenever this profile's store
/// changes (`wake` from this process, or another process such as the CLI, seen by polling the
/// store's change mark) runs a session with every connected peer at once, so new chunks reach
/// them immediately. Sessions lock the profile only per message. `on_done` is told the outcome of
/// each session.
pub async fn serve(
    ep: Endpoint,
    cfg: NetConfig,
    profile: Arc<Mutex<Profile>>,
    wake: Wake,
    on_done: impl Fn(DeviceId, Result<Stats, String>) + Send + Sync + 'static,
) {
    let on_done: OnDone = Arc::new(on_done);
    let live = Live::default();
    // Dial the remembered peers: whoever of them runs a node gets live updates from now on.
    let known = profile.lock().await.known_peers().unwrap_or_default();
    for (_, text) in known {
        let Ok(addr) = parse_peer(&text) else {
            continue;
        };
        let addr = cfg.dial(addr);
        let (ep, profile, on_done, live) =
            (ep.clone(), profile.clone(), on_done.clone(), live.clone());
        tokio::spawn(async move {
            if let Ok(Ok(conn)) =
                tokio::time::timeout(std::time::Duration::from_secs(5), ep.connect(addr, ALPN))
                    .await
            {
                let r = push(&conn, &profile).await;
                after(&profile, device_of(conn.remote_id()), r, &on_done).await;
                keep(conn, profile, on_done, live).await;
            }
        });
    }
    // Live: push to every connected peer when the store changes.
    {
        let (profile, on_done, live) = (profile.clone(), on_done.clone(), live.clone());
        tokio::spawn(async move {
            let mut last = profile.lock().await.change_mark().unwrap_or(0);
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = wake.0.notified() => {}
                }
                let now = profile.lock().await.change_mark().unwrap_or(last);
                if now == last {
                    continue;
                }
                last = now;
                let pushes: Vec<_> = live
                    .all()
                    .into_iter()
                    .map(|conn| {
                        let (profile, on_done) = (profile.clone(), on_done.clone());
                        tokio::spawn(async move {
                            let r = push(&conn, &profile).await;
                            after(&profile, device_of(conn.remote_id()), r, &on_done).await;
                        })
                    })
                    .collect();
                for p in pushes {
                    let _ = p.await;
                }
                // What these sessions received moves the mark again: the next round forwards
                // it to the other peers (a round that brings nothing new does not).
            }
        });
    }
    while let Some(incoming) = ep.accept().await {
        let (profile, on_done, live) = (profile.clone(), on_done.clone(), live.clone());
        tokio::spawn(async move {
            let conn = match incoming.await {
                Ok(c) => c,
                Err(e) => {
                    on_done(DeviceId([0; 32]), Err(e.to_string()));
                    return;
                }
            };
            let peer = device_of(conn.remote_id());
            if conn.alpn() == ALPN_JOIN {
                let r = answer_join(&conn, &profile).await;
                on_done(peer, r.map(|_| Stats::default()));
                return;
            }
            keep(conn, profile, on_done, live).await;
        });
    }
}

/// Does this device's key work for `cases` (after ops arrived): returns how many key ops were
/// made.
pub fn key_work(
    p: &mut Profile,
    cases: impl IntoIterator<Item = CaseId>,
) -> Result<usize, crate::store::StoreError> {
    let mut made = 0;
    for id in cases {
        let (mut case, report) = p.load_case(id)?;
        for (chunk, reason) in &report.rejected {
            log_line(&format!(
                "chunk {chunk} of case {id} was rejected and kept as evidence: {reason}"
            ));
        }
        made += p.commit(&mut case)?.ops.len();
    }
    Ok(made)
}

/// Writes a line to stderr (the node's log).
fn log_line(line: &str) {
    eprintln!("mdo: {line}");
}

async fn answer_join(
    conn: &iroh::endpoint::Connection,
    profile: &Mutex<Profile>,
) -> Result<(), String> {
    let (mut send, mut recv) = conn.accept_bi().await.map_err(|e| e.to_string())?;
    let bytes = recv
        .read_to_end(MAX_JOIN)
        .await
        .map_err(|e| format!("join request: {e}"))?;
    let answer = match serde_json::from_slice::<JoinRequest>(&bytes) {
        Err(e) => crate::store::invites::JoinAnswer::Refused {
            reason: format!("malformed join request: {e}"),
        },
        Ok(req) => {
            let secret: Option<[u8; 16]> = hex::decode(&req.secret)
                .ok()
                .and_then(|b| b.try_into().ok());
            let identity = hex::decode(&req.identity)
                .ok()
                .and_then(|b| mdo_crypto::PublicIdentity::from_bytes(&b).ok())
                .filter(|i| i.device_id() == device_of(conn.remote_id()));
            match (secret, identity) {
                (Some(secret), Some(identity)) => {
                    let mut p = profile.lock().await;
                    p.answer_join(req.case, &secret, &identity, &req.name)
                        .unwrap_or_else(|e| crate::store::invites::JoinAnswer::Refused {
                            reason: e.to_string(),
                        })
                }
                _ => crate::store::invites::JoinAnswer::Refused {
                    reason: "the request's secret or identity is malformed or not this device's"
                        .into(),
                },
            }
        }
    };
    let out = serde_json::to_vec(&answer).map_err(|e| e.to_string())?;
    send.write_all(&out).await.map_err(|e| e.to_string())?;
    let _ = send.finish();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), send.stopped()).await;
    Ok(())
}

/// Sends a join request for ticket `t` to the inviter at `addr` (its [`ticket_addr`], through
/// [`NetConfig::dial`]) and returns the inviter's answer.
pub async fn request_join(
    ep: &Endpoint,
    addr: EndpointAddr,
    t: &ticket::Ticket,
    identity: &mdo_crypto::PublicIdentity,
    name: &str,
) -> Result<crate::store::invites::JoinAnswer, NetError> {
    let who = addr.id.to_string();
    let err = |e: String| NetError::Connect {
        peer: who.clone(),
        reason: e,
    };
    let conn = ep
        .connect(addr, ALPN_JOIN)
        .await
        .map_err(|e| err(e.to_string()))?;
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| err(e.to_string()))?;
    let req = JoinRequest {
        case: t.case,
        secret: hex::encode(t.secret),
        identity: hex::encode(identity.to_bytes()),
        name: name.into(),
    };
    let body = serde_json::to_vec(&req).map_err(|e| err(e.to_string()))?;
    send.write_all(&body)
        .await
        .map_err(|e| err(e.to_string()))?;
    let _ = send.finish();
    let answer = recv
        .read_to_end(MAX_JOIN)
        .await
        .map_err(|e| err(e.to_string()))?;
    conn.close(0u32.into(), b"done");
    serde_json::from_slice(&answer).map_err(|e| err(format!("malformed answer: {e}")))
}

/// The endpoint address in a ticket.
pub fn ticket_addr(t: &ticket::Ticket) -> Result<EndpointAddr, NetError> {
    let id =
        iroh::EndpointId::from_bytes(&t.node).map_err(|_| NetError::BadPeer("ticket".into()))?;
    let mut addr = EndpointAddr::new(id);
    for a in &t.addrs {
        addr = addr.with_ip_addr(*a);
    }
    Ok(addr)
}
