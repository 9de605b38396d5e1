//! What a compartment is ([`CompartmentKind`]: a shared audience, or one bound to an
//! organisation, a consent category or an author), its stable descriptor and the id every device
//! derives from it, and the person writing on this device ([`Me`], whose audience choice names a
//! compartment).
//!
//! Below the access rules and the case: it depends only on the model, the document (for the label
//! check) and the derived membership state (for the descriptor the log recorded with a
//! compartment's keys).

use mdo_crypto::{CaseId, CompartmentId, DeviceId};
use serde::Serialize;

use super::CoreError;
use super::doc::CompartmentDoc;
use super::membership::state::State;
use super::model::{Audience, ConsentCategory, Role};

const COMPARTMENT_ID_CONTEXT: &str = "MDO 2026-11 compartment id v1";

/// The person working on this device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Me {
    /// Participant id of this person in cases (stable, derived from the device id at init).
    pub person: String,
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Organisation.
    pub organisation: String,
    /// This device.
    pub device: DeviceId,
}

/// What a compartment is: a shared audience, or one bound to an organisation or an author.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", content = "of", rename_all = "kebab-case")]
pub enum CompartmentKind {
    /// `professionals`, `parents`, `child`, `network`.
    Shared(Audience),
    /// The internal notes of one organisation.
    Organisation(String),
    /// Information of a consent category held by one organisation (medical findings of the
    /// JGZ, a GGZ report): its base audience is that organisation's professionals (medical
    /// roles for the medical categories); a valid consent extends it.
    Category(ConsentCategory, String),
    /// The safety track of one organisation.
    Safety(String),
    /// The private notes of one author (participant id).
    Author(String),
    /// The access log of one professional (participant id), shared with the people whose data
    /// it is and the organisation's privacy officer (issue 17). Its chunks carry log batches,
    /// not Automerge changes (`core::sharedlog`).
    Log(String),
}

impl CompartmentKind {
    /// The compartment that holds items of `audience` written by `me`.
    pub fn for_audience(audience: Audience, me: &Me) -> Self {
        match audience {
            Audience::Author => CompartmentKind::Author(me.person.clone()),
            Audience::Organisation => CompartmentKind::Organisation(me.organisation.clone()),
            Audience::Safety => CompartmentKind::Safety(me.organisation.clone()),
            Audience::Medical => {
                CompartmentKind::Category(ConsentCategory::Medisch, me.organisation.clone())
            }
            other => CompartmentKind::Shared(other),
        }
    }

    /// The compartment for information of `category` written by `me` (`dossier` is the
    /// case+parents compartment).
    pub fn for_category(category: ConsentCategory, me: &Me) -> Self {
        match category {
            ConsentCategory::Dossier => CompartmentKind::Shared(Audience::Parents),
            c => CompartmentKind::Category(c, me.organisation.clone()),
        }
    }

    /// The audience of its items.
    pub fn audience(&self) -> Audience {
        match self {
            CompartmentKind::Shared(a) => *a,
            CompartmentKind::Organisation(_) => Audience::Organisation,
            CompartmentKind::Category(ConsentCategory::Medisch | ConsentCategory::Ggz, _) => {
                Audience::Medical
            }
            CompartmentKind::Category(..) => Audience::Organisation,
            CompartmentKind::Safety(_) => Audience::Safety,
            CompartmentKind::Author(_) | CompartmentKind::Log(_) => Audience::Author,
        }
    }

    /// Stable text form, stored in the document itself.
    pub fn descriptor(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.id().to_string(),
            CompartmentKind::Organisation(o) => format!("organisation:{o}"),
            CompartmentKind::Category(c, o) => format!("category:{}:{o}", c.id()),
            CompartmentKind::Safety(o) => format!("safety:{o}"),
            CompartmentKind::Author(p) => format!("author:{p}"),
            CompartmentKind::Log(p) => format!("log:{p}"),
        }
    }

    /// Parses [`CompartmentKind::descriptor`].
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(o) = s.strip_prefix("organisation:") {
            return Some(CompartmentKind::Organisation(o.to_string()));
        }
        if let Some(rest) = s.strip_prefix("category:") {
            let (c, o) = rest.split_once(':')?;
            return match c.parse::<ConsentCategory>().ok()? {
                ConsentCategory::Dossier => None,
                c => Some(CompartmentKind::Category(c, o.to_string())),
            };
        }
        if let Some(o) = s.strip_prefix("safety:") {
            return Some(CompartmentKind::Safety(o.to_string()));
        }
        if let Some(p) = s.strip_prefix("author:") {
            return Some(CompartmentKind::Author(p.to_string()));
        }
        if let Some(p) = s.strip_prefix("log:") {
            return Some(CompartmentKind::Log(p.to_string()));
        }
        match s.parse::<Audience>().ok()? {
            Audience::Author | Audience::Organisation | Audience::Safety | Audience::Medical => {
                None
            }
            a => Some(CompartmentKind::Shared(a)),
        }
    }

    /// The compartment id in `case`: BLAKE3 key-derivation over case id and descriptor, so every
    /// device computes the same id without coordination.
    pub fn id(&self, case: CaseId) -> CompartmentId {
        let mut h = blake3::Hasher::new_derive_key(COMPARTMENT_ID_CONTEXT);
        h.update(&case.0);
        h.update(self.descriptor().as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.finalize().as_bytes()[..16]);
        CompartmentId(id)
    }

    /// The kind of compartment `id` of the case whose log state is `st`: the descriptor the
    /// membership log recorded with the compartment's keys, checked to derive `id`. Never read
    /// from the compartment's document, which any writer can change.
    pub fn of_compartment(st: &State, id: CompartmentId) -> Result<Self, CoreError> {
        let unknown = || {
            CoreError::BadChunk(format!(
                "compartment {id} has no keys in the membership log, so what it is cannot be verified"
            ))
        };
        let keys = st.keys.get(&id).ok_or_else(unknown)?;
        let kind = CompartmentKind::parse(&keys.descriptor).ok_or_else(unknown)?;
        if kind.id(st.case) != id {
            return Err(unknown());
        }
        Ok(kind)
    }

    /// Checks that `doc` carries this compartment's label (or none yet): a chunk that makes it
    /// say anything else is refused with [`CoreError::Relabelled`].
    pub fn check_label(&self, doc: &CompartmentDoc) -> Result<(), CoreError> {
        match doc.descriptor() {
            None => Ok(()),
            Some(d) if d == self.descriptor() => Ok(()),
            Some(found) => Err(CoreError::Relabelled {
                compartment: self.descriptor(),
                found,
            }),
        }
    }

    /// A human label ("alle professionals", "eigen organisatie (OBS De Wilgen)").
    pub fn label(&self) -> String {
        match self {
            CompartmentKind::Shared(a) => a.label().to_string(),
            CompartmentKind::Organisation(o) => format!("eigen organisatie ({o})"),
            CompartmentKind::Category(c, o) => format!("{} ({o}; met toestemming)", c.label()),
            CompartmentKind::Safety(o) => format!("veiligheidsspoor ({o})"),
            CompartmentKind::Author(p) => format!("alleen de schrijver ({p})"),
            CompartmentKind::Log(p) => format!("wie heeft wat gelezen of gewijzigd ({p})"),
        }
    }
}
