//! The access log (Logboek) of this copy, newest first: for the open case, else for all.

use crate::profile::Error;

use super::{Backend, LogRow, Update};

/// Why someone could read it, in words a parent understands, without raw ids: "vaste lezer van
/// dit deel" → "mocht dit lezen door zijn of haar rol in het MDO"; "toestemming c79d…" → "met
/// toestemming: <waarvoor>"; "wettelijke grondslag …" → "op grond van de wet: <grond>".
fn plain_basis(basis: &str, case: Option<&crate::core::case::Case>) -> String {
    let record = |id: &str| case.and_then(|c| c.state().consents.get(id.trim()));
    if basis == "vaste lezer van dit deel" {
        "mocht dit lezen door zijn of haar rol in het MDO".into()
    } else if basis == "deelnemer" {
        "als deelnemer aan het MDO".into()
    } else if let Some(id) = basis.strip_prefix("toestemming ") {
        match record(id) {
            Some(r) => format!("met toestemming, waarvoor: {}", r.spec.purpose),
            None => "met toestemming".into(),
        }
    } else if let Some(id) = basis.strip_prefix("wettelijke grondslag ") {
        match record(id).map(|r| &r.spec.basis) {
            Some(crate::core::membership::Basis::Legal { ground, .. }) => {
                format!("op grond van de wet: {}", ground.label())
            }
            _ => "op grond van de wet".into(),
        }
    } else {
        basis.to_string()
    }
}

/// "29 november 2026 14:05" from "2026-11-29 14:05".
fn dutch_when(when: &str) -> String {
    match when.split_once(' ') {
        Some((day, clock)) => format!("{} {clock}", crate::core::model::long_date(day)),
        None => crate::core::model::long_date(when),
    }
}

impl Backend {
    fn log_rows(&self) -> Result<Vec<LogRow>, Error> {
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let open = self.open.as_ref();
        let case = open.map(|c| c.id);
        let role = |r: &str| {
            r.parse::<crate::core::model::Role>()
                .map(|x| x.label().to_string())
                .unwrap_or_else(|_| r.to_string())
        };
        let mut rows: Vec<LogRow> = p
            .store()
            .access_log(case)?
            .into_iter()
            .map(|e| LogRow {
                when: dutch_when(&e.when()),
                who: if e.organisation.is_empty() {
                    format!("{} ({})", e.name, role(&e.role))
                } else {
                    format!("{} ({}, {})", e.name, role(&e.role), e.organisation)
                },
                action: e.action.label().to_string(),
                what: if e.detail.is_empty() {
                    e.compartment
                } else if e.compartment.is_empty() {
                    e.detail
                } else {
                    format!("{} — {}", e.compartment, e.detail)
                },
                basis: plain_basis(&e.basis, open),
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
