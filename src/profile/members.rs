//! The roster as the membership log knows it: adding participants, their devices, roles and
//! gezag, removing them, confirming a participant added in a conflict, and the storage peers
//! of a case. Each is one signed op; whether the recorder may make it is the core's rule
//! (`core::membership`), and what a removal means for keys is the commit's key work.

use mdo_crypto::{DeviceId, PublicIdentity};

use crate::core::case::{Case, new_id};
use crate::core::doc::ParticipantData;
use crate::core::membership::Action;
use crate::core::model::Role;
use crate::store::{Profile, person_id};

use super::{Error, Result};

/// A device identity as `mdo whoami` prints it (hex).
pub fn parse_identity(hex_text: &str) -> Result<PublicIdentity> {
    let bytes = hex::decode(hex_text.trim()).map_err(|_| {
        Error::Said(
            "dit is geen apparaat-identiteit: geef de hexadecimale tekst die `mdo whoami` op dat apparaat toont".into(),
        )
    })?;
    Ok(PublicIdentity::from_bytes(&bytes)?)
}

/// A device id (hex) as `mdo member list` shows it.
pub fn parse_device(hex_text: &str) -> Result<DeviceId> {
    Ok(DeviceId::from_hex(hex_text.trim())?)
}

/// A new participant for the roster.
#[derive(Debug, Clone)]
pub struct NewParticipant {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organisation.
    pub organisation: String,
    /// Holds gezag (parents).
    pub custody: bool,
    /// Co-chair.
    pub chair: bool,
    /// The participant's device, when known: the participant id is derived from it as their
    /// own device does.
    pub identity: Option<PublicIdentity>,
}

/// Whether a professional of `organisation` may join: the organiser's colleagues always; any
/// other organisation once the parents (and the child from 12) agreed that it joins the MDO, or
/// on a legal basis (`core::access::may_join`; seed 000:17, 000:25). Refused in words that
/// say what to do.
pub fn check_may_join(case: &Case, role: Role, organisation: &str) -> Result<()> {
    if crate::core::access::may_join(case.state(), organisation, role, case.today()) {
        return Ok(());
    }
    Err(Error::Said(format!(
        "{}. Leg eerst vast dat zij instemmen dat {} meedoet (Delen → ‘Toestemming vragen’, daarna per persoon ja of nee), of een wettelijke grondslag.",
        crate::core::membership::ConsentRule::NotCovered.dutch(),
        organisation.trim()
    )))
}

/// Adds a participant to the case (chair or co-chair); returns the participant id. A
/// professional of an organisation not yet at the table is refused until the consent for the
/// MDO names it ([`check_may_join`]).
pub fn add_participant(case: &mut Case, p: &Profile, n: NewParticipant) -> Result<String> {
    check_may_join(case, n.role, &n.organisation)?;
    let id = match &n.identity {
        Some(i) => person_id(i.device_id()),
        None => new_id()?,
    };
    case.add_participant(
        p.device(),
        ParticipantData {
            id: id.clone(),
            name: n.name,
            role: n.role.id().to_string(),
            organisation: n.organisation,
            custody: n.custody,
            chair: n.chair,
            devices: Vec::new(),
        },
        n.identity,
    )?;
    Ok(id)
}

/// Removes a participant: their keys rotate away, nothing new reaches them.
pub fn remove(case: &mut Case, p: &Profile, member: &str, reason: &str) -> Result<()> {
    case.membership(
        p.device(),
        Action::RemoveMember {
            member: member.to_string(),
            reason: reason.to_string(),
        },
    )?;
    Ok(())
}

/// Adds a device to a participant (default: the recorder themself); returns the participant.
pub fn add_device(
    case: &mut Case,
    p: &Profile,
    member: Option<String>,
    device: PublicIdentity,
) -> Result<String> {
    let member = member.unwrap_or_else(|| p.me().person.clone());
    case.membership(
        p.device(),
        Action::AddDevice {
            member: member.clone(),
            device,
        },
    )?;
    Ok(member)
}

/// Removes one device (lost or stolen) and nothing else; returns its participant.
pub fn remove_device(case: &mut Case, p: &Profile, device: DeviceId) -> Result<String> {
    let member = case
        .state()
        .device_owner
        .get(&device)
        .cloned()
        .ok_or_else(|| {
            Error::Said(format!(
                "apparaat {} hoort niet bij deze casus (zie mdo member list)",
                &device.to_hex()[..12]
            ))
        })?;
    case.membership(
        p.device(),
        Action::RemoveDevice {
            member: member.clone(),
            device,
        },
    )?;
    Ok(member)
}

/// Confirms a participant added by a chair who was removed at the same time.
pub fn confirm(case: &mut Case, p: &Profile, member: &str) -> Result<()> {
    case.membership(
        p.device(),
        Action::Confirm {
            member: member.to_string(),
        },
    )?;
    Ok(())
}

/// Records the gezag of a parent or voogd: held, not held, or not yet checked in the
/// gezagsregister (`unknown`: counts as not held for reading; the person's consent is still
/// asked and nothing medical is released until it is checked).
pub fn set_custody(
    case: &mut Case,
    p: &Profile,
    member: &str,
    custody: bool,
    unknown: bool,
) -> Result<()> {
    if custody && unknown {
        return Err("kies: gezag, geen gezag, of gezag nog niet nagegaan".into());
    }
    case.membership(
        p.device(),
        Action::SetCustody {
            member: member.to_string(),
            custody,
            unknown,
        },
    )?;
    Ok(())
}

/// Changes a participant's role, or makes them co-chair.
pub fn set_role(case: &mut Case, p: &Profile, member: &str, role: Role, chair: bool) -> Result<()> {
    case.membership(
        p.device(),
        Action::SetRole {
            member: member.to_string(),
            role,
            admin: chair,
        },
    )?;
    Ok(())
}

/// Names a storage peer for the case (chair or co-chair); returns its device id.
pub fn add_storage_peer(
    case: &mut Case,
    p: &Profile,
    identity: PublicIdentity,
    organisation: &str,
) -> Result<String> {
    let device = identity.device_id().to_hex();
    case.membership(
        p.device(),
        Action::AddStoragePeer {
            device: identity,
            organisation: organisation.to_string(),
        },
    )?;
    Ok(device)
}

/// Ends a storage peer's role in the case.
pub fn remove_storage_peer(case: &mut Case, p: &Profile, device: DeviceId) -> Result<()> {
    case.membership(p.device(), Action::RemoveStoragePeer { device })?;
    Ok(())
}

/// One of this person's own devices, as the cases on this device know it (the app's
/// "Mijn apparaten", `mdo device list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnDevice {
    /// The device.
    pub device: DeviceId,
    /// Whether it is the device this profile runs on.
    pub this_device: bool,
    /// The date (`YYYY-MM-DD`) it was first added to one of the cases, when the log says so.
    pub since: Option<String>,
    /// In how many of the cases here it may read and write.
    pub cases: usize,
}

/// The op of `log` that first named `device`: its date.
fn added_on(case: &Case, device: DeviceId) -> Option<String> {
    case.log().ordered().find_map(|op| {
        let named = match &op.body.action {
            Action::Create { creator, .. } => {
                creator.devices.iter().any(|d| d.device_id() == device)
            }
            Action::AddMember { member } => member.devices.iter().any(|d| d.device_id() == device),
            Action::AddDevice { device: d, .. } => d.device_id() == device,
            _ => false,
        };
        named.then(|| op.body.date.clone())
    })
}

impl super::Session {
    /// This person's devices across the cases on this device, this device first, then by the
    /// date they were added.
    pub fn own_devices(&mut self) -> Result<Vec<OwnDevice>> {
        let me = self.me().person.clone();
        let this = self.store().device().device_id();
        let mut out: Vec<OwnDevice> = Vec::new();
        for id in self.case_ids()? {
            let (case, _) = self.load(id)?;
            let Some(m) = case.state().members.get(&me).filter(|m| m.is_active()) else {
                continue;
            };
            for d in &m.devices {
                let since = added_on(&case, *d);
                match out.iter_mut().find(|o| o.device == *d) {
                    Some(o) => {
                        o.cases += 1;
                        if since.is_some() && (o.since.is_none() || since < o.since) {
                            o.since = since;
                        }
                    }
                    None => out.push(OwnDevice {
                        device: *d,
                        this_device: *d == this,
                        since,
                        cases: 1,
                    }),
                }
            }
        }
        out.sort_by(|a, b| {
            b.this_device
                .cmp(&a.this_device)
                .then_with(|| a.since.cmp(&b.since))
        });
        Ok(out)
    }

    /// Revokes one of this person's own devices (lost or stolen) in every case here where it
    /// belongs to them: one signed `remove-device` per case, keys rotate away from it at the
    /// commit, and nothing new reaches it; everything else of the person keeps working.
    /// Returns the number of cases. This device itself is not revoked from here.
    pub fn revoke_own_device(&mut self, device: DeviceId) -> Result<usize> {
        self.participant_only("revoke a device")?;
        if device == self.store().device().device_id() {
            return Err(Error::Said(
                "dit is het apparaat waarop u nu werkt; trek het in vanaf een ander apparaat van u, of vraag het de voorzitter".into(),
            ));
        }
        let me = self.me().person.clone();
        let mut done = 0;
        let mut failed = Vec::new();
        for id in self.case_ids()? {
            let Ok((mut case, _)) = self.load(id) else {
                failed.push(id.to_hex()[..8].to_string());
                continue;
            };
            // Its own device now (the owner record stays after a removal, for the log's sake).
            let mine_now = case
                .state()
                .members
                .get(&me)
                .is_some_and(|m| m.is_active() && m.devices.contains(&device));
            if !mine_now {
                continue;
            }
            match self.edit(&mut case, |c, p| remove_device(c, p, device)) {
                Ok(_) => done += 1,
                Err(_) => failed.push(case.info().child),
            }
        }
        if !failed.is_empty() {
            return Err(Error::Said(format!(
                "het apparaat is ingetrokken in {done} casus(sen); niet gelukt in: {} — probeer het opnieuw of vraag het de voorzitter",
                failed.join(", ")
            )));
        }
        if done == 0 {
            return Err(Error::Said(
                "dat apparaat hoort in geen van uw casussen (meer) bij u".into(),
            ));
        }
        Ok(done)
    }
}
