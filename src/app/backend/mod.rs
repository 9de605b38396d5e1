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

mod cmd;
mod sync;
#[cfg(test)]
mod tests;

pub use cmd::{CaseSummary, Cmd, LogRow, Update};
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

