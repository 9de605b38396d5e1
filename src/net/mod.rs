//! The network shell around the sans-IO sync protocol ([`crate::core::sync`]): one iroh endpoint
//! per device (its node key *is* the device's Ed25519 identity, so the remote node id that iroh's
//! TLS authenticates is the remote device id), ALPN [`ALPN`], frames over one bidirectional QUIC
//! stream per session. No relays, no address lookup, no port mapping: peers are dialled by direct
//! address (tickets, remembered peers); optionally local-network discovery (mDNS), a self-hosted
//! relay, or the public relays, per [`NetConfig`].

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::time::Duration;

use iroh::endpoint::{
    NetReportConfig, QuicTransportConfig, RecvStream, SendStream, VarInt, presets,
};
use iroh::{Endpoint, EndpointAddr, RelayMode, SecretKey};
use mdo_crypto::{CaseId, DeviceId, DeviceSecret};
use tokio::sync::Mutex;

use crate::core::sync::{Msg, Session, Stats};
use crate::store::Profile;
use crate::store::replica::StoreReplica;

mod join;
mod node;
pub mod ticket;

pub use join::{JoinRequest, request_join};
pub use node::{KeyWork, RETRY, Wake, serve};

/// The ALPN of the sync protocol; the number is the protocol version.
pub const ALPN: &[u8] = b"mdo/sync/1";
/// The ALPN of join requests (a device answering an invite).
pub const ALPN_JOIN: &[u8] = b"mdo/join/1";

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
    #[error(
        "'{0}' is not a peer address: write NODE-ID@IP:PORT (the serving device prints it), or NODE-ID@IP:PORT,RELAY-URL"
    )]
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

    /// The relay map of `url`: a relay behind TLS (`https://`) is also asked for this device's
    /// public address (QUIC address discovery, which the deployment guide turns on with TLS); a
    /// plain-HTTP relay (`http://`, a test network or a relay behind a TLS proxy) only relays.
    fn relay_config(url: &iroh::RelayUrl) -> iroh::RelayConfig {
        if url.scheme() == "https" {
            iroh::RelayConfig::from(url.clone())
        } else {
            iroh::RelayConfig::new(url.clone(), None)
        }
    }

    fn relay_mode(&self) -> RelayMode {
        match (&self.relay, self.public_relays) {
            (Some(url), false) => RelayMode::Custom(iroh::RelayMap::from(Self::relay_config(url))),
            (Some(url), true) => {
                let map = iroh::defaults::prod::default_relay_map();
                map.extend(&iroh::RelayMap::from(Self::relay_config(url)));
                RelayMode::Custom(map)
            }
            (None, true) => RelayMode::Default,
            (None, false) => RelayMode::Disabled,
        }
    }

    /// Whether this configuration uses any relay.
    pub fn uses_relay(&self) -> bool {
        self.relay.is_some() || self.public_relays
    }

    /// The configuration for answering invite `t`: a device that has no relay of its own uses
    /// the inviter's (the ticket carries it), so a joiner who cannot reach the inviter directly
    /// (a parent at home behind NAT) still can join.
    pub fn for_ticket(&self, t: &ticket::Ticket) -> NetConfig {
        let mut cfg = self.clone();
        if cfg.relay.is_none()
            && let Some(url) = &t.relay
        {
            cfg.relay = Some(url.clone());
        }
        cfg
    }

    /// The address to dial for `addr`: with a self-hosted relay, a peer whose remembered
    /// address names no relay is also sought there (the devices of a region share one).
    pub fn dial(&self, addr: EndpointAddr) -> EndpointAddr {
        match &self.relay {
            Some(url) if addr.relay_urls().next().is_none() => addr.with_relay_url(url.clone()),
            _ => addr,
        }
    }
}

/// What the endpoint measures of the network: nothing without a relay; with one, the relay's
/// latency over HTTP(S) — without it no home relay is chosen, and a relay without QUIC address
/// discovery (a plain-HTTP one) would never be used. No captive-portal check (it asks port 80 of
/// whatever host).
fn net_report(cfg: &NetConfig) -> NetReportConfig {
    let mut r = NetReportConfig::minimal();
    r.https_probes = cfg.uses_relay();
    r
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
        .net_report_config(net_report(cfg))
        .transport_config(transport_config())
        .alpns(vec![ALPN.to_vec(), ALPN_JOIN.to_vec()]);
    if cfg.lan {
        b = b.address_lookup(
            iroh_mdns_address_lookup::MdnsAddressLookup::builder().service_name(MDNS_SERVICE),
        );
    }
    b.bind().await.map_err(|e| err(e.to_string()))
}

/// Binds a serving node's endpoint. Where `bind` leaves the port to the system (port 0), the port
/// this node had last time (`previous`) is tried first, so the peers that remember this device
/// reach it again after a restart (issue 18); if that port is taken now, any free port.
pub async fn serving_endpoint(
    device: &DeviceSecret,
    bind: SocketAddr,
    cfg: &NetConfig,
    previous: Option<u16>,
) -> Result<Endpoint, NetError> {
    if bind.port() == 0
        && let Some(port) = previous.filter(|p| *p != 0)
    {
        let mut again = bind;
        again.set_port(port);
        match endpoint(device, again, cfg).await {
            Ok(ep) => return Ok(ep),
            Err(e) => tracing::debug!("the previous port {port} is not free ({e}); taking another"),
        }
    }
    endpoint(device, bind, cfg).await
}

/// The device id behind an endpoint id (both are the Ed25519 public key).
pub fn device_of(id: iroh::EndpointId) -> DeviceId {
    DeviceId(*id.as_bytes())
}

/// How long a node waits at its start for its relay, so that the address it hands out (in
/// invites, to peers) names it; after that it hands out the configured relay anyway.
pub const RELAY_WAIT: Duration = Duration::from_secs(10);

/// Where this endpoint can be reached: its direct addresses (each interface's, when bound to
/// all of them) and, with a relay, the relay — waited for up to [`RELAY_WAIT`].
pub async fn own_addr(ep: &Endpoint, cfg: &NetConfig) -> EndpointAddr {
    if cfg.uses_relay() {
        let _ = tokio::time::timeout(RELAY_WAIT, ep.online()).await;
    }
    let mut addr = ep.addr();
    if addr.ip_addrs().next().is_none() {
        for s in ep.bound_sockets() {
            addr = addr.with_ip_addr(s);
        }
    }
    if addr.relay_urls().next().is_none()
        && let Some(url) = &cfg.relay
    {
        addr = addr.with_relay_url(url.clone());
    }
    addr
}

/// `NODE-ID@IP:PORT` of a bound endpoint, one per bound socket (what a person types; the node
/// stores [`own_addr`] in full).
pub fn address_of(ep: &Endpoint) -> Vec<String> {
    ep.bound_sockets()
        .into_iter()
        .map(|s| format!("{}@{s}", ep.id()))
        .collect()
}

/// The text form of a peer's address (`NODE-ID@ADDR,ADDR,…`; [`crate::store::peers::format`]).
pub fn format_peer(addr: &EndpointAddr) -> String {
    crate::store::peers::format(addr)
}

/// Parses `NODE-ID@IP:PORT` (what `mdo serve` prints), several addresses separated by commas
/// with relay URLs among them, or a bare `NODE-ID` (found on the local network with `--lan`).
pub fn parse_peer(s: &str) -> Result<EndpointAddr, NetError> {
    crate::store::peers::parse(s).ok_or_else(|| NetError::BadPeer(s.into()))
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
    run_session_as(profile, peer, Offer::Cases(cases), send, recv).await
}

/// What this side of a session brings.
enum Offer {
    /// These cases (all held and accepted ones when `None`).
    Cases(Option<Vec<CaseId>>),
    /// A device restored from its recovery phrase: the cases the peer holds with it
    /// ([`Session::start_restoring`]).
    Restore,
}

async fn run_session_as(
    profile: &Mutex<Profile>,
    peer: DeviceId,
    offer: Offer,
    send: &mut SendStream,
    recv: &mut RecvStream,
) -> Result<Stats, String> {
    let (mut session, hello, held, mut rights) = {
        let mut guard = profile.lock().await;
        guard.refresh_clock();
        let held = guard.case_ids().map_err(|e| e.to_string())?;
        let mut replica_cases = None;
        if let Offer::Cases(cases) = offer {
            replica_cases = Some(match cases {
                Some(c) => c,
                None => {
                    // The held cases the peer is a device of (from the index: a storage peer
                    // holds thousands, and reads no other case's log for this session), and
                    // the accepted ones not held yet.
                    let mut c = guard.cases_of_device(peer).map_err(|e| e.to_string())?;
                    for a in guard.accepted_cases().map_err(|e| e.to_string())? {
                        if !c.contains(&a) && !held.contains(&a) {
                            c.push(a);
                        }
                    }
                    c
                }
            });
        }
        let mut replica = StoreReplica::new(&mut guard);
        match &replica_cases {
            Some(cases) => replica.prepare_for(cases),
            // Restoring: whatever the peer offers may be a case held here already.
            None => replica.prepare(),
        }
        let (session, hello) = match replica_cases {
            Some(cases) => Session::start(peer, cases, &replica),
            None => Session::start_restoring(peer),
        };
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
    dial_session(ep, profile, peer, Offer::Cases(cases)).await
}

/// A device restored from its recovery phrase dials `peer` and takes up the cases the peer
/// holds with it (its own cases: the peer offers only those; anything whose log does not name
/// this device is forgotten). Returns the session's counters; the cases are in the store.
pub async fn restore_from(
    ep: &Endpoint,
    profile: &Mutex<Profile>,
    peer: EndpointAddr,
) -> Result<Stats, NetError> {
    dial_session(ep, profile, peer, Offer::Restore).await
}

async fn dial_session(
    ep: &Endpoint,
    profile: &Mutex<Profile>,
    peer: EndpointAddr,
    offer: Offer,
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
    let stats = run_session_as(
        profile,
        device_of(conn.remote_id()),
        offer,
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

/// The endpoint address in a ticket.
pub fn ticket_addr(t: &ticket::Ticket) -> Result<EndpointAddr, NetError> {
    let id =
        iroh::EndpointId::from_bytes(&t.node).map_err(|_| NetError::BadPeer("ticket".into()))?;
    let mut addr = EndpointAddr::new(id);
    for a in &t.addrs {
        addr = addr.with_ip_addr(*a);
    }
    if let Some(url) = &t.relay {
        addr = addr.with_relay_url(url.clone());
    }
    Ok(addr)
}
