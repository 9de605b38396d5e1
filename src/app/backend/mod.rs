//! What the app does, without Slint: commands from the screens ([`Cmd`]) are handled against the
//! profile and the core, and produce [`Update`]s — plain data the UI shell shows. The shell runs
//! this on a worker thread so the UI thread never waits on disk; tests call it directly.
//!
//! What lives where:
//! * `mod.rs` — the [`Backend`] and its state, and [`Backend::handle`], which forwards each
//!   command to the controller of its screen;
//! * `cmd.rs` — [`Cmd`], [`Update`] and the rows they carry ([`LogRow`], [`CaseSummary`]);
//! * `start.rs` — first start, unlock, the recovery phrase;
//! * `cases.rs` — the case list: load, search, open, new case, demo, back;
//! * `case.rs` — the case screen's writes and edits, and the one write path (`write`, `edit`,
//!   `shown`) every change takes;
//! * `meeting.rs` — the meeting: plan, steps, tops and tips, verslag, PDF export;
//! * `traject.rs` — presence, agenda, closing, goals, agreements' status, arrows, the support
//!   route, the verslag set as final and the parents' view, drafts;
//! * `sharing.rs` — consent, invite, confirm, join;
//! * `log.rs` — the access log;
//! * `node.rs` — the network node: start, its events, stop;
//! * `sync.rs` — the sync line's state (plain data).
//!
//! The controllers are `impl Backend` blocks. They import from this module only, never from each
//! other (`cmd.rs` and `sync.rs` import nothing of the backend), but call each other's
//! `pub(super)` methods: the case list (`cases`, `open_case`), the write path and `start_node`.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use mdo_crypto::KdfParams;

use crate::core::case::{Case, CompartmentKind};
use crate::core::model::Role;
use crate::profile::write::parse_choice;
use crate::profile::{self, Error, Session};
use crate::store::Profile;

pub use super::view::*;
use crate::app::node::AppNode;

mod case;
mod cases;
mod cmd;
mod log;
mod meeting;
mod node;
mod sharing;
mod start;
mod sync;
#[cfg(test)]
mod tests;
mod traject;

pub use cmd::{CaseSummary, Cmd, DeviceRow, LogRow, NewMeeting, Update};
use sync::SyncState;

/// The compartment a *voor wie?* choice names. Every write names one: there is no silent
/// default (issue: nothing lands beyond the audience its author chose).
fn chosen(audience: &str) -> Result<CompartmentKind, Error> {
    parse_choice(audience)
}

/// What earlier readers keep: said whenever a right ends or an item moves.
pub const KEEP_NOTE: &str = profile::KEEP_NOTE;

/// The roles offered at first start: (id, Dutch label).
/// The IB-er comes first: the chair is usually the first to install MDO.
pub fn roles() -> Vec<(&'static str, &'static str)> {
    std::iter::once(Role::IbEr)
        .chain(Role::ALL.iter().copied().filter(|r| *r != Role::IbEr))
        .map(|r| (r.id(), r.label()))
        .collect()
}

/// The app's state on the worker side.
pub struct Backend {
    dir: PathBuf,
    kdf: KdfParams,
    session: Option<Session>,
    open: Option<Case>,
    filter: String,
    /// The case list as last loaded from the store (search filters this, it does not reload).
    summaries: Vec<CaseSummary>,
    /// Where node events go (the worker's own command channel); no node without it.
    myself: Option<std::sync::mpsc::Sender<Cmd>>,
    /// Where the node listens.
    bind: std::net::SocketAddr,
    node: Option<AppNode>,
    sync: SyncState,
    /// A join in progress on this device (waiting for the inviter to confirm the code).
    joining: Option<crate::net::ticket::Ticket>,
    /// The joining device showed the code to compare: the inviter's relay may become its own.
    join_code_shown: bool,
    /// Why the next item in the safety track is kept from the parents, and its review date
    /// (typed under *voor wie?* when the safety track is chosen).
    withhold: Option<profile::write::Withhold>,
    /// The meeting of the traject the screens show (none: the latest).
    meeting: Option<String>,
}

impl Backend {
    /// A backend for the profile directory `dir`, and what to show first: the unlock screen
    /// when a profile exists, else the first start.
    pub fn new(dir: &Path, kdf: KdfParams) -> (Backend, Vec<Update>) {
        let first = if Session::exists(dir) {
            Update::Screen("unlock")
        } else {
            Update::Screen("start")
        };
        (
            Backend {
                dir: dir.to_path_buf(),
                kdf,
                session: None,
                open: None,
                filter: String::new(),
                summaries: Vec::new(),
                myself: None,
                bind: std::net::SocketAddr::from(([0, 0, 0, 0], 0)),
                node: None,
                sync: SyncState::default(),
                joining: None,
                join_code_shown: false,
                withhold: None,
                meeting: None,
            },
            vec![first],
        )
    }

    /// Lets the backend run the network node once a profile is unlocked: node events come back
    /// as [`Cmd::Node`] through `myself` (the worker's own channel).
    pub fn attach(&mut self, myself: std::sync::mpsc::Sender<Cmd>) {
        self.myself = Some(myself);
    }

    /// Where the node listens (default: every interface, a free port).
    pub fn set_bind(&mut self, bind: std::net::SocketAddr) {
        self.bind = bind;
    }

    /// The unlocked session.
    fn session(&mut self) -> Result<&mut Session, Error> {
        self.session
            .as_mut()
            .ok_or_else(|| "eerst ontgrendelen".into())
    }

    /// The unlocked profile's store (tests read the case data through it).
    pub fn profile(&mut self) -> Option<&mut Profile> {
        self.session.as_mut().map(Session::store_mut)
    }

    /// Handles one command; an error becomes an [`Update::Error`] and changes nothing.
    pub fn handle(&mut self, cmd: Cmd) -> Vec<Update> {
        match self.try_handle(cmd) {
            Ok(mut u) => {
                u.insert(0, Update::Error(String::new()));
                u
            }
            Err(e) => vec![Update::Error(e.to_string())],
        }
    }

    /// Forwards each command to the controller of its screen.
    fn try_handle(&mut self, cmd: Cmd) -> Result<Vec<Update>, Error> {
        match cmd {
            // start.rs
            Cmd::CreateProfile {
                name,
                role,
                org,
                pass,
                again,
            } => self.create_profile(name, role, org, pass, again),
            Cmd::RestoreProfile {
                phrase,
                name,
                role,
                org,
                pass,
                again,
            } => self.restore_profile(phrase, name, role, org, pass, again),
            Cmd::FetchCases(peer) => self.fetch_cases(peer),
            Cmd::InviteMyDevice => self.invite_my_device(),
            Cmd::ShowDevices => self.show_devices(),
            Cmd::RevokeDevice(id) => self.revoke_device(&id),
            Cmd::Unlock(pass) => self.unlock(pass),
            Cmd::PhraseConfirmed => self.phrase_confirmed(),
            Cmd::PhraseLater => self.phrase_later(),
            Cmd::ShowPhrase => self.show_phrase(),
            // cases.rs
            Cmd::OpenDemo => self.open_demo(),
            Cmd::Search(f) => self.search(f),
            Cmd::OpenCase(id) => self.open_from_list(id),
            Cmd::NewCase {
                child,
                birthdate,
                school,
                class,
            } => self.new_case(child, birthdate, school, class),
            Cmd::Back => self.back(),
            // case.rs
            Cmd::AddItem {
                circle,
                slot,
                text,
                audience,
            } => self.add_item(circle, slot, text, audience),
            Cmd::EditItem { id, text } => self.edit_item(id, text),
            Cmd::RemoveItem(id) => self.remove_item(id),
            Cmd::AddAgreement {
                agreement,
                audience,
            } => self.add_agreement(agreement, audience),
            Cmd::AgreementStatus { id, status, note } => self.agreement_status(id, status, note),
            Cmd::ReorderItem { id, up } => self.reorder_item(id, up),
            Cmd::AddArrow {
                from,
                to,
                text,
                up,
                audience,
            } => self.add_arrow(from, to, text, up, audience),
            Cmd::AddCircle(name) => self.add_circle(name),
            Cmd::AddQuestion { text, audience } => self.add_question(text, audience),
            Cmd::AddChain {
                section,
                text,
                parent,
                audience,
            } => self.add_chain(section, text, parent, audience),
            Cmd::ShareItem { id, audience } => self.share_item(id, audience),
            // meeting.rs
            Cmd::NewMeeting(m) => self.new_meeting(m),
            Cmd::MeetingStep { n, text, audience } => self.meeting_step(n, text, audience),
            // traject.rs
            Cmd::Presence { who, present } => self.presence(who, present),
            Cmd::Input { who, text } => self.input(who, text),
            Cmd::Invited { who, on } => self.invited(who, on),
            Cmd::AddAgenda {
                section,
                text,
                audience,
            } => self.add_agenda(section, text, audience),
            Cmd::CloseMeeting(closed) => self.close_meeting(closed),
            Cmd::ItemField { id, field, value } => self.item_field(id, field, value),
            Cmd::EditAgreement { id, field, value } => self.edit_agreement(id, field, value),
            Cmd::RemoveAgreement(id) => self.remove_agreement(id),
            Cmd::EditArrow { id, text, up } => self.edit_arrow(id, text, up),
            Cmd::RemoveArrow(id) => self.remove_arrow(id),
            Cmd::ChangePhase { phase, note } => self.change_phase(phase, note),
            Cmd::CloseCase(reason) => self.close_case(reason),
            Cmd::ReopenCase(reason) => self.reopen_case(reason),
            Cmd::SetRetention { years, reason } => self.set_retention(years, reason),
            Cmd::DestroyDue(exceptions) => self.edit(|case, p| {
                crate::profile::destruction::destroy_due(case, p, &exceptions).map(|_| ())
            }),
            Cmd::RequestDestruction(org) => {
                self.edit(|case, p| crate::profile::destruction::request(case, p, &org).map(|_| ()))
            }
            Cmd::AnswerDestruction {
                request,
                granted,
                ground,
                reason,
            } => self.edit(|case, p| {
                crate::profile::destruction::answer(case, p, &request, granted, &ground, &reason)
                    .map(|_| ())
            }),
            Cmd::AddRoute {
                kind,
                text,
                until,
                audience,
            } => self.add_route(kind, text, until, audience),
            Cmd::RouteAnswer { id, agrees, text } => self.route_answer(id, agrees, text),
            Cmd::Vaststellen(audience) => self.vaststellen(audience),
            Cmd::ViewOnVerslag {
                audience,
                person,
                agrees,
                text,
            } => self.view_on_verslag(audience, person, agrees, text),
            Cmd::SaveDraft { key, text } => self.save_draft(key, text),
            Cmd::Prepare { answers, audience } => self.prepare(answers, audience),
            Cmd::TopTip {
                participant,
                top,
                tip,
            } => self.top_tip(participant, top, tip),
            Cmd::ComposeVerslag(audience) => self.compose_verslag(audience),
            Cmd::ExportPdf { path, audience } => self.export_pdf(path, audience),
            Cmd::ExportInzage(dir) => self.export_inzage(dir),
            // sharing.rs
            Cmd::GrantConsent {
                category,
                to,
                source,
                how,
                until,
                purpose,
            } => self.grant_consent(category, to, source, how, until, purpose),
            Cmd::ConsentAct { id, act, how } => self.consent_act(id, act, how),
            Cmd::AskTable { organisation } => self.ask_table(organisation),
            Cmd::SelectMeeting { id } => {
                self.meeting = Some(id);
                let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
                let case = self.open.as_ref().ok_or("geen casus open")?;
                Ok(vec![Update::Case(Box::new(crate::app::view::case_view(
                    case,
                    p.me(),
                    self.meeting.as_deref(),
                )))])
            }
            Cmd::Withhold { reason, review } => {
                self.withhold = Some(profile::write::Withhold { reason, review });
                Ok(Vec::new())
            }
            Cmd::RecordLegal {
                ground,
                category,
                to,
                source,
                until,
                reasoning,
            } => self.record_legal(ground, category, to, source, until, reasoning),
            Cmd::Invite { role, org, custody } => self.invite(&role, &org, custody),
            Cmd::ConfirmJoin(code) => self.confirm_join(code),
            Cmd::Join(text) => self.join(text),
            Cmd::JoinPoll => self.join_poll(),
            Cmd::Refresh => self.reload_open(),
            // log.rs
            Cmd::ShowLog => self.show_log(),
            // node.rs
            Cmd::Node(e) => self.node_event(e),
            Cmd::Quit => self.quit(),
        }
    }
}
