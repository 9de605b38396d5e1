//! The network shell around the sans-IO sync protocol ([`crate::core::sync`]): one iroh endpoint
//! per device (its node key *is* the device's Ed25519 identity, so the remote node id that iroh's
//! TLS authenticates is the remote device id), ALPN [`ALPN`], frames over one bidirectional QUIC
//! stream per session. No relays, no address lookup, no port mapping: peers are dialled by direct
//! address (tickets, remembered peers); optionally local-network discovery (mDNS), a self-hosted
//! relay, or the public relays, per [`NetConfig`].

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use std::time::Duration;

use iroh::endpoint::{
    NetReportConfig, QuicTransportConfig, RecvStream, SendStream, VarInt, presets,
};
use iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey};
use mdo_crypto::{CaseId, DeviceId, DeviceSecret};
use tokio::sync::{Mutex, Notify, Semaphore};

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
    /// The profile could not store or read what the network brought.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
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
        .transport_config(transport_config())
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

/// How long a peer may take for the QUIC/TLS handshake, and for its hello once a session starts.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a session waits for the peer's next frame (or for the peer to take ours) before it
/// ends: a peer that stops answering holds nothing for longer.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(30);
/// Most connections a serving node keeps at once with peers that are no device of any case it
/// holds (strangers, joiners, a storage peer's first contact); more are refused. Participants'
/// and storage peers' devices do not count.
pub const MAX_STRANGERS: usize = 16;
/// Bytes read from the network at a time: a frame's buffer grows with what arrived, never to the
/// length its header claims before the bytes are there.
const READ_CHUNK: usize = 64 << 10;
/// QUIC limits per connection: a session uses one stream at a time in each direction, so a few
/// streams suffice; the connection's receive window bounds what a peer can make this node buffer.
const MAX_STREAMS: u32 = 4;
const RECEIVE_WINDOW: u32 = 2 << 20;
const STREAM_RECEIVE_WINDOW: u32 = 1 << 20;

fn transport_config() -> QuicTransportConfig {
    QuicTransportConfig::builder()
        .max_concurrent_bidi_streams(VarInt::from_u32(MAX_STREAMS))
        .max_concurrent_uni_streams(VarInt::from_u32(0))
        .receive_window(VarInt::from_u32(RECEIVE_WINDOW))
        .stream_receive_window(VarInt::from_u32(STREAM_RECEIVE_WINDOW))
        .build()
}

async fn write(send: &mut SendStream, m: &Msg) -> Result<(), String> {
    match tokio::time::timeout(IDLE_TIMEOUT, send.write_all(&m.encode())).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!(
            "the peer took nothing for {} s",
            IDLE_TIMEOUT.as_secs()
        )),
    }
}

/// Reads one frame of at most `max` bytes, waiting at most `wait` for it. The buffer grows with
/// the bytes that arrive (in steps of [`READ_CHUNK`]), so a header claiming a large frame costs
/// nothing until the bytes are actually sent.
async fn read(recv: &mut RecvStream, max: usize, wait: Duration) -> Result<Msg, String> {
    match tokio::time::timeout(wait, read_frame(recv, max)).await {
        Ok(r) => r,
        Err(_) => Err(format!("the peer sent nothing for {} s", wait.as_secs())),
    }
}

async fn read_frame(recv: &mut RecvStream, max: usize) -> Result<Msg, String> {
    let mut len = [0u8; 4];
    recv.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let n = Msg::frame_len(&len)
        .map_err(|e| e.to_string())?
        .ok_or("short frame header")?;
    if n > max {
        return Err(format!(
            "a frame of {n} bytes where at most {max} are accepted now (before a shared case is open, only small frames are)"
        ));
    }
    let mut body = Vec::with_capacity(n.min(READ_CHUNK));
    while body.len() < n {
        let want = (n - body.len()).min(READ_CHUNK);
        let chunk = recv
            .read_chunk(want)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("the stream ended inside a frame")?;
        body.extend_from_slice(&chunk);
    }
    Msg::decode(&body).map_err(|e| e.to_string())
}

/// Runs one session over a stream pair: sends our hello, then answers the peer's messages until
/// both sides are done. The session is about the cases this device holds and those its user
/// asked for (`cases`, or every held and accepted case when `None`); nothing else is opened, so
/// nothing else is stored. Every wait is bounded: the hello by [`HANDSHAKE_TIMEOUT`], each later
/// frame by [`IDLE_TIMEOUT`], and frames are small until a case is open
/// ([`Session::max_frame`]). The profile is locked only while a message is handled, never while
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
        let cases = match cases {
            Some(c) => c,
            None => {
                let mut c = held.clone();
                for a in guard.accepted_cases().map_err(|e| e.to_string())? {
                    if !c.contains(&a) {
                        c.push(a);
                    }
                }
                c
            }
        };
        let mut replica = StoreReplica::new(&mut guard);
        replica.prepare();
        let (session, hello) = Session::start(peer, cases, &replica);
        (session, hello, held, replica.into_rights())
    };
    let result = async {
        write(send, &hello).await?;
        while !session.finished() {
            let wait = if session.cases().is_empty() {
                HANDSHAKE_TIMEOUT
            } else {
                IDLE_TIMEOUT
            };
            let msg = read(recv, session.max_frame(), wait).await?;
            let handled = {
                let mut guard = profile.lock().await;
                let mut replica =
                    StoreReplica::with_rights(&mut guard, std::mem::take(&mut rights));
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
        Ok(())
    }
    .await;
    // Whatever way the session ended: a case this device did not hold before and whose log (as
    // far as it arrived) does not name it, as a participant's device or a storage peer, is not
    // kept. Only cases this device asked for can be in the session at all.
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
    result.map(|()| session.stats)
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
    let _ = tokio::time::timeout(Duration::from_secs(5), send.stopped()).await;
    conn.close(0u32.into(), b"done");
    Ok(stats)
}

/// The key work a node owes after a session brought new ops: the application layer's
/// (`profile::keys::key_work`), handed in so the transport does none of its own.
pub type KeyWork = fn(&mut Profile, &[CaseId]) -> Result<usize, crate::store::StoreError>;

/// What a node does when a session ends: the caller's key work, then the caller's report.
#[derive(Clone)]
struct OnDone {
    key_work: KeyWork,
    report: Arc<dyn Fn(DeviceId, Result<Stats, String>) + Send + Sync>,
}

/// Connections kept open for live updates, each with its own push task: the change loop only
/// wakes them, so a slow or silent peer delays nobody but itself.
#[derive(Clone, Default)]
struct Live(Arc<std::sync::Mutex<Vec<Pusher>>>);

/// A live connection's id and the bell of its push task.
type Pusher = (usize, Arc<Notify>);

impl Live {
    /// Registers `conn` and starts its push task, which ends when the connection closes.
    fn add(
        &self,
        conn: &iroh::endpoint::Connection,
        profile: &Arc<Mutex<Profile>>,
        on_done: &OnDone,
    ) {
        let wake = Arc::new(Notify::new());
        if let Ok(mut v) = self.0.lock() {
            v.push((conn.stable_id(), wake.clone()));
        }
        let (conn, profile, on_done) = (conn.clone(), profile.clone(), on_done.clone());
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = conn.closed() => break,
                    _ = wake.notified() => {}
                }
                let r = push(&conn, &profile).await;
                after(&profile, device_of(conn.remote_id()), r, &on_done).await;
            }
        });
    }
    fn remove(&self, c: &iroh::endpoint::Connection) {
        if let Ok(mut v) = self.0.lock() {
            v.retain(|(id, _)| *id != c.stable_id());
        }
    }
    /// Wakes every push task (one that is busy runs once more when it is done).
    fn changed(&self) {
        if let Ok(v) = self.0.lock() {
            for (_, wake) in v.iter() {
                wake.notify_one();
            }
        }
    }
}

/// Runs one session on a new stream of a live connection (this side opens it).
async fn push(
    conn: &iroh::endpoint::Connection,
    profile: &Mutex<Profile>,
) -> Result<Stats, String> {
    let (mut send, mut recv) = tokio::time::timeout(IDLE_TIMEOUT, conn.open_bi())
        .await
        .map_err(|_| "the peer accepts no new session".to_string())?
        .map_err(|e| e.to_string())?;
    // The connection stays open, so the finished stream's last frames are delivered without
    // waiting for the peer's acknowledgement here.
    run_session(
        profile,
        device_of(conn.remote_id()),
        None,
        &mut send,
        &mut recv,
    )
    .await
}

/// Whether `peer` is a device (participant's or storage peer's) of a case this node holds.
async fn is_partner(profile: &Mutex<Profile>, peer: DeviceId) -> bool {
    let p = profile.lock().await;
    p.case_ids().unwrap_or_default().into_iter().any(|c| {
        p.case_devices(c)
            .map(|d| d.contains(&peer))
            .unwrap_or(false)
    })
}

/// Answers every session a peer opens on `conn` until it closes. A partner's connection is
/// registered for live pushes meanwhile. A stranger (`permit` held: no device of any case this
/// node holds) gets one session; if that made it a partner (a storage peer's first sync with
/// a case its operator accepted) it stays as one, otherwise the connection is closed: it is no
/// sync partner and gets no pushes.
async fn keep(
    conn: iroh::endpoint::Connection,
    profile: Arc<Mutex<Profile>>,
    on_done: OnDone,
    live: Live,
    mut permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let peer = device_of(conn.remote_id());
    if permit.is_none() {
        live.add(&conn, &profile, &on_done);
    }
    loop {
        let accepted = if permit.is_some() {
            tokio::time::timeout(HANDSHAKE_TIMEOUT, conn.accept_bi())
                .await
                .ok()
        } else {
            // A partner's connection may idle between sessions (QUIC keep-alives hold it).
            Some(conn.accept_bi().await)
        };
        let Some(Ok((mut send, mut recv))) = accepted else {
            break;
        };
        let r = run_session(&profile, peer, None, &mut send, &mut recv).await;
        after(&profile, peer, r, &on_done).await;
        if permit.is_some() {
            if !is_partner(&profile, peer).await {
                conn.close(0u32.into(), b"no case in common");
                break;
            }
            permit = None;
            live.add(&conn, &profile, &on_done);
        }
    }
    live.remove(&conn);
    if permit.is_some() {
        conn.close(0u32.into(), b"no case in common");
    }
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
        let cases: Vec<CaseId> = stats.ops_changed.iter().copied().collect();
        let _ = (on_done.key_work)(&mut p, &cases);
    }
    (on_done.report)(peer, result);
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
const POLL: Duration = Duration::from_millis(200);

/// Runs the node until the endpoint closes: accepts peers (each connection stays open and may
/// carry many sessions), dials the remembered peers, and — live — whenever this profile's store
/// changes (`wake` from this process, or another process such as the CLI, seen by polling the
/// store's change mark) wakes the push task of every connected partner, so new chunks reach
/// them immediately; each partner's pushes run on their own, so a slow or silent peer stalls
/// only itself. Peers that are no device of a case this node holds are strangers: at most
/// [`MAX_STRANGERS`] at once (more are refused), each gets one session with small frames and
/// short timeouts and no pushes. Sessions lock the profile only per message. `on_done` is told
/// the outcome of each session.
pub async fn serve(
    ep: Endpoint,
    cfg: NetConfig,
    profile: Arc<Mutex<Profile>>,
    wake: Wake,
    key_work: KeyWork,
    on_done: impl Fn(DeviceId, Result<Stats, String>) + Send + Sync + 'static,
) {
    let on_done = OnDone {
        key_work,
        report: Arc::new(on_done),
    };
    let live = Live::default();
    let strangers = Arc::new(Semaphore::new(MAX_STRANGERS));
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
                tokio::time::timeout(Duration::from_secs(5), ep.connect(addr, ALPN)).await
            {
                let r = push(&conn, &profile).await;
                after(&profile, device_of(conn.remote_id()), r, &on_done).await;
                keep(conn, profile, on_done, live, None).await;
            }
        });
    }
    // Live: wake every partner's push task when the store changes.
    {
        let (profile, live) = (profile.clone(), live.clone());
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
                // What these sessions receive moves the mark again: the next round forwards it
                // to the other peers (a round that brings nothing new does not).
                live.changed();
            }
        });
    }
    while let Some(incoming) = ep.accept().await {
        // Every connection counts as a stranger until its peer is known: the handshake too.
        let Ok(permit) = strangers.clone().try_acquire_owned() else {
            incoming.refuse();
            (on_done.report)(
                DeviceId([0; 32]),
                Err(format!(
                    "a connection was refused: {MAX_STRANGERS} unknown peers are connected already"
                )),
            );
            continue;
        };
        let (profile, on_done, live) = (profile.clone(), on_done.clone(), live.clone());
        tokio::spawn(async move {
            let conn = match tokio::time::timeout(HANDSHAKE_TIMEOUT, incoming).await {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => {
                    (on_done.report)(DeviceId([0; 32]), Err(e.to_string()));
                    return;
                }
                Err(_) => {
                    (on_done.report)(DeviceId([0; 32]), Err("the handshake took too long".into()));
                    return;
                }
            };
            let peer = device_of(conn.remote_id());
            if conn.alpn() == ALPN_JOIN {
                let r = tokio::time::timeout(HANDSHAKE_TIMEOUT, answer_join(&conn, &profile))
                    .await
                    .unwrap_or_else(|_| Err("the join request took too long".into()));
                (on_done.report)(peer, r.map(|_| Stats::default()));
                drop(permit);
                return;
            }
            let permit = if is_partner(&profile, peer).await {
                None
            } else {
                Some(permit)
            };
            keep(conn, profile, on_done, live, permit).await;
        });
    }
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
