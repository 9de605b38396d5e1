//! The node: accepts peers, dials the remembered ones, keeps partners' connections open and
//! pushes every change to them ([`serve`]).

use std::sync::Arc;
use std::time::Duration;

use iroh::Endpoint;
use mdo_crypto::{CaseId, DeviceId};
use tokio::sync::{Mutex, Notify, Semaphore};

use super::join::answer_join;
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
