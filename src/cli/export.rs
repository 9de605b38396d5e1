//! `mdo export`: the verslag for one audience as Markdown or PDF, the compartments as Automerge
//! files, or the inzage (AVG art. 15) as a PDF and a JSON; all through the application layer,
//! which logs the export.

use std::path::Path;

use anyhow::{Result, bail};
use serde_json::json;

use super::{Out, audience_kind, load, open};

pub(crate) fn run(
    dir: &Path,
    out: &Out,
    case_ref: &str,
    format: &str,
    path: &Path,
    audience: Option<&str>,
    meeting: Option<&str>,
) -> Result<()> {
    let mut s = open(dir)?;
    let mut case = load(&mut s, case_ref)?;
    match format {
        "markdown" | "md" => {
            let kind = audience_kind(audience.unwrap_or("parents"), s.me())?;
            let paper = s.export_markdown(&case, meeting, &kind, path)?;
            out.print(
                json!({ "id": case.id, "format": "markdown", "files": [path], "audience": kind.descriptor(), "meeting": paper.meeting }),
                || format!("{} geschreven naar {}", paper.title, path.display()),
            );
        }
        "pdf" => {
            let kind = audience_kind(audience.unwrap_or("parents"), s.me())?;
            let (paper, size) = s.export_pdf(&case, meeting, &kind, path)?;
            out.print(
                json!({ "id": case.id, "format": "pdf", "files": [path], "bytes": size, "audience": kind.descriptor(), "meeting": paper.meeting }),
                || {
                    format!(
                        "{} geschreven naar {} ({} kB). Dit bestand is niet versleuteld; bewaar en deel het zorgvuldig.",
                        paper.title,
                        path.display(),
                        size.div_ceil(1024)
                    )
                },
            );
        }
        "automerge" => {
            let only = audience.map(|a| audience_kind(a, s.me())).transpose()?;
            let files = s.export_automerge(&mut case, only.as_ref(), path)?;
            out.print(
                json!({ "id": case.id, "format": "automerge", "files": files }),
                || {
                    files
                        .iter()
                        .map(|f| format!("geschreven: {}", f.display()))
                        .collect::<Vec<_>>()
                        .join("\n")
                },
            );
        }
        "inzage" => {
            let files = s.export_inzage(&case, path)?;
            let (items, agreements, meetings, log) = files.counts;
            out.print(
                json!({ "id": case.id, "format": "inzage", "files": [files.pdf, files.json], "items": items, "agreements": agreements, "meetings": meetings, "log_entries": log }),
                || {
                    format!(
                        "inzage geschreven: {} en {} ({items} onderdelen, {agreements} afspraken, {meetings} overleggen, {log} regels uit het logboek). Deze bestanden zijn niet versleuteld; bewaar en deel ze zorgvuldig.",
                        files.pdf.display(),
                        files.json.display()
                    )
                },
            );
        }
        other => bail!("unknown export format '{other}' (use markdown, pdf, automerge or inzage)"),
    }
    Ok(())
}
