//! Join requests (ALPN [`ALPN_JOIN`]): a device answering an invite proves the invite secret and
//! presents itself; the inviter answers with a [`JoinAnswer`](crate::store::invites::JoinAnswer).

use std::sync::Arc;

use iroh::endpoint::{Accepting, Connection};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr};
use mdo_crypto::CaseId;
use tokio::sync::Mutex;

use super::node::{Report, Strangers, isolated};
use super::{ALPN_JOIN, HANDSHAKE_TIMEOUT, NetError, device_of, ticket};
use crate::core::sync::Stats;
use crate::store::Profile;

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

/// Join requests ([`ALPN_JOIN`]) on connections peers open: a joiner is no partner yet, so its
/// connection holds a stranger's permit; one request, answered within [`HANDSHAKE_TIMEOUT`].
#[derive(Clone)]
pub(super) struct JoinProtocol {
    pub(super) profile: Arc<Mutex<Profile>>,
    pub(super) report: Report,
    pub(super) strangers: Arc<Strangers>,
}

impl std::fmt::Debug for JoinProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JoinProtocol").finish_non_exhaustive()
    }
}

impl ProtocolHandler for JoinProtocol {
    async fn on_accepting(&self, accepting: Accepting) -> Result<Connection, AcceptError> {
        self.strangers.handshake(accepting).await
    }

    async fn accept(&self, conn: Connection) -> Result<(), AcceptError> {
        let Some(permit) = self.strangers.take(&conn) else {
            // Not counted, so not served (cannot happen: `handshake` took one).
            conn.close(0u32.into(), b"too many unknown peers");
            return Ok(());
        };
        let (profile, report) = (self.profile.clone(), self.report.clone());
        isolated(async move {
            let r = tokio::time::timeout(HANDSHAKE_TIMEOUT, answer_join(&conn, &profile))
                .await
                .unwrap_or_else(|_| Err("the join request took too long".into()));
            report(device_of(conn.remote_id()), r.map(|_| Stats::default()));
            drop(permit);
        })
        .await
    }
}

async fn answer_join(conn: &Connection, profile: &Mutex<Profile>) -> Result<(), String> {
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
