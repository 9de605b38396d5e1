//! What the app does, without Slint: commands from the screens ([`Cmd`]) are handled against the
//! profile and the core, and produce [`Update`]s — plain data the UI shell shows. The shell runs
//! this on a worker thread so the UI thread never waits on disk; tests call it directly.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use mdo_crypto::KdfParams;

use crate::core::case::{Case, CompartmentKind, Feedback};
use crate::core::model::{ConsentCategory, ConsentHow, Direction, Role, Section, format_date};
use crate::profile::write::{Write, parse_choice};
use crate::profile::{self, Error, NewCase, Session};
use crate::store::Profile;

use super::node::{AppNode, NodeEvent};
pub use super::view::*;
use zeroize::Zeroizing;

/// The compartment a *voor wie?* choice names. Every write names one: there is no silent
/// default (issue: nothing lands beyond the audience its author chose).
fn chosen(audience: &str) -> Result<CompartmentKind, Error> {
    parse_choice(audience)
}

/// What earlier readers keep: said whenever a right ends or an item moves.
pub const KEEP_NOTE: &str = profile::KEEP_NOTE;

/// A command from the UI.
#[derive(Debug, Clone)]
pub enum Cmd {
    /// First start: make a profile.
    CreateProfile {
        /// Name.
        name: String,
        /// Role id (`ib-er`, `ouder`, …).
        role: String,
        /// Organisation.
        org: String,
        /// Passphrase.
        pass: String,
        /// Passphrase again.
        again: String,
    },
    /// Unlock the profile.
    Unlock(String),
    /// The recovery phrase was written down.
    PhraseConfirmed,
    /// Create and open the demo case "Noor Visser".
    OpenDemo,
    /// Filter the case list.
    Search(String),
    /// Open a case (id in hex).
    OpenCase(String),
    /// Start a case.
    NewCase {
        /// Child's name.
        child: String,
        /// Date of birth (YYYY-MM-DD).
        birthdate: String,
        /// School.
        school: String,
        /// Group/class.
        class: String,
    },
    /// Add an item to a circle slot (`plus`, `min`, `doel`, `vraag`).
    AddItem {
        /// Circle name.
        circle: String,
        /// Slot.
        slot: String,
        /// Text.
        text: String,
        /// For whom: a compartment descriptor from the *voor wie?* choices.
        audience: String,
    },
    /// Change an item's text.
    EditItem {
        /// Item id.
        id: String,
        /// New text.
        text: String,
    },
    /// Remove an item.
    RemoveItem(String),
    /// Add an agreement: wie, wat, waarom, wanneer, hoe, due date (YYYY-MM-DD or empty).
    AddAgreement {
        /// Who.
        wie: String,
        /// What.
        wat: String,
        /// Why.
        waarom: String,
        /// When.
        wanneer: String,
        /// How.
        hoe: String,
        /// Due date.
        due: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Set an agreement's status (`open`, `gedaan`, `vervallen`).
    AgreementStatus {
        /// Agreement id.
        id: String,
        /// New status.
        status: String,
    },
    /// Move an item one place up or down in its field.
    ReorderItem {
        /// Item id.
        id: String,
        /// Up (else down).
        up: bool,
    },
    /// Add an arrow between circles.
    AddArrow {
        /// From circle (name).
        from: String,
        /// To circle (name).
        to: String,
        /// The interplay.
        text: String,
        /// Upward spiral (else downward).
        up: bool,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Add a question around the circles (field 1).
    AddQuestion {
        /// The question.
        text: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Add a circle next to kind, school and thuis (e.g. `vrije-tijd`).
    AddCircle(String),
    /// Add a step of the needs chain: `behoeften.AREA` (parent: a goal id or empty),
    /// `aanpak.WHO`, `ondersteuning.WHO`, `effect` (parent: the need or approach).
    AddChain {
        /// Section id.
        section: String,
        /// Text.
        text: String,
        /// What it elaborates (id) or empty.
        parent: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Start a meeting: date (YYYY-MM-DD), planned end (HH:MM), and for whom: `parents` (with
    /// parents) or `professionals` (professionals only).
    NewMeeting {
        /// Date.
        date: String,
        /// Planned end.
        end: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Notes at step `n` (1–6) of the latest meeting, for the meeting's audience or a narrower one.
    MeetingStep {
        /// Step.
        n: usize,
        /// Notes.
        text: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Mark a participant present at the latest meeting.
    Present(String),
    /// A participant's top and tip at the latest meeting (empty leaves one unchanged).
    TopTip {
        /// Participant id.
        participant: String,
        /// Top.
        top: String,
        /// Tip.
        tip: String,
    },
    /// Compose the verslag of the latest meeting for one audience (compartment descriptor) and
    /// store it in that audience's compartment.
    ComposeVerslag(String),
    /// Export the verslag of the latest meeting for one audience as PDF.
    ExportPdf {
        /// The file (empty: in the home folder).
        path: String,
        /// For whom (compartment descriptor).
        audience: String,
    },
    /// Move an item to another audience (after the user confirmed).
    ShareItem {
        /// Item id.
        id: String,
        /// For whom now (compartment descriptor from the *voor wie?* choices).
        audience: String,
    },
    /// Record consent given by the people the age rules require.
    GrantConsent {
        /// Category id.
        category: String,
        /// Recipient participant id.
        to: String,
        /// How (`written`, `oral`, `digital`).
        how: String,
        /// Until (YYYY-MM-DD).
        until: String,
    },
    /// Withdraw a consent record: `by` is whose withdrawal it is (a participant id), empty for
    /// the recorder's own or the only consenter's.
    WithdrawConsent {
        /// The consent record.
        id: String,
        /// Whose withdrawal.
        by: String,
    },
    /// Show the access log of this copy.
    ShowLog,
    /// Something the network node reported (sent by the node's thread).
    Node(NodeEvent),
    /// The window closed: stop the node (it closes its connections and checkpoints the store).
    Quit,
    /// Invite someone to the open case: a one-time ticket (text and QR code) for their device.
    Invite {
        /// Role id.
        role: String,
        /// Organisation.
        org: String,
        /// Parent with gezag.
        custody: bool,
    },
    /// The inviter types the code the joining device shows: equal codes admit it.
    ConfirmJoin(String),
    /// Join a case with a ticket from the inviter.
    Join(String),
    /// Ask the inviter again whether the join was confirmed (sent by the backend itself).
    JoinPoll,
    /// Look again at who is waiting to join the open case.
    Refresh,
    /// Back to the case list.
    Back,
}

/// What the UI should show after a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Update {
    /// Switch screen: `start`, `unlock`, `phrase`, `cases`, `case`.
    Screen(&'static str),
    /// An error to show (empty clears it).
    Error(String),
    /// Who is using the app ("Monique de Vries, intern begeleider, OBS De Wilgen").
    Me(String),
    /// The recovery phrase, shown once (empty clears it).
    Phrase(String),
    /// The case list.
    Cases(Vec<CaseSummary>),
    /// The open case.
    Case(Box<CaseView>),
    /// The backend is working on a command (shown as "bezig …").
    Busy(bool),
    /// Something done that the user should know (empty clears it).
    Notice(String),
    /// The access log of this copy, newest first.
    Log(Vec<LogRow>),
    /// The sync state line ("offline", "gesynchroniseerd met 2 apparaten · …").
    Sync(String),
    /// An invite to hand to the new device: the ticket and its QR code.
    Invite {
        /// The ticket text.
        ticket: String,
        /// The QR code of the ticket.
        qr: crate::net::ticket::Qr,
    },
    /// Names of devices that answered an invite to the open case and wait for confirmation.
    PendingJoins(Vec<String>),
    /// On the joining device: the verification code to compare with the inviter (empty: none).
    JoinCode(String),
}

/// One access-log entry as the Logboek shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    /// "2026-11-23 14:05".
    pub when: String,
    /// "Monique de Vries (intern begeleider, OBS De Wilgen)".
    pub who: String,
    /// "inzage", "wijziging", "gedeeld", …
    pub action: String,
    /// Which part of the case.
    pub what: String,
    /// The basis (audience, consent, legal ground).
    pub basis: String,
}

/// One row of the case list.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseSummary {
    /// Case id (hex).
    pub id: String,
    /// Child.
    pub child: String,
    /// School and group.
    pub school: String,
    /// Support-route phase.
    pub phase: String,
    /// Date of the next meeting, if any.
    pub next_meeting: String,
    /// Agreements not done.
    pub open_agreements: usize,
    /// Sync state.
    pub sync: String,
}

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
}

/// What the sync line says.
#[derive(Debug, Default)]
struct SyncState {
    listening: bool,
    problem: Option<String>,
    peers: std::collections::BTreeSet<String>,
    last: Option<String>,
    /// Local changes committed since the last sync that sent something.
    pending: usize,
}

impl SyncState {
    fn line(&self) -> String {
        let mut s = if let Some(p) = &self.problem {
            format!("offline — {p}")
        } else if !self.listening {
            "offline".to_string()
        } else if self.peers.is_empty() {
            "offline — nog geen ander apparaat bereikt; alles staat veilig op dit apparaat"
                .to_string()
        } else {
            format!(
                "gesynchroniseerd met {} {}{}",
                self.peers.len(),
                if self.peers.len() == 1 {
                    "apparaat"
                } else {
                    "apparaten"
                },
                self.last
                    .as_ref()
                    .map(|t| format!(" · laatst om {t}"))
                    .unwrap_or_default()
            )
        };
        s.push_str(&match self.pending {
            0 => String::new(),
            1 => " · 1 wijziging nog niet verstuurd".to_string(),
            n => format!(" · {n} wijzigingen nog niet verstuurd"),
        });
        s
    }
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

    /// Starts the node for the unlocked profile, if the backend is attached to a worker.
    fn start_node(&mut self, pass: &str) -> Vec<Update> {
        let Some(tx) = self.myself.clone() else {
            return vec![];
        };
        if self.node.is_some() {
            return vec![];
        }
        match AppNode::start(
            &self.dir,
            Zeroizing::new(pass.to_string()),
            self.bind,
            move |e| {
                let _ = tx.send(Cmd::Node(e));
            },
        ) {
            Ok(n) => {
                self.node = Some(n);
                self.sync.problem = None;
            }
            Err(e) => self.sync.problem = Some(e),
        }
        vec![Update::Sync(self.sync.line())]
    }

    fn node_event(&mut self, e: NodeEvent) -> Result<Vec<Update>, Error> {
        let mut out = Vec::new();
        match e {
            NodeEvent::Listening(_) => {
                self.sync.listening = true;
                self.sync.problem = None;
            }
            NodeEvent::Synced {
                peer,
                sent,
                changed,
                ..
            } => {
                self.sync.peers.insert(peer);
                self.sync.last = Some(chrono::Local::now().format("%H:%M").to_string());
                if sent > 0 {
                    self.sync.pending = 0;
                }
                if changed {
                    // Something arrived: show it (the open case and the list).
                    if let Some(id) = self.open.as_ref().map(|c| c.id) {
                        let p = self.session()?;
                        let (case, _) = p.load(id)?;
                        out.push(Update::Case(Box::new(case_view(&case, p.me()))));
                        self.open = Some(case);
                    }
                    if self.session.is_some() {
                        out.push(Update::Cases(self.cases()?));
                    }
                }
            }
            NodeEvent::Failed { peer, .. } => {
                self.sync.peers.remove(&peer);
            }
            NodeEvent::Stopped(reason) => {
                self.sync.listening = false;
                self.sync.problem = Some(reason);
                self.node = None;
            }
        }
        out.push(Update::Sync(self.sync.line()));
        Ok(out)
    }

    /// The unlocked session.
    fn session(&mut self) -> Result<&mut Session, Error> {
        self.session
            .as_mut()
            .ok_or_else(|| "eerst ontgrendelen".into())
    }

    /// The open case's id.
    fn open_id(&self) -> Result<mdo_crypto::CaseId, Error> {
        Ok(self.open.as_ref().ok_or("geen casus open")?.id)
    }

    /// Reloads the open case from the store (after the node or an invite changed it).
    fn reload_open(&mut self) -> Result<Vec<Update>, Error> {
        let Some(id) = self.open.as_ref().map(|c| c.id) else {
            return Ok(vec![]);
        };
        let p = self.session()?;
        let (case, _) = p.load(id)?;
        let pending = p.pending_joins(id)?;
        let view = case_view(&case, p.me());
        self.open = Some(case);
        Ok(vec![
            Update::Case(Box::new(view)),
            Update::PendingJoins(pending),
        ])
    }

    fn invite(&mut self, role: &str, org: &str, custody: bool) -> Result<Vec<Update>, Error> {
        let role: Role = role.parse()?;
        let case = self.open_id()?;
        if self.node.is_none() {
            return Err("dit apparaat is nog niet bereikbaar (de netwerkknoop draait niet); een uitnodiging vertelt het nieuwe apparaat waar het dit apparaat vindt".into());
        }
        let t = self.session()?.invite(
            case,
            &profile::invite::Invite {
                role,
                organisation: org.trim().to_string(),
                custody,
                auto_accept: false,
                valid_hours: crate::store::invites::DEFAULT_VALID_HOURS,
            },
        )?;
        let qr = t.qr().map_err(
            |_| "de uitnodiging past niet in een QR-code; geef het ticket als tekst door",
        )?;
        Ok(vec![
            Update::Invite {
                ticket: t.encode(),
                qr,
            },
            Update::Notice(format!(
                "Uitnodiging voor een {} gemaakt: 24 uur geldig, één keer te gebruiken. Laat het nieuwe apparaat de QR-code scannen of stuur het ticket; vergelijk daarna samen de code.",
                role.label()
            )),
        ])
    }

    /// One round of joining (the application layer's join client): accepted → open the case;
    /// pending → show the code and ask again in a second.
    fn join_round(&mut self) -> Result<Vec<Update>, Error> {
        use crate::store::invites::JoinAnswer;
        let t = self.joining.clone().ok_or("geen uitnodiging")?;
        let session = self.session.take().ok_or("eerst ontgrendelen")?;
        let (session, answer) = profile::invite::join_once(session, &t, self.bind, false);
        self.session = Some(session);
        let (answer, _) = answer?;
        match answer {
            JoinAnswer::Accepted { .. } => {
                self.joining = None;
                let mut u = vec![Update::JoinCode(String::new())];
                u.extend(self.open_case(t.case)?);
                u.push(Update::Notice(
                    "Aangesloten: de casus staat nu ook op dit apparaat.".into(),
                ));
                Ok(u)
            }
            JoinAnswer::Pending { code } => {
                if let Some(tx) = self.myself.clone() {
                    std::thread::spawn(move || {
                        std::thread::sleep(std::time::Duration::from_secs(1));
                        let _ = tx.send(Cmd::JoinPoll);
                    });
                }
                Ok(vec![Update::JoinCode(code)])
            }
            JoinAnswer::Refused { .. } => {
                self.joining = None;
                Err("de uitnodiging is geweigerd: ze is verlopen, al gebruikt of niet voor deze casus. Vraag de uitnodiger om een nieuwe".into())
            }
        }
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

    fn me_line(p: &Session) -> Update {
        let me = p.me();
        Update::Me(if me.organisation.is_empty() {
            format!("{}, {}", me.name, me.role.label())
        } else {
            format!("{}, {}, {}", me.name, me.role.label(), me.organisation)
        })
    }

    /// The loaded case list, filtered by the search text.
    fn filtered(&self) -> Vec<CaseSummary> {
        let f = self.filter.to_lowercase();
        self.summaries
            .iter()
            .filter(|r| {
                f.is_empty()
                    || r.child.to_lowercase().contains(&f)
                    || r.school.to_lowercase().contains(&f)
            })
            .cloned()
            .collect()
    }

    /// Loads the case list from the store and returns it filtered.
    fn cases(&mut self) -> Result<Vec<CaseSummary>, Error> {
        let p = self.session()?;
        let today = format_date(p.store().today());
        let mut out = Vec::new();
        for id in p.case_ids()? {
            let (case, _) = p.load(id)?;
            let info = case.info();
            let next = case
                .meetings()
                .into_iter()
                .map(|m| m.data.date)
                .filter(|d| *d >= today)
                .min()
                .unwrap_or_default();
            let open = case
                .agreements()
                .iter()
                .filter(|a| matches!(a.data.status, crate::core::model::AgreementStatus::Open))
                .count();
            let row = CaseSummary {
                id: id.to_hex(),
                child: info.child.clone(),
                school: if info.class.is_empty() {
                    info.school.clone()
                } else if info.class.to_lowercase().starts_with("groep")
                    || info.class.to_lowercase().starts_with("klas")
                {
                    format!("{}, {}", info.school, info.class)
                } else {
                    format!("{}, groep {}", info.school, info.class)
                },
                phase: info.phase.clone(),
                next_meeting: next,
                open_agreements: open,
                sync: {
                    let mine = p.store().device().device_id();
                    let others = p
                        .store()
                        .case_devices(id)?
                        .into_iter()
                        .filter(|d| *d != mine)
                        .count();
                    match others {
                        0 => "alleen op dit apparaat".to_string(),
                        1 => "gedeeld met 1 ander apparaat".to_string(),
                        n => format!("gedeeld met {n} andere apparaten"),
                    }
                },
            };
            out.push(row);
        }
        out.sort_by(|a, b| a.child.cmp(&b.child));
        self.summaries = out;
        Ok(self.filtered())
    }

    fn open_case(&mut self, id: mdo_crypto::CaseId) -> Result<Vec<Update>, Error> {
        let p = self.session()?;
        // NEN 7513: opening a case shows every compartment this device can read.
        let (case, _) = p.view(id, "app")?;
        let pending = p.pending_joins(id)?;
        let view = case_view(&case, p.me());
        self.open = Some(case);
        Ok(vec![
            Update::Notice(String::new()),
            Update::Case(Box::new(view)),
            Update::PendingJoins(pending),
            Update::Screen("case"),
        ])
    }

    /// The latest meeting's id.
    fn meeting_id(&self) -> Result<String, Error> {
        let case = self.open.as_ref().ok_or("geen casus open")?;
        case.meetings()
            .into_iter()
            .last()
            .map(|m| m.data.id)
            .ok_or_else(|| "start eerst een overleg".into())
    }

    fn log_rows(&self) -> Result<Vec<LogRow>, Error> {
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_ref().map(|c| c.id);
        let mut rows: Vec<LogRow> = p
            .store()
            .access_log(case)?
            .into_iter()
            .map(|e| LogRow {
                when: e.when(),
                who: if e.organisation.is_empty() {
                    format!("{} ({})", e.name, e.role)
                } else {
                    format!("{} ({}, {})", e.name, e.role, e.organisation)
                },
                action: e.action.label().to_string(),
                what: if e.detail.is_empty() {
                    e.compartment
                } else if e.compartment.is_empty() {
                    e.detail
                } else {
                    format!("{} — {}", e.compartment, e.detail)
                },
                basis: e.basis,
            })
            .collect();
        rows.reverse();
        Ok(rows)
    }

    /// After a commit: the node is told, the screen shows the case.
    fn shown(&mut self) -> Result<Vec<Update>, Error> {
        self.sync.pending += 1;
        if let Some(n) = &self.node {
            n.changed();
        }
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_ref().ok_or("geen casus open")?;
        Ok(vec![
            Update::Case(Box::new(case_view(case, p.me()))),
            Update::Sync(self.sync.line()),
        ])
    }

    /// Applies `f` to the open case through the application layer (commit included), and
    /// shows the result.
    fn edit(
        &mut self,
        f: impl FnOnce(&mut Case, &Profile) -> Result<(), Error>,
    ) -> Result<Vec<Update>, Error> {
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        p.edit(case, f)?;
        self.shown()
    }

    /// Writes content for the audience chosen under *voor wie?* (the application layer's one
    /// door for content), and shows the result.
    fn write(&mut self, w: Write, audience: &str) -> Result<Vec<Update>, Error> {
        let kind = chosen(audience)?;
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        p.write(case, w, kind)?;
        self.shown()
    }

    fn try_handle(&mut self, cmd: Cmd) -> Result<Vec<Update>, Error> {
        match cmd {
            Cmd::CreateProfile {
                name,
                role,
                org,
                pass,
                again,
            } => {
                // Wiped when dropped (the text field's own copy is Slint's).
                let (pass, again) = (Zeroizing::new(pass), Zeroizing::new(again));
                if pass != again {
                    return Err("de twee wachtwoordzinnen zijn niet gelijk".into());
                }
                if pass.chars().count() < 8 {
                    return Err("kies een wachtwoordzin van minstens 8 tekens".into());
                }
                let role: Role = role.parse()?;
                let (p, phrase) =
                    Session::init(&self.dir, &pass, &name, role, &org, self.kdf, false)?;
                let me = Self::me_line(&p);
                self.session = Some(p);
                let mut u = vec![
                    me,
                    Update::Phrase(phrase.as_str().to_string()),
                    Update::Screen("phrase"),
                ];
                u.extend(self.start_node(&pass));
                Ok(u)
            }
            Cmd::Unlock(pass) => {
                let pass = Zeroizing::new(pass);
                let p = Session::open(&self.dir, &pass)?;
                p.participant_only("open the app")?;
                let me = Self::me_line(&p);
                self.session = Some(p);
                let cases = self.cases()?;
                let mut u = vec![me, Update::Cases(cases), Update::Screen("cases")];
                u.extend(self.start_node(&pass));
                Ok(u)
            }
            Cmd::PhraseConfirmed => {
                let cases = self.cases()?;
                Ok(vec![
                    Update::Phrase(String::new()),
                    Update::Cases(cases),
                    Update::Screen("cases"),
                ])
            }
            Cmd::OpenDemo => {
                let case = self.session()?.demo()?;
                self.open_case(case.id)
            }
            Cmd::Search(f) => {
                self.filter = f;
                Ok(vec![Update::Cases(self.filtered())])
            }
            Cmd::OpenCase(id) => {
                let id = self.session()?.resolve(&id)?;
                self.open_case(id)
            }
            Cmd::NewCase {
                child,
                birthdate,
                school,
                class,
            } => {
                let case = self.session()?.new_case(&NewCase {
                    child,
                    birthdate,
                    school,
                    class,
                })?;
                self.open_case(case.id)
            }
            Cmd::AddItem {
                circle,
                slot,
                text,
                audience,
            } => {
                let section = Section::parse(&format!("{circle}.{slot}"))?;
                self.write(
                    Write::Item {
                        section,
                        text,
                        parent: None,
                        by: None,
                    },
                    &audience,
                )
            }
            Cmd::EditItem { id, text } => self.edit(|case, _| Ok(case.edit_item(&id, &text)?)),
            Cmd::RemoveItem(id) => self.edit(|case, _| Ok(case.remove_item(&id)?)),
            Cmd::AddAgreement {
                wie,
                wat,
                waarom,
                wanneer,
                hoe,
                due,
                audience,
            } => self.write(
                Write::Agreement(crate::core::case::NewAgreement {
                    wie,
                    wat,
                    waarom,
                    wanneer,
                    hoe,
                    due: due.trim().to_string(),
                    ..Default::default()
                }),
                &audience,
            ),
            Cmd::AgreementStatus { id, status } => {
                let status: crate::core::model::AgreementStatus = status.parse()?;
                self.edit(|case, _| Ok(case.edit_agreement(&id, "status", status.id())?))
            }
            Cmd::ReorderItem { id, up } => {
                let case = self.open.as_ref().ok_or("geen casus open")?;
                match reorder_target(case, &id, up) {
                    Some(order) => self.edit(|case, _| Ok(case.reorder_item(&id, order)?)),
                    None => Ok(vec![]),
                }
            }
            Cmd::AddArrow {
                from,
                to,
                text,
                up,
                audience,
            } => self.write(
                Write::Arrow {
                    from,
                    to,
                    text,
                    direction: if up {
                        Direction::Omhoog
                    } else {
                        Direction::Omlaag
                    },
                },
                &audience,
            ),
            Cmd::AddCircle(name) => {
                let name = name.trim().to_lowercase().replace(' ', "-");
                self.edit(|case, _| Ok(case.add_circle(&name)?))
            }
            Cmd::AddQuestion { text, audience } => self.write(
                Write::Item {
                    section: Section::Vragen,
                    text,
                    parent: None,
                    by: None,
                },
                &audience,
            ),
            Cmd::AddChain {
                section,
                text,
                parent,
                audience,
            } => {
                let section = chain_section(&section)
                    .ok_or_else(|| format!("'{section}' hoort niet bij de behoeftenketen"))?;
                self.write(
                    Write::Chain {
                        section,
                        text,
                        parent: Some(parent),
                    },
                    &audience,
                )
            }
            Cmd::NewMeeting {
                date,
                end,
                audience,
            } => {
                let p = self.session()?;
                let date = if date.trim().is_empty() {
                    format_date(p.store().today())
                } else {
                    date.trim().to_string()
                };
                if end.trim().is_empty() {
                    return Err("vul het geplande einde in als UU:MM, bijvoorbeeld 16:00".into());
                }
                let present = Some(p.me().person.clone());
                self.write(Write::Meeting { date, end, present }, &audience)
            }
            Cmd::MeetingStep { n, text, audience } => {
                let meeting = self.meeting_id()?;
                self.write(
                    Write::MeetingNote {
                        meeting,
                        step: n,
                        text,
                    },
                    &audience,
                )
            }
            Cmd::Present(who) => {
                let m = self.meeting_id()?;
                self.edit(|case, _| Ok(case.meeting_present(&m, &who)?))
            }
            Cmd::TopTip {
                participant,
                top,
                tip,
            } => {
                let m = self.meeting_id()?;
                self.edit(|case, _| {
                    if !top.trim().is_empty() {
                        case.meeting_feedback(&m, Feedback::Top, &participant, &top)?;
                    }
                    if !tip.trim().is_empty() {
                        case.meeting_feedback(&m, Feedback::Tip, &participant, &tip)?;
                    }
                    Ok(())
                })
            }
            Cmd::ComposeVerslag(audience) => {
                let meeting = self.meeting_id()?;
                let kind = chosen(&audience)?;
                let mut u = self.write(Write::Verslag { meeting }, &audience)?;
                u.push(Update::Notice(format!(
                    "Verslag opgesteld {}: alleen wat zij allemaal mogen lezen staat erin.",
                    crate::core::audience::voor(&kind)
                )));
                Ok(u)
            }
            Cmd::ExportPdf { path, audience } => {
                let kind = chosen(&audience)?;
                let m = self.meeting_id()?;
                let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
                let case = self.open.as_ref().ok_or("geen casus open")?;
                let path = if path.trim().is_empty() {
                    profile::export::default_pdf_path(case)
                } else {
                    PathBuf::from(path.trim())
                };
                // The paper is what the chair checked on screen: the stored verslag for this
                // audience; composed now only when none was stored yet.
                let title = format!(
                    "Verslag {}",
                    crate::core::audience::voor_at(&kind, case.age_band(case.today()))
                );
                let (_, size) = p.export_pdf(case, Some(&m), &kind, &path)?;
                Ok(vec![Update::Notice(format!(
                    "{} opgeslagen als PDF: {} ({} kB). Dit bestand is niet versleuteld; bewaar en deel het zorgvuldig.",
                    title,
                    path.display(),
                    size.div_ceil(1024)
                ))])
            }
            Cmd::ShareItem { id, audience } => {
                let kind = chosen(&audience)?;
                let to = kind.clone();
                let mut u = self.edit(|case, _| Ok(case.move_item(&id, to).map(|_| ())?))?;
                u.push(Update::Notice(format!(
                    "Nu zichtbaar {}. {KEEP_NOTE}",
                    crate::core::audience::voor(&kind)
                )));
                Ok(u)
            }
            Cmd::GrantConsent {
                category,
                to,
                how,
                until,
            } => {
                let category: ConsentCategory = category.parse()?;
                let how: ConsentHow = how.parse()?;
                let case = self.open.as_ref().ok_or("geen casus open")?;
                let consenters = profile::consent::required(case);
                let mut u = self.edit(|case, p| {
                    profile::consent::grant(
                        case,
                        p,
                        consenters,
                        how,
                        profile::consent::Grant {
                            categories: vec![category],
                            recipients: vec![to],
                            from: None,
                            until,
                            purpose: String::new(),
                        },
                    )
                    .map(|_| ())
                })?;
                u.push(Update::Notice(format!(
                    "Toestemming vastgelegd: {}. De sleutels gaan naar de ontvanger zodra die synchroniseert.",
                    category.label()
                )));
                Ok(u)
            }
            Cmd::WithdrawConsent { id, by } => {
                let mut u = self.edit(|case, p| {
                    profile::consent::withdraw(case, p, &id, Some(&by), "vastgelegd in de app")
                        .map(|_| ())
                })?;
                u.push(Update::Notice(format!(
                    "Toestemming ingetrokken. {KEEP_NOTE}"
                )));
                Ok(u)
            }
            Cmd::ShowLog => Ok(vec![Update::Log(self.log_rows()?)]),
            Cmd::Node(e) => self.node_event(e),
            Cmd::Invite { role, org, custody } => self.invite(&role, &org, custody),
            Cmd::ConfirmJoin(code) => {
                let case = self.open_id()?;
                let member = self.session()?.confirm_join(case, &code)?;
                let mut u = self.reload_open()?;
                let name = self
                    .open
                    .as_ref()
                    .and_then(|c| c.participants().into_iter().find(|p| p.id == member))
                    .map(|p| p.name)
                    .unwrap_or_else(|| "de nieuwe deelnemer".into());
                u.push(Update::Notice(format!(
                    "{name} is toegevoegd. De sleutels gaan mee bij de volgende synchronisatie."
                )));
                Ok(u)
            }
            Cmd::Join(text) => {
                let t = crate::net::ticket::Ticket::decode(text.trim())?;
                self.joining = Some(t);
                self.join_round()
            }
            Cmd::JoinPoll => {
                if self.joining.is_some() {
                    self.join_round()
                } else {
                    Ok(vec![])
                }
            }
            Cmd::Refresh => self.reload_open(),
            Cmd::Quit => {
                self.node = None;
                self.open = None;
                Ok(vec![])
            }
            Cmd::Back => {
                self.open = None;
                Ok(vec![Update::Cases(self.cases()?), Update::Screen("cases")])
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_start_demo_and_circles() {
        let dir = tempfile::tempdir().unwrap();
        let (mut b, first) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
        assert_eq!(first, vec![Update::Screen("start")]);
        let mismatch = b.handle(Cmd::CreateProfile {
            name: "Monique".into(),
            role: "ib-er".into(),
            org: "OBS".into(),
            pass: "lange zin 1".into(),
            again: "lange zin 2".into(),
        });
        assert!(matches!(&mismatch[0], Update::Error(e) if e.contains("niet gelijk")));
        let made = b.handle(Cmd::CreateProfile {
            name: "Monique".into(),
            role: "ib-er".into(),
            org: "OBS".into(),
            pass: "lange zin 1".into(),
            again: "lange zin 1".into(),
        });
        assert!(
            made.iter()
                .any(|u| matches!(u, Update::Phrase(p) if p.split(' ').count() == 24))
        );
        let demo = b.handle(Cmd::OpenDemo);
        let Some(Update::Case(view)) = demo.iter().find(|u| matches!(u, Update::Case(_))) else {
            panic!("{demo:?}")
        };
        assert_eq!(view.circles.len(), 3);
        assert_eq!(view.circles[0].label, "Kind/jongere");
        let u = b.handle(Cmd::AddItem {
            circle: "kind".into(),
            slot: "plus".into(),
            text: "helpt graag".into(),
            audience: "parents".into(),
        });
        let Some(Update::Case(view)) = u.iter().find(|u| matches!(u, Update::Case(_))) else {
            panic!("{u:?}")
        };
        assert!(
            view.circles[0].slots[0]
                .1
                .iter()
                .any(|i| i.text == "helpt graag")
        );
        // Search filters the loaded list.
        b.handle(Cmd::Back);
        let u = b.handle(Cmd::Search("noor".into()));
        assert!(
            u.iter()
                .any(|u| matches!(u, Update::Cases(c) if c.len() == 1)),
            "{u:?}"
        );
        let u = b.handle(Cmd::Search("daan".into()));
        assert!(
            u.iter()
                .any(|u| matches!(u, Update::Cases(c) if c.is_empty())),
            "{u:?}"
        );
        // A storage peer's profile does not open in the app.
        let storage = tempfile::tempdir().unwrap();
        let mut sp = Profile::init(
            storage.path(),
            "lange zin 1",
            "Opslag",
            Role::Directeur,
            "OBS",
            KdfParams::INSECURE_FAST,
        )
        .unwrap();
        let mut settings = sp.settings().unwrap();
        settings.storage = true;
        sp.set_settings(&settings).unwrap();
        drop(sp);
        let (mut bs, _) = Backend::new(storage.path(), KdfParams::INSECURE_FAST);
        let u = bs.handle(Cmd::Unlock("lange zin 1".into()));
        assert!(
            matches!(&u[0], Update::Error(e) if e.contains("opslagknooppunt")),
            "{u:?}"
        );
        // A wrong passphrase says so.
        let (mut b2, first) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
        assert_eq!(first, vec![Update::Screen("unlock")]);
        let u = b2.handle(Cmd::Unlock("fout".into()));
        assert!(
            matches!(&u[0], Update::Error(e) if e.contains("onjuiste")),
            "{u:?}"
        );
        let u = b2.handle(Cmd::Unlock("lange zin 1".into()));
        assert!(
            u.iter()
                .any(|u| matches!(u, Update::Cases(c) if c.len() == 1)),
            "{u:?}"
        );
    }

    fn case_of(u: &[Update]) -> &CaseView {
        u.iter()
            .find_map(|u| match u {
                Update::Case(v) => Some(v.as_ref()),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no case in {u:?}"))
    }

    #[test]
    fn arrows_chain_reorder_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let (mut b, _) = Backend::new(dir.path(), KdfParams::INSECURE_FAST);
        b.handle(Cmd::CreateProfile {
            name: "Monique".into(),
            role: "ib-er".into(),
            org: "OBS".into(),
            pass: "lange zin 1".into(),
            again: "lange zin 1".into(),
        });
        let demo = b.handle(Cmd::OpenDemo);
        let v = case_of(&demo);
        assert_eq!(v.arrows.len(), 1);
        assert!(!v.arrows[0].up);
        // An arrow needs a text and two different circles.
        let u = b.handle(Cmd::AddArrow {
            from: "thuis".into(),
            to: "kind".into(),
            text: " ".into(),
            up: true,
            audience: "parents".into(),
        });
        assert!(matches!(&u[0], Update::Error(e) if e.contains("wisselwerking")));
        let u = b.handle(Cmd::AddArrow {
            from: "thuis".into(),
            to: "kind".into(),
            text: "rustige ochtend → goede start".into(),
            up: true,
            audience: "parents".into(),
        });
        let v = case_of(&u);
        assert!(v.arrows.iter().any(|a| a.up && a.from == "Thuis/opvoeding"));
        // The chain: a support need added on a need goes under its latest approach.
        let need = v.needs[0].needs[0].id.clone();
        let u = b.handle(Cmd::AddChain {
            section: "ondersteuning.ib".into(),
            text: "coaching van de IB-er".into(),
            parent: need.clone(),
            audience: "parents".into(),
        });
        let v = case_of(&u);
        let chain = &v.needs[0].needs[0].chain;
        let at = chain
            .iter()
            .position(|c| c.text == "coaching van de IB-er")
            .unwrap();
        assert_eq!(chain[at].depth, 1);
        assert!(chain[..at].iter().any(|c| c.depth == 0));
        let u = b.handle(Cmd::AddChain {
            section: "kind.plus".into(),
            text: "x".into(),
            parent: need,
            audience: "parents".into(),
        });
        assert!(matches!(&u[0], Update::Error(e) if e.contains("behoeftenketen")));
        // Reorder: the last + of the child's circle moves up one place.
        let plus = &v.circles[0].slots[0].1;
        let last = plus.last().unwrap().clone();
        let u = b.handle(Cmd::ReorderItem {
            id: last.id.clone(),
            up: true,
        });
        let v = case_of(&u);
        let plus = &v.circles[0].slots[0].1;
        assert_eq!(plus[plus.len() - 2].id, last.id);
        // First stays first when moved up: nothing happens, no error.
        let first = plus[0].id.clone();
        let u = b.handle(Cmd::ReorderItem {
            id: first.clone(),
            up: true,
        });
        assert_eq!(u, vec![Update::Error(String::new())]);
        // An added circle, with its four slots; a bad name is refused.
        let u = b.handle(Cmd::AddCircle("Vrije tijd".into()));
        let v = case_of(&u);
        assert_eq!(v.circles.len(), 4);
        assert_eq!(v.circles[3].name, "vrije-tijd");
        assert_eq!(v.circles[3].label, "Vrije-tijd");
        assert_eq!(v.circles[3].slots.len(), 4);
        let u = b.handle(Cmd::AddCircle("a.b".into()));
        assert!(matches!(&u[0], Update::Error(e) if e.contains("cirkelnaam")));
        // A meeting end that is not a time is refused.
        let u = b.handle(Cmd::NewMeeting {
            date: String::new(),
            end: "straks".into(),
            audience: "parents".into(),
        });
        assert!(matches!(&u[0], Update::Error(e) if e.contains("UU:MM")));
        // The log shows the opening of the case.
        let u = b.handle(Cmd::ShowLog);
        assert!(
            u.iter().any(|u| matches!(u, Update::Log(rows)
                if rows.iter().any(|r| r.action == "inzien"))),
            "{u:?}"
        );
    }
}
