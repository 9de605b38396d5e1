//! The node: accepts peers, dials the remembered ones, keeps partners' connections open and
//! pushes every change to them ([`serve`]).
//!
//! The accept side is iroh's own [`Router`], one [`ProtocolHandler`] per ALPN: `SyncProtocol`
//! ([`ALPN`]) and `JoinProtocol` ([`ALPN_JOIN`](super::ALPN_JOIN)). What the node's own accept loop
//! did, they still do: at most [`MAX_STRANGERS`] unknown peers at once, counted from before the
//! handshake (the router's incoming filter takes the permit, `on_accepting` claims it; see
//! [`Strangers`]); the handshake and a join request each bounded by [`HANDSHAKE_TIMEOUT`]; a
//! stranger gets one session with small frames and no pushes, a partner stays connected and gets
//! live pushes; key work after sessions; every outcome reported. Where the router differs:
//! between the filter and `on_accepting` it reads the peer's ALPN itself, without a timeout of
//! ours — a connection whose handshake fails there is dropped without a report (the router only
//! logs it) and its permit comes back after [`HANDSHAKE_TIMEOUT`] rather than at once; one that
//! stalls there beyond that lives on until QUIC's idle timeout (30 s), no longer counted, and must win a
//! fresh permit to reach a handler. And a handler that panicked would stop the router (and close
//! the endpoint), so each connection's work runs on its own task, as before ([`isolated`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use iroh::Endpoint;
use iroh::endpoint::{Accepting, Connection, Incoming, IncomingAddr};
use iroh::protocol::{AcceptError, IncomingFilter, IncomingFilterOutcome, ProtocolHandler, Router};
use mdo_crypto::{CaseId, DeviceId};
use tokio::sync::{Mutex, Notify, OwnedSemaphorePermit, Semaphore};

use super::join::JoinProtocol;
use super::{
    ALPN, ALPN_JOIN, HANDSHAKE_TIMEOUT, IDLE_TIMEOUT, MAX_STRANGERS, NetConfig, device_of,
    parse_peer, run_session,
};
use crate::core::sync::Stats;
use crate::store::Profile;

/// The key work a node owes after a session brought new ops: the application layer's
/// (`profile::keys::key_work`), handed in so the transport does none of its own.
pub type KeyWork = fn(&mut Profile, &[CaseId]) -> Result<usize, crate::store::StoreError>;

/// What a node does when a session ends: the caller's key work, then the caller's report.
#[derive(Clone)]
struct OnDone {
    key_work: KeyWork,
    report: Report,
}

/// Connections kept open for live updates, each with its own push task: the change loop only
/// wakes them, so a slow or silent peer delays nobody but itself.
#[derive(Clone, Default)]
struct Live(Arc<std::sync::Mutex<Vec<Pusher>>>);

/// A live connection's id, its peer and the bell of its push task.
type Pusher = (usize, DeviceId, Arc<Notify>);

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
            v.push((conn.stable_id(), device_of(conn.remote_id()), wake.clone()));
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
            v.retain(|(id, _, _)| *id != c.stable_id());
        }
    }
    /// Whether a live connection with `peer` is open (either side dialled).
    fn has(&self, peer: DeviceId) -> bool {
        self.0
            .lock()
            .map(|v| v.iter().any(|(_, d, _)| *d == peer))
            .unwrap_or(false)
    }
    /// Wakes every push task (one that is busy runs once more when it is done).
    fn changed(&self) {
        if let Ok(v) = self.0.lock() {
            for (_, _, wake) in v.iter() {
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
    p.cases_of_device(peer).is_ok_and(|c| !c.is_empty())
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
/// the outcome of each session. Peers are accepted by an iroh [`Router`] (see the module
/// documentation), shut down when the endpoint closes; dropping the future aborts it.
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
    // The index of devices per case first (after a bulk import or an upgrade it may cover
    // thousands of cases): a peer's first session would otherwise wait for it.
    if let Err(e) = profile.lock().await.fresh_index() {
        tracing::warn!("the index of devices per case could not be brought up to date: {e}");
    }
    // Dial the remembered peers, and again — with backoff — whenever the link drops or the peer
    // is not there: whoever of them runs a node gets live updates, also after either side
    // restarted, without anyone doing anything.
    let known = profile.lock().await.known_peers().unwrap_or_default();
    for (peer, _) in known {
        let (ep, cfg, profile, on_done, live) = (
            ep.clone(),
            cfg.clone(),
            profile.clone(),
            on_done.clone(),
            live.clone(),
        );
        tokio::spawn(redial(peer, ep, cfg, profile, on_done, live));
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
    // The accept side: iroh's router, one handler per ALPN; every connection counts as a
    // stranger until its peer is known, its handshake too (see [`Strangers`]).
    let strangers = Arc::new(Strangers::new(on_done.report.clone()));
    let router = Router::builder(ep.clone())
        .incoming_filter(strangers.filter())
        .accept(
            ALPN,
            SyncProtocol {
                profile: profile.clone(),
                on_done: on_done.clone(),
                live,
                strangers: strangers.clone(),
            },
        )
        .accept(
            ALPN_JOIN,
            JoinProtocol {
                profile,
                report: on_done.report,
                strangers,
            },
        )
        .spawn();
    // Until the endpoint closes (its owner closes it, or the router stopped, which closes it);
    // then the router shuts down: no new connections, every handler ended. Dropping this future
    // instead drops the router, which aborts its accept loop and every handler with it.
    ep.closed().await;
    let _ = router.shutdown().await;
}

/// How a failed dial of a remembered peer is reported: this, then the seconds until the next
/// attempt (the app's sync line turns it into a time).
pub const RETRY: &str = "niet bereikbaar; opnieuw proberen over ";

/// The first wait before dialling a remembered peer again, and the longest.
const REDIAL_FIRST: Duration = Duration::from_millis(500);
const REDIAL_LONGEST: Duration = Duration::from_secs(300);

/// Keeps a link with remembered `peer`: dials it (at the address the store remembers now: a
/// later session may have learned a newer one), keeps the connection while it lasts, and after it
/// drops or when the peer cannot be reached waits — 0.5 s, 1 s, 2 s … up to 5 minutes, with
/// jitter (`backon`) — and dials again; a link that held resets the wait. While the peer itself
/// holds a live connection with this node, nothing is dialled. Ends when the endpoint closes.
/// Each failed attempt is reported, with when the next one comes, so the sync line can say so.
async fn redial(
    peer: DeviceId,
    ep: Endpoint,
    cfg: NetConfig,
    profile: Arc<Mutex<Profile>>,
    on_done: OnDone,
    live: Live,
) {
    use backon::BackoffBuilder;
    let schedule = || {
        backon::ExponentialBuilder::default()
            .with_min_delay(REDIAL_FIRST)
            .with_max_delay(REDIAL_LONGEST)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
    };
    let mut waits = schedule();
    loop {
        if ep.is_closed() {
            return;
        }
        if !live.has(peer) {
            let (text, heard) = {
                let p = profile.lock().await;
                let text = p
                    .known_peers()
                    .unwrap_or_default()
                    .into_iter()
                    .find(|(d, _)| *d == peer)
                    .map(|(_, a)| a);
                (text, p.dial_addr(peer).ok().flatten())
            };
            // No longer remembered: stop. Remembered but unreadable: wait, it may be rewritten.
            let Some(text) = text else {
                return;
            };
            // Where it was reached, and where partners said it is now.
            let dial = parse_peer(&text).map(|a| {
                cfg.dial(match &heard {
                    Some(h) => crate::store::peers::merge(&a, h),
                    None => a,
                })
            });
            let attempt = async {
                match dial {
                    Ok(addr) => ep.connect(addr, ALPN).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                }
            };
            match tokio::time::timeout(Duration::from_secs(5), attempt).await {
                Ok(Ok(conn)) => {
                    let r = push(&conn, &profile).await;
                    after(&profile, peer, r, &on_done).await;
                    keep(conn, profile.clone(), on_done.clone(), live.clone(), None).await;
                    // It held: the next drop starts the waits from the beginning.
                    waits = schedule();
                }
                Ok(Err(e)) => tracing::debug!("dialling {} failed: {e}", &peer.to_hex()[..10]),
                Err(_) => tracing::debug!("dialling {} timed out", &peer.to_hex()[..10]),
            }
        }
        let wait = waits.next().unwrap_or(REDIAL_LONGEST);
        if !live.has(peer) {
            (on_done.report)(peer, Err(format!("{RETRY}{}", wait.as_secs().max(1))));
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = ep.closed() => return,
        }
    }
}

/// What a node tells its caller about each session and refusal (the caller's `on_done`).
pub(super) type Report = Arc<dyn Fn(DeviceId, Result<Stats, String>) + Send + Sync>;

/// The count of connections with unknown peers, at most [`MAX_STRANGERS`] at once. A permit is
/// taken by the router's incoming filter, before the handshake starts, for the address the
/// connection comes from (beyond the limit the connection is refused there, before any TLS work);
/// the handler claims it in `on_accepting` (which bounds the handshake by [`HANDSHAKE_TIMEOUT`])
/// and hands it, once the handshake is done, to its `accept`: a partner's connection gives it
/// back, a stranger's and a joiner's hold it until they end. A permit not claimed within
/// [`HANDSHAKE_TIMEOUT`] — the handshake failed or stalled before its ALPN was known, where the
/// router drops the connection without asking a handler — is given back then; a connection that
/// reaches `on_accepting` after that needs a fresh permit or is refused.
pub(super) struct Strangers {
    permits: Arc<Semaphore>,
    /// Permits taken before the handshake, by remote address and when.
    arriving: std::sync::Mutex<Vec<(IncomingAddr, Instant, OwnedSemaphorePermit)>>,
    /// Permits of connections whose handshake completed, by connection, until `accept` takes
    /// them.
    connected: std::sync::Mutex<Vec<(usize, OwnedSemaphorePermit)>>,
    report: Report,
}

impl Strangers {
    fn new(report: Report) -> Self {
        Strangers {
            permits: Arc::new(Semaphore::new(MAX_STRANGERS)),
            arriving: Default::default(),
            connected: Default::default(),
            report,
        }
    }

    fn refused(&self) {
        (self.report)(
            DeviceId([0; 32]),
            Err(format!(
                "a connection was refused: {MAX_STRANGERS} unknown peers are connected already"
            )),
        );
    }

    /// A permit for a connection from `addr`: one taken for it before its handshake, else a
    /// fresh one. Permits left unclaimed for [`HANDSHAKE_TIMEOUT`] are given back first.
    fn claim(&self, addr: Option<&IncomingAddr>) -> Option<OwnedSemaphorePermit> {
        let mut arriving = self.arriving.lock().ok()?;
        arriving.retain(|(_, since, _)| since.elapsed() < HANDSHAKE_TIMEOUT);
        if let Some(addr) = addr
            && let Some(i) = arriving.iter().position(|(a, _, _)| a == addr)
        {
            return Some(arriving.swap_remove(i).2);
        }
        self.permits.clone().try_acquire_owned().ok()
    }

    /// The router's incoming filter: takes a permit before the handshake, or refuses.
    fn filter(self: &Arc<Self>) -> IncomingFilter {
        let this = self.clone();
        Arc::new(move |incoming: &Incoming| match this.claim(None) {
            Some(permit) => {
                if let Ok(mut a) = this.arriving.lock() {
                    a.push((incoming.remote_addr(), Instant::now(), permit));
                }
                IncomingFilterOutcome::Accept
            }
            None => {
                this.refused();
                IncomingFilterOutcome::Reject
            }
        })
    }

    /// `on_accepting` of every handler: claims the connection's permit (or refuses it), then
    /// completes the handshake within [`HANDSHAKE_TIMEOUT`]; the permit waits for `accept`.
    pub(super) async fn handshake(&self, accepting: Accepting) -> Result<Connection, AcceptError> {
        let Some(permit) = self.claim(Some(&accepting.remote_addr())) else {
            self.refused();
            return Err(std::io::Error::other("too many unknown peers").into());
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, accepting).await {
            Ok(Ok(conn)) => {
                if let Ok(mut c) = self.connected.lock() {
                    c.push((conn.stable_id(), permit));
                }
                Ok(conn)
            }
            Ok(Err(e)) => {
                (self.report)(DeviceId([0; 32]), Err(e.to_string()));
                Err(AcceptError::from_err(e))
            }
            Err(_) => {
                (self.report)(DeviceId([0; 32]), Err("the handshake took too long".into()));
                Err(std::io::Error::other("the handshake took too long").into())
            }
        }
    }

    /// The permit `handshake` took for `conn`.
    pub(super) fn take(&self, conn: &Connection) -> Option<OwnedSemaphorePermit> {
        let mut c = self.connected.lock().ok()?;
        let i = c.iter().position(|(id, _)| *id == conn.stable_id())?;
        Some(c.swap_remove(i).1)
    }
}

/// Runs a handler's work on its own task and waits for it: a panic ends that connection only
/// (the router's loop stops, and closes the endpoint, when a handler panics; the node's
/// connections used to run on their own tasks and still do). Cancelling the wait — the router
/// shutting down — aborts the task.
pub(super) async fn isolated(
    work: impl Future<Output = ()> + Send + 'static,
) -> Result<(), AcceptError> {
    struct AbortOnDrop(tokio::task::AbortHandle);
    impl Drop for AbortOnDrop {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let task = tokio::spawn(work);
    let _abort = AbortOnDrop(task.abort_handle());
    task.await.map_err(AcceptError::from_err)
}

/// The sync protocol ([`ALPN`]) on connections peers open: a partner's connection stays open for
/// many sessions and live pushes; a stranger (its permit held) gets one session ([`keep`]).
#[derive(Clone)]
struct SyncProtocol {
    profile: Arc<Mutex<Profile>>,
    on_done: OnDone,
    live: Live,
    strangers: Arc<Strangers>,
}

impl std::fmt::Debug for SyncProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncProtocol").finish_non_exhaustive()
    }
}

impl ProtocolHandler for SyncProtocol {
    async fn on_accepting(&self, accepting: Accepting) -> Result<Connection, AcceptError> {
        self.strangers.handshake(accepting).await
    }

    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let permit = self.strangers.take(&conn);
        let SyncProtocol {
            profile,
            on_done,
            live,
            ..
        } = self.clone();
        isolated(async move {
            let peer = device_of(conn.remote_id());
            let permit = if is_partner(&profile, peer).await {
                None
            } else if permit.is_some() {
                permit
            } else {
                // Not counted, so not served (cannot happen: `handshake` took one).
                conn.close(0u32.into(), b"too many unknown peers");
                return;
            };
            keep(conn, profile, on_done, live, permit).await;
        })
        .await
    }
}
