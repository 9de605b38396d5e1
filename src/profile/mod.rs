//! # The application layer: the one door to a profile
//!
//! Every flow a person starts — open a profile, load and commit a case, write something *for
//! someone*, record consent or a legal basis, invite, confirm and join, compose and export a
//! verslag, carry a bundle, do key work — is written once, here. The command line
//! (`src/cli/`), the desktop app (`app::backend`) and the network node call these functions;
//! none of them writes a rule of its own.
//!
//! * [`Session`] — an unlocked profile: open, create, load, view (logged), edit and commit;
//! * [`write`] — content written for an audience the writer names: items, questions, the needs
//!   chain, agreements, arrows, meetings, meeting notes, verslagen ([`write::Write`]);
//! * [`consent`] — consent records and legal bases: grant, withdraw (one rule for who
//!   withdraws);
//! * [`members`] — the roster as the membership log knows it: participants, devices, roles,
//!   custody, storage peers;
//! * [`restore`] — a profile brought back from its recovery phrase, and its cases fetched again;
//! * [`retention`] — closing a case and reopening it, an organisation's own retention term, and
//!   what will be destroyed when;
//! * [`destruction`] — destroying what an organisation holds (end of term, or a granted request
//!   of a parent or the child), on every copy that syncs, and what a person sees of it;
//! * [`traject`] — the traject of meetings: closing, the verslag set as final, views, the
//!   support route, drafts;
//! * [`invite`] — invites, the inviter's confirmation and the one join client;
//! * [`export`] — what leaves the encrypted store: the verslag as Markdown or PDF, the
//!   compartments as Automerge files, ciphertext bundles; each export is logged (NEN 7513);
//! * [`caselog`] — who read or changed what in the whole case, from every device's shared
//!   access log, in plain Dutch (NEN 7513, AVG art. 15);
//! * [`inzage`] — everything this copy holds about the child, with its access log, as a PDF and
//!   a JSON (AVG art. 15);
//! * [`keys`] — the key work a device owes after ops arrived;
//! * [`Error`] — one error type with Dutch messages a parent or a teacher can act on.
//!
//! Layering: `core` (sans-IO) ← `store` (rows and transactions) ← `net` (transport) ←
//! `profile` (flows) ← `cli` / `app`. The network node gets this layer's key work as a plain
//! function ([`keys::key_work`]), so `net` does not call up into it.

#![forbid(unsafe_code)]

use std::path::Path;

use mdo_crypto::{CaseId, KdfParams};
use zeroize::Zeroizing;

use crate::core::case::{Case, Me};
use crate::core::model::{Date, Role};
use crate::store::{AccessAction, CommitReport, LoadReport, Profile};

pub mod caselog;
pub mod consent;
pub mod destruction;
mod error;
pub mod export;
pub mod invite;
pub mod inzage;
pub mod keys;
pub mod members;
pub mod restore;
pub mod retention;
pub mod traject;
pub mod write;

pub use error::Error;

/// The result of a flow.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What earlier readers keep: said whenever a right ends or an item moves to other readers.
pub const KEEP_NOTE: &str = "Wat eerder gedeeld is, blijft bij wie het al ontving; nieuwe informatie bereikt alleen wie het nu mag lezen.";

/// An unlocked profile on this device: its identity, its clock and its encrypted store.
#[derive(Debug)]
pub struct Session {
    store: Profile,
}

/// A new case's facts.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    /// The child's name.
    pub child: String,
    /// Date of birth, `YYYY-MM-DD`.
    pub birthdate: String,
    /// School.
    pub school: String,
    /// Group or class.
    pub class: String,
}

impl Session {
    /// Whether `dir` holds a profile.
    pub fn exists(dir: &Path) -> bool {
        Profile::exists(dir)
    }

    /// Creates the profile in `dir` (a participant's, or with `storage` a storage peer's) and
    /// returns it with the recovery phrase to show once.
    pub fn init(
        dir: &Path,
        pass: &str,
        name: &str,
        role: Role,
        organisation: &str,
        kdf: KdfParams,
        storage: bool,
    ) -> Result<(Session, Zeroizing<String>)> {
        let mut store = Profile::init(dir, pass, name, role, organisation, kdf)?;
        if storage {
            let mut s = store.settings()?;
            s.storage = true;
            store.set_settings(&s)?;
        }
        let phrase = store.device().seed().recovery_phrase()?;
        Ok((
            Session { store },
            Zeroizing::new(phrase.as_str().to_string()),
        ))
    }

    /// Opens the profile in `dir` with its passphrase.
    pub fn open(dir: &Path, pass: &str) -> Result<Session> {
        Ok(Session {
            store: Profile::open(dir, pass)?,
        })
    }

    /// Sees rights as they are on `today` (e.g. when the child turns 16); the system date is
    /// the default.
    pub fn set_today(&mut self, today: Date) {
        let now = self.store.now();
        self.store.set_clock(today, now);
    }

    /// The encrypted store (rows and transactions) under this session.
    pub fn store(&self) -> &Profile {
        &self.store
    }

    /// The store, to change it (settings, the network node).
    pub fn store_mut(&mut self) -> &mut Profile {
        &mut self.store
    }

    /// Hands the store to the network node.
    pub fn into_store(self) -> Profile {
        self.store
    }

    /// A session over a store the node gave back.
    pub fn from_store(store: Profile) -> Session {
        Session { store }
    }

    /// Who works on this device.
    pub fn me(&self) -> &Me {
        self.store.me()
    }

    /// Whether this profile is a storage peer (holds ciphertext, reads nothing).
    pub fn is_storage_peer(&self) -> Result<bool> {
        Ok(self.store.settings()?.storage)
    }

    /// Refuses what a storage peer must not do (it holds no keys and is no participant).
    pub fn participant_only(&self, what: &'static str) -> Result<()> {
        if self.is_storage_peer()? {
            return Err(crate::store::StoreError::StoragePeer(what).into());
        }
        Ok(())
    }

    /// The case a reference names: its id or a unique prefix of it.
    pub fn resolve(&self, reference: &str) -> Result<CaseId> {
        Ok(self.store.resolve_case(reference)?)
    }

    /// The cases on this device.
    pub fn case_ids(&self) -> Result<Vec<CaseId>> {
        Ok(self.store.case_ids()?)
    }

    /// Loads a case with what this device may read, and the report of what was refused. Not
    /// logged: for work on the case that shows nothing (an edit, a summary line).
    pub fn load(&mut self, id: CaseId) -> Result<(Case, LoadReport)> {
        Ok(self.store.load_case(id)?)
    }

    /// Loads a case to show it: every compartment this device reads is logged as viewed
    /// (NEN 7513), with `detail` (where: `app`, `audit`, empty for the command line).
    pub fn view(&mut self, id: CaseId, detail: &str) -> Result<(Case, LoadReport)> {
        let (case, report) = self.store.load_case(id)?;
        let shown: Vec<_> = case
            .compartment_list()
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        self.store
            .log_access(&case, AccessAction::View, &shown, detail)?;
        Ok((case, report))
    }

    /// Seals what changed in `case` and stores it durably; key work included.
    pub fn commit(&mut self, case: &mut Case) -> Result<CommitReport> {
        Ok(self.store.commit(case)?)
    }

    /// Applies `f` to `case` and commits: the one way a change reaches the store. Nothing is
    /// committed when `f` fails.
    pub fn edit<T>(
        &mut self,
        case: &mut Case,
        f: impl FnOnce(&mut Case, &Profile) -> Result<T>,
    ) -> Result<(T, CommitReport)> {
        let out = f(case, &self.store)?;
        // A closed case is not changed (its retention runs from the closing): whatever flow
        // made content, nothing of it is committed, and the case is read again as stored.
        if let Some(closed) = case.state().closed.clone()
            && case.has_pending_content()
        {
            let (stored, _) = self.store.load_case(case.id)?;
            *case = stored;
            return Err(Error::Said(format!(
                "deze casus is afgesloten op {} ({}); de voorzitter heropent haar eerst als er iets bij moet",
                crate::core::model::long_date(&closed.on),
                closed.reason
            )));
        }
        let report = self.store.commit(case)?;
        Ok((out, report))
    }

    /// Opens a new case with this device's person as chair.
    pub fn new_case(&mut self, new: &NewCase) -> Result<Case> {
        self.participant_only("start a case")?;
        if !self.me().role.is_professional()
            || crate::core::audience::no_base_access(self.me().role)
        {
            // The creator chairs the case, and only a professional chairs (seed 002 §4: the
            // school organises the MDO; `core::membership`, "only a professional can chair").
            return Err(Error::Said(
                "een casus wordt gestart door school of zorg, meestal de intern begeleider; die nodigt u daarna uit".into(),
            ));
        }
        let p = &self.store;
        let mut case = Case::create(
            p.me(),
            p.device(),
            new.child.trim(),
            new.birthdate.trim(),
            new.school.trim(),
            new.class.trim(),
            p.today(),
            p.now(),
        )?;
        self.store.commit(&mut case)?;
        Ok(case)
    }

    /// Creates the demo case "Noor Visser".
    pub fn demo(&mut self) -> Result<Case> {
        self.participant_only("hold the demo case")?;
        let p = &self.store;
        let mut case = crate::core::demo::noor(p.me(), p.device(), p.today(), p.now())?;
        self.store.commit(&mut case)?;
        Ok(case)
    }
}
