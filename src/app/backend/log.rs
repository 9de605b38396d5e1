//! The access log (Logboek) of this copy, newest first: for the open case, else for all.

use crate::profile::Error;
use crate::profile::inzage::words;

use super::{Backend, LogRow, Update};

impl Backend {
    fn log_rows(&self) -> Result<Vec<LogRow>, Error> {
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let open = self.open.as_ref();
        let case = open.map(|c| c.id);
        let mut rows: Vec<LogRow> = p
            .store()
            .access_log(case)?
            .into_iter()
            .map(|e| LogRow {
                when: words::when(&e),
                who: words::who(&e),
                action: e.action.label().to_string(),
                what: if e.detail.is_empty() {
                    e.compartment
                } else if e.compartment.is_empty() {
                    e.detail
                } else {
                    format!("{} — {}", e.compartment, e.detail)
                },
                basis: words::why(&e.basis, open),
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
