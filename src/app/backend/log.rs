//! The access log (Logboek): for the open case, who read or changed what in the whole case —
//! this device's log and what the professionals' devices shared, as far as this person may read
//! it (`profile::caselog`) —; with no case open, this copy's own log of all cases.

use crate::profile::Error;
use crate::profile::inzage::words;

use super::{Backend, LogRow, Update};

impl Backend {
    fn log_rows(&self) -> Result<(Vec<LogRow>, Vec<String>, String), Error> {
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        if let Some(case) = self.open.as_ref() {
            let log = crate::profile::caselog::case_log(case, p.store())?;
            let coverage = crate::profile::caselog::coverage(&log);
            let rows = log
                .rows
                .into_iter()
                .map(|r| LogRow {
                    sentence: r.sentence,
                    when: r.when,
                    who: r.who,
                    action: r.what,
                    what: r.part,
                    basis: r.why,
                })
                .collect();
            return Ok((rows, log.problems, coverage));
        }
        let mut rows: Vec<LogRow> = p
            .store()
            .access_log(None)?
            .into_iter()
            .map(|e| {
                let what = if e.detail.is_empty() {
                    e.compartment.clone()
                } else if e.compartment.is_empty() {
                    e.detail.clone()
                } else {
                    format!("{} — {}", e.compartment, e.detail)
                };
                let who = words::who(&e);
                let when = words::when(&e);
                LogRow {
                    sentence: format!("{when}: {who} — {} ({what})", e.action.label()),
                    when,
                    who,
                    action: e.action.label().to_string(),
                    what,
                    basis: words::why(&e.basis, None),
                }
            })
            .collect();
        rows.reverse();
        Ok((rows, Vec::new(), String::new()))
    }

    /// Show the access log.
    pub(super) fn show_log(&mut self) -> Result<Vec<Update>, Error> {
        let (rows, problems, coverage) = self.log_rows()?;
        Ok(vec![Update::Log(rows, problems, coverage)])
    }
}
