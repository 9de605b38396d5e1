//! What leaves the encrypted store: the verslag as Markdown or PDF (for one audience, the one
//! named on it), the compartments as Automerge files (one's own copy, or only what may go to an
//! audience), and ciphertext bundles for a USB stick. Every export of plaintext is logged with
//! the compartments whose text it may carry (NEN 7513); a written file is replaced atomically.

use std::path::{Path, PathBuf};

use mdo_crypto::CaseId;

use crate::core::audience;
use crate::core::case::{Case, CompartmentKind};
use crate::core::verslag::{self, Verslag};
use crate::store::{AccessAction, bundle, write_atomic};

use super::{Error, Result, Session};

/// A verslag ready to leave the store: its title (with its audience) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paper {
    /// "Verslag voor ouders en professionals".
    pub title: String,
    /// The Markdown text.
    pub text: String,
    /// The meeting it reports, if any.
    pub meeting: Option<String>,
}

/// The verslag of `meeting` (default: the latest the audience may read) for `kind`: the one the
/// chair stored and checked on screen when there is one, else composed now. It holds only what
/// every reader of `kind` may read (`core::verslag::compose`).
pub fn paper(case: &Case, meeting: Option<&str>, kind: &CompartmentKind) -> Result<Paper> {
    let composed: Verslag = verslag::compose(case, meeting, kind)?;
    let meeting = composed.meeting().map(str::to_string);
    let stored = meeting.as_deref().and_then(|m| {
        case.verslagen()
            .into_iter()
            .find(|v| &v.kind == kind && v.data.meeting == m)
    });
    let mut text = match stored {
        Some(v) => v.data.text,
        None => composed.markdown().to_string(),
    };
    // Whether it is final, and the views of parents and the young person: kept in the same
    // compartment as the verslag, so they reach exactly its readers.
    if let Some(m) = meeting.as_deref() {
        let st = case.verslag_status(m, kind);
        let names: std::collections::BTreeMap<String, String> = case
            .participants()
            .into_iter()
            .map(|p| (p.id, p.name))
            .collect();
        let name = |id: &str| {
            names
                .get(id)
                .cloned()
                .unwrap_or_else(|| "een deelnemer".into())
        };
        if !st.vastgesteld_by.is_empty() {
            text.push_str(&format!(
                "\n**Vastgesteld** door {} op {}.\n",
                name(&st.vastgesteld_by),
                crate::core::model::long_date(&st.vastgesteld_on)
            ));
        }
        if !st.views.is_empty() {
            text.push_str("\n## Reacties van ouders en jongere\n\n");
            for (who, a) in &st.views {
                text.push_str(&format!(
                    "- {} ({}): {}{}\n",
                    name(who),
                    crate::core::model::long_date(&a.on),
                    a.agrees.label(),
                    if a.text.is_empty() {
                        String::new()
                    } else {
                        format!(" — {}", a.text)
                    }
                ));
            }
        }
    }
    Ok(Paper {
        title: composed.title(),
        text,
        meeting,
    })
}

/// Where a PDF goes when the person gave no path: their home folder, named after the child
/// and the day.
pub fn default_pdf_path(case: &Case) -> PathBuf {
    home_dir().join(format!("{}.pdf", file_stem("verslag", case)))
}

/// The person's home folder (where an export goes when no place was given).
pub fn home_dir() -> PathBuf {
    std::env::home_dir()
        .filter(|h| !h.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."))
}

/// "MDO-verslag-Noor-Visser-2026-11-29": what an export of `what` is called, after the child
/// and the day.
pub fn file_stem(what: &str, case: &Case) -> String {
    let safe: String = case
        .info()
        .child
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { '-' })
        .collect();
    format!(
        "MDO-{what}-{safe}-{}",
        crate::core::model::format_date(case.today())
    )
}

impl Session {
    /// Writes the verslag for `kind` as Markdown to `path`; logged as an export.
    pub fn export_markdown(
        &mut self,
        case: &Case,
        meeting: Option<&str>,
        kind: &CompartmentKind,
        path: &Path,
    ) -> Result<Paper> {
        let paper = paper(case, meeting, kind)?;
        let shown = verslag::sources(case, kind);
        self.store_mut()
            .log_access(case, AccessAction::Export, &shown, "markdown")?;
        write_atomic(path, paper.text.as_bytes())?;
        Ok(paper)
    }

    /// Writes the verslag for `kind` as a PDF to `path`; logged as an export. Returns the paper
    /// and the PDF's size in bytes.
    pub fn export_pdf(
        &mut self,
        case: &Case,
        meeting: Option<&str>,
        kind: &CompartmentKind,
        path: &Path,
    ) -> Result<(Paper, usize)> {
        let paper = paper(case, meeting, kind)?;
        let bytes =
            crate::pdf::render(&format!("Verslag MDO — {}", case.info().child), &paper.text)
                .map_err(|e| Error::Pdf(e.to_string()))?;
        let shown = verslag::sources(case, kind);
        self.store_mut()
            .log_access(case, AccessAction::Export, &shown, "pdf")?;
        write_atomic(path, &bytes)?;
        Ok((paper, bytes.len()))
    }

    /// Writes the compartments as Automerge files into the folder `dir`: every compartment this
    /// device reads (one's own copy), or with `only` just those whose text may go to that
    /// audience. Logged as an export; returns the files written.
    pub fn export_automerge(
        &mut self,
        case: &mut Case,
        only: Option<&CompartmentKind>,
        dir: &Path,
    ) -> Result<Vec<PathBuf>> {
        let admitted = |k: &CompartmentKind| only.is_none_or(|t| audience::composes_into(k, t));
        let shown: Vec<_> = case
            .compartment_list()
            .into_iter()
            .filter(|(_, k)| admitted(k))
            .map(|(c, _)| c)
            .collect();
        self.store_mut()
            .log_access(case, AccessAction::Export, &shown, "automerge")?;
        std::fs::create_dir_all(dir).map_err(|source| Error::File {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut files = Vec::new();
        for c in case.compartments.values_mut().filter(|c| admitted(&c.kind)) {
            let name: String = c
                .kind
                .descriptor()
                .chars()
                .map(|ch| {
                    if ch.is_ascii_alphanumeric() || ch == '-' {
                        ch
                    } else {
                        '_'
                    }
                })
                .collect();
            let f = dir.join(format!("{name}.automerge"));
            write_atomic(&f, &c.doc.save())?;
            files.push(f);
        }
        Ok(files)
    }

    /// Writes a case's ciphertext (its membership ops and encrypted chunks) to `path`; returns
    /// the number of entries and bytes. Nothing in it is readable without the keys.
    pub fn export_bundle(&mut self, case: CaseId, path: &Path) -> Result<(usize, usize)> {
        let p = self.store();
        let mut entries: Vec<(bundle::Kind, Vec<u8>)> = p
            .ops_of(case)?
            .into_iter()
            .map(|b| (bundle::Kind::Op, b))
            .collect();
        entries.extend(
            p.chunks_of(case)?
                .into_iter()
                .map(|(_, _, b)| (bundle::Kind::Chunk, b)),
        );
        let bytes = bundle::encode(case, &entries);
        write_atomic(path, &bytes)?;
        Ok((entries.len(), bytes.len()))
    }

    /// Stores the contents of a bundle file (each entry verified; known ones skipped; ops
    /// first, so rights are known before content is looked at), then does the key work the new
    /// state asks of this device.
    pub fn import_bundle(&mut self, file: &Path) -> Result<Imported> {
        let bytes = std::fs::read(file).map_err(|source| Error::File {
            path: file.to_path_buf(),
            source,
        })?;
        let (case, entries) = bundle::decode(&bytes)?;
        let mut out = Imported {
            case,
            new: 0,
            known: 0,
            refused: Vec::new(),
            key_ops: 0,
        };
        let p = self.store_mut();
        for (kind, b) in entries
            .iter()
            .filter(|(k, _)| *k == bundle::Kind::Op)
            .chain(entries.iter().filter(|(k, _)| *k == bundle::Kind::Chunk))
        {
            let r = match kind {
                bundle::Kind::Op => p.store_op(b),
                bundle::Kind::Chunk => p.store_envelope(b),
            };
            match r {
                Ok(true) => out.new += 1,
                Ok(false) => out.known += 1,
                Err(e) => out.refused.push(e.to_string()),
            }
        }
        if p.case_ids()?.contains(&case) {
            out.key_ops = super::keys::key_work(p, &[case])?;
        }
        Ok(out)
    }
}

/// What a bundle import did.
#[derive(Debug, Clone)]
pub struct Imported {
    /// The case.
    pub case: CaseId,
    /// Entries stored.
    pub new: usize,
    /// Entries already here.
    pub known: usize,
    /// Entries refused, with the reason.
    pub refused: Vec<String>,
    /// Key ops made afterwards.
    pub key_ops: usize,
}
