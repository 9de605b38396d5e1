//! Invites: a one-time secret that lets a new device join a case. The store keeps only a hash
//! of the secret and, sealed under the device-local key, what the invite grants (role,
//! organisation, gezag) and who answered it. Tickets (what the inviter hands over) are in
//! [`crate::net::ticket`].
//!
//! States: `open` → (a device proves the secret) `pending` with a verification code both sides
//! show → (`mdo invite confirm CASE CODE`, or at once with `--auto-accept`) `used`: the
//! participant is in the membership log and its keys are wrapped. Expired or used invites refuse.
//!
//! An invite expires for every step, pending ones included: a code cannot be confirmed after the
//! expiry, and expired invites that were never used are deleted whenever invites are touched.
//! The verification code is stored only as a keyed hash (BLAKE3 under a device-local key, bound
//! to the invite), compared in constant time: the database alone does not give it away.

use mdo_crypto::{CaseId, DeviceId, PublicIdentity, secret::ct_eq};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

use super::{Profile, Result, StoreError, open_local, seal_local};
use crate::core::CoreError;
use crate::core::doc::ParticipantData;
use crate::core::model::Role;

const PURPOSE: &str = "invite";

#[derive(Serialize, Deserialize)]
struct Grant {
    role: Role,
    organisation: String,
    custody: bool,
    auto_accept: bool,
    expiry: i64,
    /// A device for this existing participant (their second laptop, a new phone) instead of a
    /// new participant.
    #[serde(default)]
    device_of: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Joiner {
    identity: String,
    name: String,
}

/// What the inviting device answers a join request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "kebab-case")]
pub enum JoinAnswer {
    /// The device is a participant now; sync the case.
    Accepted {
        /// Its participant id.
        member: String,
    },
    /// Waiting for the inviter to confirm the code.
    Pending {
        /// The verification code both sides show.
        code: String,
    },
    /// Refused, with the reason.
    Refused {
        /// Why.
        reason: String,
    },
}

/// Default lifetime of an invite (the threat model's 24 h).
pub const DEFAULT_VALID_HOURS: i64 = 24;

/// The verification code of an invite: six digits from the secret and both device keys.
pub fn verification_code(secret: &[u8; 16], inviter: DeviceId, joiner: DeviceId) -> String {
    let mut h = blake3::Hasher::new_derive_key("MDO 2026-11 invite verification code v1");
    h.update(secret);
    h.update(&inviter.0);
    h.update(&joiner.0);
    let b = h.finalize();
    let n = u32::from_le_bytes([
        b.as_bytes()[0],
        b.as_bytes()[1],
        b.as_bytes()[2],
        b.as_bytes()[3],
    ]) % 1_000_000;
    format!("{:03}-{:03}", n / 1000, n % 1000)
}

fn hash(secret: &[u8; 16]) -> Vec<u8> {
    blake3::derive_key("MDO 2026-11 invite secret hash v1", secret).to_vec()
}

/// The stored form of a verification code: keyed by the device (someone with only the database
/// cannot try the million codes) and bound to the invite; the code's digits only, so `123-456`
/// and `123456` are the same code.
fn code_hash(device: &mdo_crypto::DeviceSecret, invite: &[u8], code: &str) -> Vec<u8> {
    let key = device.derive_local_key("invite code");
    let mut h = blake3::Hasher::new_keyed(key.expose());
    h.update(invite);
    h.update(&[0]);
    for c in code.chars().filter(char::is_ascii_digit) {
        h.update(&[c as u8]);
    }
    h.finalize().as_bytes().to_vec()
}

impl Profile {
    /// Creates an invite to `case` for a participant with `role`/`organisation`/`custody`, valid
    /// for `valid_secs`. Returns the secret and its expiry (unix seconds). Chair/co-chair only.
    #[allow(clippy::too_many_arguments)]
    pub fn create_invite(
        &mut self,
        case: CaseId,
        role: Role,
        organisation: &str,
        custody: bool,
        auto_accept: bool,
        valid_secs: i64,
        device_of: Option<&str>,
    ) -> Result<([u8; 16], i64)> {
        let (c, _) = self.load_case(case)?;
        // A new participant: the chair or a co-chair. A device of a participant: that
        // participant (from a device they have) or the chair (the membership log's rule for
        // AddDevice).
        let allowed = c
            .my_member()
            .is_some_and(|m| m.is_active() && (m.admin || device_of.is_some_and(|d| d == m.id)));
        if !allowed {
            return Err(CoreError::NoAccess {
                compartment: "de deelnemers".into(),
                reason: match device_of {
                    None => "only the chair or a co-chair invites",
                    Some(_) => "only the participant themselves or the chair adds their device",
                }
                .into(),
            }
            .into());
        }
        // A device of a person reads all they read (and, from their own device, in all their
        // cases): never without the code comparison.
        if device_of.is_some() && auto_accept {
            return Err(CoreError::NoAccess {
                compartment: "de deelnemers".into(),
                reason: "a device of a participant is admitted only after the code comparison, never automatically".into(),
            }
            .into());
        }
        if let Some(d) = device_of
            && !c.state().members.get(d).is_some_and(|m| m.is_active())
        {
            return Err(CoreError::NotFound {
                what: "participant",
                id: d.to_string(),
            }
            .into());
        }
        self.purge_expired_invites()?;
        let secret: [u8; 16] = mdo_crypto::random_array()?;
        let expiry = self.now + valid_secs;
        let grant = serde_json::to_vec(&Grant {
            role,
            organisation: organisation.trim().into(),
            custody,
            auto_accept,
            expiry,
            device_of: device_of.map(str::to_string),
        })
        .map_err(|e| CoreError::Document(e.to_string()))?;
        let h = hash(&secret);
        let sealed = seal_local(&self.device, PURPOSE, &h, &grant)?;
        self.db.execute(
            "INSERT INTO invites(hash, case_id, grant_, state) VALUES (?1, ?2, ?3, 'open')",
            params![h, case.0.to_vec(), sealed],
        )?;
        Ok((secret, expiry))
    }

    /// Answers a join request that arrived over the network (the node calls this).
    pub fn answer_join(
        &mut self,
        case: CaseId,
        secret: &[u8; 16],
        identity: &PublicIdentity,
        name: &str,
    ) -> Result<JoinAnswer> {
        self.refresh_clock();
        self.purge_expired_invites()?;
        let h = hash(secret);
        type Row = (Vec<u8>, Vec<u8>, String, Option<Vec<u8>>);
        let row: Option<Row> = self
            .db
            .query_row(
                "SELECT case_id, grant_, state, joiner FROM invites WHERE hash = ?1",
                params![h],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()?;
        let refused = |r: &str| Ok(JoinAnswer::Refused { reason: r.into() });
        let Some((case_id, sealed, state, joiner)) = row else {
            return refused(
                "this invite is unknown here (a wrong ticket, or it expired and was deleted: ask for a new one)",
            );
        };
        if !ct_eq(&case_id, &case.0) {
            return refused("this invite is for another case");
        }
        let grant: Grant = serde_json::from_slice(&open_local(&self.device, PURPOSE, &h, &sealed)?)
            .map_err(|e| StoreError::Corrupt {
                path: self.dir.clone(),
                reason: format!("invite record: {e}"),
            })?;
        let me = self.device.device_id();
        let code = verification_code(secret, me, identity.device_id());
        let joiner: Option<Joiner> = joiner
            .map(|j| open_local(&self.device, PURPOSE, &h, &j))
            .transpose()?
            .and_then(|p| serde_json::from_slice(&p).ok());
        let same_device = joiner
            .as_ref()
            .is_some_and(|j| j.identity == hex::encode(identity.to_bytes()));
        match state.as_str() {
            "used" if same_device => {
                // A new participant's id comes from their device; another device of an
                // existing participant joins as that participant.
                return Ok(JoinAnswer::Accepted {
                    member: grant
                        .device_of
                        .clone()
                        .unwrap_or_else(|| super::person_id(identity.device_id())),
                });
            }
            "used" => return refused("this invite was already used"),
            _ if self.now > grant.expiry => {
                return refused("this invite has expired; ask for a new one");
            }
            "pending" if !same_device => return refused("this invite was already used"),
            "pending" => return Ok(JoinAnswer::Pending { code }),
            _ => {}
        }
        let j = serde_json::to_vec(&Joiner {
            identity: hex::encode(identity.to_bytes()),
            name: name.trim().into(),
        })
        .map_err(|e| CoreError::Document(e.to_string()))?;
        let sealed_joiner = seal_local(&self.device, PURPOSE, &h, &j)?;
        self.db.execute(
            "UPDATE invites SET state = 'pending', joiner = ?2, code = ?3 WHERE hash = ?1",
            params![h, sealed_joiner, code_hash(&self.device, &h, &code)],
        )?;
        if grant.auto_accept {
            let member = self.admit(case, &h, &grant, identity, name)?;
            return Ok(JoinAnswer::Accepted { member });
        }
        Ok(JoinAnswer::Pending { code })
    }

    /// Names of the devices that answered an invite to `case` and wait for the inviter to
    /// compare codes and confirm (the codes themselves are not listed: the inviter types the
    /// code the joining device shows).
    pub fn pending_joins(&self, case: CaseId) -> Result<Vec<String>> {
        let mut stmt = self.db.prepare(
            "SELECT hash, joiner FROM invites WHERE case_id = ?1 AND state = 'pending' AND joiner IS NOT NULL",
        )?;
        let rows = stmt
            .query_map(params![case.0.to_vec()], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<std::result::Result<Vec<_>, _>>()?;
        let mut out = Vec::new();
        for (h, sealed) in rows {
            let j: Joiner =
                serde_json::from_slice(&open_local(&self.device, PURPOSE, &h, &sealed)?).map_err(
                    |e| StoreError::Corrupt {
                        path: self.dir.clone(),
                        reason: format!("invite record: {e}"),
                    },
                )?;
            out.push(j.name);
        }
        Ok(out)
    }

    /// The inviter confirms that the code on the joining device is `code`: the participant is
    /// added and its keys are wrapped. Returns the participant id.
    pub fn confirm_invite(&mut self, case: CaseId, code: &str) -> Result<String> {
        self.refresh_clock();
        self.purge_expired_invites()?;
        let code = code.trim();
        type Row = (Vec<u8>, Vec<u8>, Vec<u8>, Option<Vec<u8>>);
        let rows: Vec<Row> = {
            let mut st = self.db.prepare(
                "SELECT hash, grant_, joiner, code FROM invites WHERE case_id = ?1 AND state = 'pending' AND joiner IS NOT NULL",
            )?;
            st.query_map(params![case.0.to_vec()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
            })?
            .collect::<std::result::Result<_, _>>()?
        };
        // Every pending invite is compared (constant time each), not just up to the first match.
        let mut found = None;
        for (h, sealed, joiner, stored) in rows {
            let typed = code_hash(&self.device, &h, code);
            if ct_eq(&typed, stored.as_deref().unwrap_or_default()) && found.is_none() {
                found = Some((h, sealed, joiner));
            }
        }
        let Some((h, sealed, joiner)) = found else {
            return Err(CoreError::NotFound {
                what: "invite waiting for this code (or it has expired)",
                id: code.into(),
            }
            .into());
        };
        let corrupt = |e: String| StoreError::Corrupt {
            path: self.dir.clone(),
            reason: format!("invite record: {e}"),
        };
        let grant: Grant = serde_json::from_slice(&open_local(&self.device, PURPOSE, &h, &sealed)?)
            .map_err(|e| corrupt(e.to_string()))?;
        let j: Joiner = serde_json::from_slice(&open_local(&self.device, PURPOSE, &h, &joiner)?)
            .map_err(|e| corrupt(e.to_string()))?;
        let identity = hex::decode(&j.identity)
            .ok()
            .and_then(|b| PublicIdentity::from_bytes(&b).ok())
            .ok_or_else(|| corrupt("joiner identity".into()))?;
        self.admit(case, &h, &grant, &identity, &j.name)
    }

    /// Deletes the invites that expired without being used (their secret and any code can no
    /// longer be used); used ones stay, so a joiner that asks again hears it is in.
    pub fn purge_expired_invites(&mut self) -> Result<usize> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = {
            let mut st = self
                .db
                .prepare("SELECT hash, grant_ FROM invites WHERE state != 'used'")?;
            st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<std::result::Result<_, _>>()?
        };
        let mut gone = 0;
        for (h, sealed) in rows {
            let expired = open_local(&self.device, PURPOSE, &h, &sealed)
                .ok()
                .and_then(|p| serde_json::from_slice::<Grant>(&p).ok())
                .is_some_and(|g| self.now > g.expiry);
            if expired {
                gone += self
                    .db
                    .execute("DELETE FROM invites WHERE hash = ?1", params![h])?;
            }
        }
        Ok(gone)
    }

    /// Adds `identity` as a device of `member` (this profile's own person) in every other case
    /// held here where that person is an active participant. Cases where the person was
    /// removed, or where the device already belongs to someone, are left as they are: a removed
    /// participant receives nothing new, on any device.
    fn add_device_everywhere(
        &mut self,
        paired_in: CaseId,
        member: &str,
        identity: &PublicIdentity,
    ) -> Result<Vec<CaseId>> {
        let mut added = Vec::new();
        for other in self.case_ids()? {
            if other == paired_in {
                continue;
            }
            // A case that cannot be read here is skipped; the pairing of the others stands.
            let Ok((mut c, _)) = self.load_case(other) else {
                continue;
            };
            let st = c.state();
            let active = st.members.get(member).is_some_and(|m| m.is_active());
            if !active || st.device_owner.contains_key(&identity.device_id()) {
                continue;
            }
            // A case whose log refuses it (this device itself revoked there, say) is skipped:
            // the pairing in the case it was made for stands.
            let op = c.membership(
                &self.device,
                crate::core::membership::Action::AddDevice {
                    member: member.to_string(),
                    device: identity.clone(),
                },
            );
            if op.is_err() {
                continue;
            }
            self.commit(&mut c)?;
            added.push(other);
        }
        Ok(added)
    }

    fn admit(
        &mut self,
        case: CaseId,
        h: &[u8],
        grant: &Grant,
        identity: &PublicIdentity,
        name: &str,
    ) -> Result<String> {
        let (mut c, _) = self.load_case(case)?;
        if let Some(member) = &grant.device_of {
            // Another device of an existing participant: it reads what they read.
            c.membership(
                &self.device,
                crate::core::membership::Action::AddDevice {
                    member: member.clone(),
                    device: identity.clone(),
                },
            )?;
            self.commit(&mut c)?;
            self.db.execute(
                "UPDATE invites SET state = 'used' WHERE hash = ?1",
                params![h],
            )?;
            // One's own new device (not one a chair adds for someone else): paired for all of
            // this person's cases at once, so a new phone needs one pairing, not one per case.
            if *member == self.me.person {
                self.add_device_everywhere(case, member, identity)?;
            }
            return Ok(member.clone());
        }
        let member = super::person_id(identity.device_id());
        let name = if name.trim().is_empty() {
            member.clone()
        } else {
            name.trim().to_string()
        };
        c.add_participant(
            &self.device,
            ParticipantData {
                id: member.clone(),
                name,
                role: grant.role.id().into(),
                organisation: grant.organisation.clone(),
                custody: grant.custody,
                chair: false,
                devices: Vec::new(),
            },
            Some(identity.clone()),
        )?;
        self.commit(&mut c)?;
        self.db.execute(
            "UPDATE invites SET state = 'used' WHERE hash = ?1",
            params![h],
        )?;
        Ok(member)
    }
}
