//! The case list: load it from the store, filter it by the search text, open a case, start a
//! new one or the demo case, and come back to the list. `cases` and `open_case` are also used
//! after unlock (`start.rs`), after a join (`sharing.rs`) and when the node brings changes
//! (`node.rs`).

use crate::app::view::case_view;
use crate::profile::{Error, NewCase};

use super::{Backend, CaseSummary, Update};

impl Backend {
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
    pub(super) fn cases(&mut self) -> Result<Vec<CaseSummary>, Error> {
        let p = self.session()?;
        let mut out = Vec::new();
        for id in p.case_ids()? {
            let (case, _) = p.load(id)?;
            let info = case.info();
            // The next meeting of the traject, else the date the agreements ask to evaluate on.
            let next = match case.next_meeting() {
                Some(m) if m.data.start.is_empty() => format!(
                    "volgend overleg: {}",
                    crate::core::model::long_date(&m.data.date)
                ),
                Some(m) => format!(
                    "volgend overleg: {}, {}",
                    crate::core::model::long_date(&m.data.date),
                    m.data.start
                ),
                None => case
                    .evaluation_due()
                    .map(|d| {
                        format!(
                            "nog geen overleg gepland; evaluatie afgesproken rond {}",
                            crate::core::model::long_date(&d)
                        )
                    })
                    .unwrap_or_default(),
            };
            let open = case
                .agreements()
                .iter()
                .filter(|a| matches!(a.data.status, crate::core::model::AgreementStatus::Open))
                .count();
            let row = CaseSummary {
                id: id.to_hex(),
                child: crate::app::view::case_title(&info, p.me()),
                school: if info.class.is_empty() {
                    info.school.clone()
                } else if info.class.to_lowercase().starts_with("groep")
                    || info.class.to_lowercase().starts_with("klas")
                {
                    format!("{}, {}", info.school, info.class)
                } else {
                    format!("{}, groep {}", info.school, info.class)
                },
                phase: info
                    .phase
                    .parse::<crate::core::model::SupportPhase>()
                    .map(|p| p.label().to_string())
                    .unwrap_or_else(|_| info.phase.clone()),
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

    pub(super) fn open_case(&mut self, id: mdo_crypto::CaseId) -> Result<Vec<Update>, Error> {
        let p = self.session()?;
        // NEN 7513: opening a case shows every compartment this device can read.
        let (case, _) = p.view(id, "app")?;
        let pending = p.pending_joins(id)?;
        let view = case_view(&case, p.me(), None);
        self.open = Some(case);
        self.meeting = None;
        Ok(vec![
            Update::Notice(String::new()),
            Update::Case(Box::new(view)),
            Update::PendingJoins(pending),
            Update::Screen("case"),
        ])
    }

    /// Create and open the demo case "Noor Visser".
    pub(super) fn open_demo(&mut self) -> Result<Vec<Update>, Error> {
        let case = self.session()?.demo()?;
        self.open_case(case.id)
    }

    /// Filter the case list.
    pub(super) fn search(&mut self, f: String) -> Result<Vec<Update>, Error> {
        self.filter = f;
        Ok(vec![Update::Cases(self.filtered())])
    }

    /// Open a case (id in hex).
    pub(super) fn open_from_list(&mut self, id: String) -> Result<Vec<Update>, Error> {
        let id = self.session()?.resolve(&id)?;
        self.open_case(id)
    }

    /// Start a case.
    pub(super) fn new_case(
        &mut self,
        child: String,
        birthdate: String,
        school: String,
        class: String,
    ) -> Result<Vec<Update>, Error> {
        let case = self.session()?.new_case(&NewCase {
            child,
            birthdate,
            school,
            class,
        })?;
        self.open_case(case.id)
    }

    /// Back to the case list.
    pub(super) fn back(&mut self) -> Result<Vec<Update>, Error> {
        self.open = None;
        Ok(vec![Update::Cases(self.cases()?), Update::Screen("cases")])
    }
}
