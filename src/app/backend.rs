//! What the app does, without Slint: commands from the screens ([`Cmd`]) are handled against the
//! profile and the core, and produce [`Update`]s — plain data the UI shell shows. The shell runs
//! this on a worker thread so the UI thread never waits on disk; tests call it directly.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use mdo_crypto::KdfParams;

use crate::core::case::Case;
use crate::core::model::{Audience, CircleSlot, Role, Section};
use crate::store::Profile;

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
    },
    /// Set an agreement's status (`open`, `gedaan`, `vervallen`).
    AgreementStatus {
        /// Agreement id.
        id: String,
        /// New status.
        status: String,
    },
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
    Case(CaseView),
    /// The backend is working on a command (shown as "bezig …").
    Busy(bool),
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

/// An item as the circle view shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemView {
    /// Id.
    pub id: String,
    /// Text.
    pub text: String,
    /// "zichtbaar voor …".
    pub visible_to: String,
}

/// One circle with its four slots in display order (plus, min, doel, vraag).
#[derive(Debug, Clone, PartialEq)]
pub struct CircleView {
    /// Name (`kind`, `school`, `thuis`, …).
    pub name: String,
    /// Label ("Kind/jongere").
    pub label: String,
    /// (slot id, items).
    pub slots: Vec<(String, Vec<ItemView>)>,
}

/// An agreement row.
#[derive(Debug, Clone, PartialEq)]
pub struct AgreementView {
    /// Id.
    pub id: String,
    /// Who.
    pub wie: String,
    /// What.
    pub wat: String,
    /// Why.
    pub waarom: String,
    /// When.
    pub wanneer: String,
    /// How.
    pub hoe: String,
    /// Owner.
    pub owner: String,
    /// Due date.
    pub due: String,
    /// `open`, `gedaan`, `vervallen`.
    pub status: String,
    /// Open and past its due date.
    pub overdue: bool,
}

/// The open case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseView {
    /// Id (hex).
    pub id: String,
    /// "Noor Visser".
    pub title: String,
    /// "OBS De Wilgen, groep 5 · fase: …".
    pub subtitle: String,
    /// The circles.
    pub circles: Vec<CircleView>,
    /// The agreements, open ones first, then by due date.
    pub agreements: Vec<AgreementView>,
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
    profile: Option<Profile>,
    open: Option<Case>,
    filter: String,
    /// The case list as last loaded from the store (search filters this, it does not reload).
    summaries: Vec<CaseSummary>,
}

fn circle_label(name: &str) -> String {
    match name {
        "kind" => "Kind/jongere".into(),
        "school" => "School/onderwijs".into(),
        "thuis" => "Thuis/opvoeding".into(),
        other => {
            let mut c = other.chars();
            c.next()
                .map(|f| f.to_uppercase().chain(c).collect())
                .unwrap_or_default()
        }
    }
}

/// The view of a case for the circle screen.
pub fn case_view(case: &Case) -> CaseView {
    let info = case.info();
    let items = case.items();
    let circles = info
        .circles
        .iter()
        .map(|name| CircleView {
            name: name.clone(),
            label: circle_label(name),
            slots: CircleSlot::ALL
                .iter()
                .map(|slot| {
                    let mut list: Vec<_> = items
                        .iter()
                        .filter(|i| {
                            i.data.section
                                == Section::Circle {
                                    circle: name.clone(),
                                    slot: *slot,
                                }
                        })
                        .collect();
                    list.sort_by(|a, b| a.data.order.total_cmp(&b.data.order));
                    (
                        slot.id().to_string(),
                        list.into_iter()
                            .map(|i| ItemView {
                                id: i.data.id.clone(),
                                text: i.data.text.clone(),
                                visible_to: format!("zichtbaar voor {}", i.audience.label()),
                            })
                            .collect(),
                    )
                })
                .collect(),
        })
        .collect();
    let today = crate::core::model::format_date(case.today());
    let mut agreements: Vec<AgreementView> = case
        .agreements()
        .into_iter()
        .map(|a| {
            let open = a.data.status == crate::core::model::AgreementStatus::Open;
            AgreementView {
                overdue: open && !a.data.due.is_empty() && a.data.due < today,
                id: a.data.id,
                wie: a.data.wie,
                wat: a.data.wat,
                waarom: a.data.waarom,
                wanneer: a.data.wanneer,
                hoe: a.data.hoe,
                owner: a.data.owner,
                due: a.data.due,
                status: a.data.status.id().to_string(),
            }
        })
        .collect();
    agreements.sort_by(|a, b| {
        (a.status != "open", a.due.is_empty(), &a.due).cmp(&(
            b.status != "open",
            b.due.is_empty(),
            &b.due,
        ))
    });
    CaseView {
        agreements,
        id: info.id.to_hex(),
        title: info.child.clone(),
        subtitle: format!(
            "{}{} · fase: {}",
            info.school,
            if info.class.is_empty() {
                String::new()
            } else {
                format!(", groep {}", info.class)
            },
            info.phase
        ),
        circles,
    }
}

impl Backend {
    /// A backend for the profile directory `dir`, and what to show first: the unlock screen
    /// when a profile exists, else the first start.
    pub fn new(dir: &Path, kdf: KdfParams) -> (Backend, Vec<Update>) {
        let first = if Profile::exists(dir) {
            Update::Screen("unlock")
        } else {
            Update::Screen("start")
        };
        (
            Backend {
                dir: dir.to_path_buf(),
                kdf,
                profile: None,
                open: None,
                filter: String::new(),
                summaries: Vec::new(),
            },
            vec![first],
        )
    }

    /// The unlocked profile (tests read the case data through it).
    pub fn profile(&mut self) -> Option<&mut Profile> {
        self.profile.as_mut()
    }

    /// Handles one command; an error becomes an [`Update::Error`] and changes nothing.
    pub fn handle(&mut self, cmd: Cmd) -> Vec<Update> {
        match self.try_handle(cmd) {
            Ok(mut u) => {
                u.insert(0, Update::Error(String::new()));
                u
            }
            Err(e) => vec![Update::Error(e)],
        }
    }

    fn me_line(p: &Profile) -> Update {
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
    fn cases(&mut self) -> Result<Vec<CaseSummary>, String> {
        let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
        let today = crate::core::model::format_date(p.today());
        let mut out = Vec::new();
        for id in p.case_ids().map_err(|e| e.to_string())? {
            let (case, _) = p.load_case(id).map_err(|e| e.to_string())?;
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
                } else {
                    format!("{}, groep {}", info.school, info.class)
                },
                phase: info.phase.clone(),
                next_meeting: next,
                open_agreements: open,
                sync: "alleen op dit apparaat".into(),
            };
            out.push(row);
        }
        out.sort_by(|a, b| a.child.cmp(&b.child));
        self.summaries = out;
        Ok(self.filtered())
    }

    fn open_case(&mut self, id: mdo_crypto::CaseId) -> Result<Vec<Update>, String> {
        let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
        let (case, _) = p.load_case(id).map_err(|e| e.to_string())?;
        let view = case_view(&case);
        self.open = Some(case);
        Ok(vec![Update::Case(view), Update::Screen("case")])
    }

    /// Applies `f` to the open case, commits durably, and shows the result.
    fn edit(
        &mut self,
        f: impl FnOnce(&mut Case, &Profile) -> Result<(), crate::core::CoreError>,
    ) -> Result<Vec<Update>, String> {
        let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
        let case = self.open.as_mut().ok_or("geen casus open")?;
        f(case, p).map_err(|e| e.to_string())?;
        p.commit(case).map_err(|e| e.to_string())?;
        Ok(vec![Update::Case(case_view(case))])
    }

    fn try_handle(&mut self, cmd: Cmd) -> Result<Vec<Update>, String> {
        match cmd {
            Cmd::CreateProfile {
                name,
                role,
                org,
                pass,
                again,
            } => {
                if pass != again {
                    return Err("de twee wachtwoordzinnen zijn niet gelijk".into());
                }
                if pass.chars().count() < 8 {
                    return Err("kies een wachtwoordzin van minstens 8 tekens".into());
                }
                let role: Role = role
                    .parse()
                    .map_err(|e: crate::core::CoreError| e.to_string())?;
                let p = Profile::init(&self.dir, &pass, &name, role, &org, self.kdf)
                    .map_err(|e| e.to_string())?;
                let phrase = p
                    .device()
                    .seed()
                    .recovery_phrase()
                    .map_err(|e| e.to_string())?;
                let me = Self::me_line(&p);
                self.profile = Some(p);
                Ok(vec![
                    me,
                    Update::Phrase(phrase.as_str().to_string()),
                    Update::Screen("phrase"),
                ])
            }
            Cmd::Unlock(pass) => {
                let p = Profile::open(&self.dir, &pass).map_err(|e| match e {
                    crate::store::StoreError::Crypto(mdo_crypto::CryptoError::WrongPassphrase) => {
                        "onjuiste wachtwoordzin; probeer het opnieuw".to_string()
                    }
                    e => e.to_string(),
                })?;
                let me = Self::me_line(&p);
                self.profile = Some(p);
                let cases = self.cases()?;
                Ok(vec![me, Update::Cases(cases), Update::Screen("cases")])
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
                let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
                let (today, now) = (p.today(), p.now());
                let mut case = crate::core::demo::noor(p.me(), p.device(), today, now)
                    .map_err(|e| e.to_string())?;
                p.commit(&mut case).map_err(|e| e.to_string())?;
                self.open_case(case.id)
            }
            Cmd::Search(f) => {
                self.filter = f;
                Ok(vec![Update::Cases(self.filtered())])
            }
            Cmd::OpenCase(id) => {
                let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
                let id = p.resolve_case(&id).map_err(|e| e.to_string())?;
                self.open_case(id)
            }
            Cmd::NewCase {
                child,
                birthdate,
                school,
                class,
            } => {
                let p = self.profile.as_mut().ok_or("eerst ontgrendelen")?;
                let mut case = Case::create(
                    p.me(),
                    p.device(),
                    &child,
                    &birthdate,
                    &school,
                    &class,
                    p.today(),
                    p.now(),
                )
                .map_err(|e| e.to_string())?;
                p.commit(&mut case).map_err(|e| e.to_string())?;
                self.open_case(case.id)
            }
            Cmd::AddItem { circle, slot, text } => {
                let section =
                    Section::parse(&format!("{circle}.{slot}")).map_err(|e| e.to_string())?;
                self.edit(|case, p| {
                    case.add_item(p.me(), section, &text, Audience::Parents, None, p.now())
                        .map(|_| ())
                })
            }
            Cmd::EditItem { id, text } => self.edit(|case, _| case.edit_item(&id, &text)),
            Cmd::RemoveItem(id) => self.edit(|case, _| case.remove_item(&id)),
            Cmd::AddAgreement {
                wie,
                wat,
                waarom,
                wanneer,
                hoe,
                due,
            } => self.edit(|case, p| {
                let a = crate::core::case::NewAgreement {
                    wie,
                    wat,
                    waarom,
                    wanneer,
                    hoe,
                    due: due.trim().to_string(),
                    ..Default::default()
                };
                case.add_agreement(p.me(), a, Audience::Parents, p.now())
                    .map(|_| ())
            }),
            Cmd::AgreementStatus { id, status } => {
                let status: crate::core::model::AgreementStatus = status
                    .parse()
                    .map_err(|e: crate::core::CoreError| e.to_string())?;
                self.edit(|case, _| case.edit_agreement(&id, "status", status.id()))
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
}
