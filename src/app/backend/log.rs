//! The access log (Logboek) of this copy, newest first: for the open case, else for all.

use crate::profile::Error;

use super::{Backend, LogRow, Update};

impl Backend {
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

    /// Show the access log of this copy.
    pub(super) fn show_log(&mut self) -> Result<Vec<Update>, Error> {
        Ok(vec![Update::Log(self.log_rows()?)])
    }
}
