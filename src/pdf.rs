//! The verslag as PDF, written with the `printpdf` crate (A4). The text is set in DejaVu Sans,
//! embedded (a subset of the font: Latin, Dutch punctuation, the arrows ↑ ↓ ← → and −; license
//! in `assets/fonts/LICENSE-DejaVu.txt`), so the circles' "↑ doel" and an arrow's "→" print as
//! they read on screen (issue 15). Input is the Markdown of [`crate::core::verslag`], read once
//! into [`lines`] — the same lines the app's preview shows — and laid out with line wrapping
//! measured on the font's own glyph widths, over as many pages as needed.

use printpdf::{
    Color, FontId, Mm, Op, ParsedFont, PdfDocument, PdfFontHandle, PdfPage, PdfSaveOptions, Point,
    Pt, Rgb, TextItem,
};

/// DejaVu Sans, subset (Bitstream Vera license; see `assets/fonts/LICENSE-DejaVu.txt`).
const REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-subset.ttf");
/// DejaVu Sans Bold, subset.
const BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold-subset.ttf");

/// Why a PDF could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    /// The embedded font could not be read.
    #[error("the PDF font {0} could not be loaded; the verslag was not exported")]
    Font(&'static str),
}

const PAGE_W: f32 = 210.0;
const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 20.0;
const PT_PER_MM: f32 = 72.0 / 25.4;

struct Face {
    handle: FontId,
    parsed: ParsedFont,
}

impl Face {
    fn parse(bytes: &[u8], name: &'static str) -> Result<ParsedFont, PdfError> {
        let mut warnings = Vec::new();
        ParsedFont::from_bytes(bytes, 0, &mut warnings).ok_or(PdfError::Font(name))
    }

    fn load(doc: &mut PdfDocument, bytes: &[u8], name: &'static str) -> Result<Face, PdfError> {
        let parsed = Face::parse(bytes, name)?;
        Ok(Face {
            handle: doc.add_font(&parsed),
            parsed,
        })
    }

    /// Width of `s` at `size` points, in millimetres.
    fn width_mm(&self, s: &str, size: f32) -> f32 {
        let upem = f32::from(self.parsed.units_per_em.max(1));
        let units: f32 = s
            .chars()
            .map(|c| {
                self.parsed
                    .lookup_glyph_index(c as u32)
                    .and_then(|g| self.parsed.get_glyph_width(g))
                    .map(f32::from)
                    // Unknown glyphs: the width of an average lower-case letter.
                    .unwrap_or(upem * 0.55)
            })
            .sum();
        units / upem * size / PT_PER_MM
    }
}

/// A line of the layout.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Style {
    /// Title.
    H1,
    /// Section heading.
    H2,
    /// Sub-heading.
    H3,
    /// A bold line.
    Bold,
    /// Text.
    Body,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Style::H1 => 18.0,
            Style::H2 => 14.0,
            Style::H3 => 12.0,
            Style::Bold | Style::Body => 10.5,
        }
    }
    fn space_before(self) -> f32 {
        match self {
            Style::H1 => 0.0,
            Style::H2 => 5.0,
            Style::H3 => 3.0,
            Style::Bold => 1.5,
            Style::Body => 0.0,
        }
    }
}

/// Strips the inline Markdown the verslag uses (`**bold**`, `_italic_`).
fn plain(s: &str) -> String {
    let s = s.replace("**", "");
    let t = s.trim();
    let t = t
        .strip_prefix('_')
        .and_then(|x| x.strip_suffix('_'))
        .unwrap_or(t);
    t.replace(" _(", " (").replace(")_", ")")
}

/// One line of the verslag as it prints: its style, text, indent (mm) and whether it has a
/// bullet. A row of the agreements table becomes a small block ("Wie: …", "Wat: …").
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Heading, bold or body.
    pub style: Style,
    /// The text, without Markdown.
    pub text: String,
    /// Indent in mm.
    pub indent: f32,
    /// Starts with a bullet.
    pub bullet: bool,
}

impl Line {
    /// The style's name for the app's preview: `h1`, `h2`, `h3`, `bold`, `bullet`, `body`.
    pub fn kind(&self) -> &'static str {
        match (self.style, self.bullet) {
            (Style::H1, _) => "h1",
            (Style::H2, _) => "h2",
            (Style::H3, _) => "h3",
            (Style::Bold, _) => "bold",
            (_, true) => "bullet",
            _ => "body",
        }
    }
}

/// The verslag Markdown `md` as the lines it prints as (empty lines: a small gap, kept as an
/// empty body line).
pub fn lines(md: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let mut push = |style, text: String, indent, bullet| {
        out.push(Line {
            style,
            text,
            indent,
            bullet,
        })
    };
    let mut table_header: Option<Vec<String>> = None;
    for raw in md.lines() {
        let line = raw.trim_end();
        if line.trim().is_empty() {
            push(Style::Body, String::new(), 0.0, false);
            continue;
        }
        if let Some(t) = line.strip_prefix("# ") {
            push(Style::H1, plain(t), 0.0, false);
        } else if let Some(t) = line.strip_prefix("## ") {
            push(Style::H2, plain(t), 0.0, false);
        } else if let Some(t) = line.strip_prefix("### ") {
            push(Style::H3, plain(t), 0.0, false);
        } else if let Some(t) = line.strip_prefix("- ") {
            push(Style::Body, plain(t), 2.0, true);
        } else if line.starts_with('|') {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| plain(c.trim()))
                .collect();
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            match &table_header {
                None => table_header = Some(cells),
                Some(h) => {
                    let mut first = true;
                    for (name, value) in h.iter().zip(cells.iter()) {
                        if value.is_empty() {
                            continue;
                        }
                        push(Style::Body, format!("{name}: {value}"), 2.0, first);
                        first = false;
                    }
                    push(Style::Body, String::new(), 0.0, false);
                }
            }
            continue;
        } else if line.starts_with("**") {
            push(Style::Bold, plain(line), 0.0, false);
        } else {
            push(Style::Body, plain(line), 0.0, false);
        }
        table_header = None;
    }
    out
}

/// Splits `text` into lines no wider than `width` mm.
fn wrap(face: &Face, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let candidate = if line.is_empty() {
            word.to_string()
        } else {
            format!("{line} {word}")
        };
        if face.width_mm(&candidate, size) <= width || line.is_empty() {
            line = candidate;
        } else {
            lines.push(std::mem::take(&mut line));
            line = word.to_string();
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

struct Layout {
    regular: Face,
    bold: Face,
    pages: Vec<Vec<Op>>,
    y: f32,
}

impl Layout {
    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let n = self.pages.len() - 1;
        &mut self.pages[n]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = PAGE_H - MARGIN;
    }

    /// One paragraph: wrapped, with `indent` mm and an optional bullet.
    fn paragraph(&mut self, style: Style, text: &str, indent: f32, bullet: bool) {
        let size = style.size();
        let line_h = size * 1.35 / PT_PER_MM;
        let face = if matches!(style, Style::Body) {
            &self.regular
        } else {
            &self.bold
        };
        let width = PAGE_W - 2.0 * MARGIN - indent - if bullet { 4.0 } else { 0.0 };
        let lines = wrap(face, text, size, width);
        let handle = face.handle.clone();
        self.y -= style.space_before();
        for (n, line) in lines.into_iter().enumerate() {
            if self.y - line_h < MARGIN {
                self.new_page();
            }
            self.y -= line_h;
            let y = self.y;
            let mut x = MARGIN + indent;
            let ops = self.page();
            if bullet {
                if n == 0 {
                    ops.extend(text_ops(&handle, size, x, y, "•"));
                }
                x += 4.0;
            }
            ops.extend(text_ops(&handle, size, x, y, &line));
        }
        self.y -= 1.2;
    }
}

fn text_ops(font: &FontId, size: f32, x: f32, y: f32, text: &str) -> Vec<Op> {
    vec![
        Op::StartTextSection,
        Op::SetFillColor {
            col: Color::Rgb(Rgb {
                r: 0.11,
                g: 0.17,
                b: 0.21,
                icc_profile: None,
            }),
        },
        Op::SetFont {
            font: PdfFontHandle::External(font.clone()),
            size: Pt(size),
        },
        Op::SetTextCursor {
            pos: Point::new(Mm(x), Mm(y)),
        },
        Op::ShowText {
            items: vec![TextItem::Text(text.to_string())],
        },
        Op::EndTextSection,
    ]
}

/// Renders the verslag Markdown `md` as a PDF titled `title`.
pub fn render(title: &str, md: &str) -> Result<Vec<u8>, PdfError> {
    let mut doc = PdfDocument::new(title);
    let mut l = Layout {
        regular: Face::load(&mut doc, REGULAR, "DejaVu Sans")?,
        bold: Face::load(&mut doc, BOLD, "DejaVu Sans Bold")?,
        pages: Vec::new(),
        y: PAGE_H - MARGIN,
    };
    for line in lines(md) {
        if line.text.is_empty() {
            l.y -= 1.5;
            continue;
        }
        l.paragraph(line.style, &line.text, line.indent, line.bullet);
    }
    let count = l.pages.len().max(1);
    let mut pages = Vec::new();
    let footer_font = l.regular.handle.clone();
    for (n, mut ops) in std::mem::take(&mut l.pages).into_iter().enumerate() {
        let footer = format!("{} — pagina {} van {}", title, n + 1, count);
        ops.extend(text_ops(&footer_font, 8.0, MARGIN, MARGIN / 2.0, &footer));
        pages.push(PdfPage::new(Mm(PAGE_W), Mm(PAGE_H), ops));
    }
    doc.with_pages(pages);
    let mut warnings = Vec::new();
    Ok(doc.save(&PdfSaveOptions::default(), &mut warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps_within_the_width() {
        let mut doc = PdfDocument::new("t");
        let face = Face::load(&mut doc, REGULAR, "DejaVu Sans").unwrap();
        let text =
            "Noor start na de pauze binnen 5 minuten met haar taak, 4 van 5 dagen ".repeat(5);
        let lines = wrap(&face, &text, 10.5, 80.0);
        assert!(lines.len() > 3, "{lines:?}");
        for l in &lines {
            assert!(face.width_mm(l, 10.5) <= 80.0, "{l}");
        }
        assert_eq!(
            lines.join(" "),
            text.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }

    #[test]
    fn long_text_makes_more_pages() {
        let md = "# Titel\n\n".to_string() + &"- een regel met wat tekst\n".repeat(200);
        let pdf = render("Verslag", &md).unwrap();
        assert!(pdf.starts_with(b"%PDF-"));
        let doc = lopdf::Document::load_mem(&pdf).unwrap();
        assert!(doc.get_pages().len() >= 3);
    }

    #[test]
    fn the_font_has_the_arrows_and_the_minus() {
        let f = Face::parse(REGULAR, "DejaVu Sans").unwrap();
        for c in ['↑', '→', '↓', '←', '−', '•', 'ë', '€', '—'] {
            assert!(
                f.lookup_glyph_index(c as u32).is_some_and(|g| g != 0),
                "{c}"
            );
        }
        let b = Face::parse(BOLD, "DejaVu Sans Bold").unwrap();
        assert!(b.lookup_glyph_index('→' as u32).is_some_and(|g| g != 0));
    }

    #[test]
    fn the_table_becomes_blocks_and_markdown_goes() {
        let md = "# Verslag\n\n## Afspraken\n\n| Wie | Wat |\n|---|---|\n| Jeroen | **kaart** |\n\n- _punt_ een\n";
        let l = lines(md);
        let kinds: Vec<&str> = l
            .iter()
            .filter(|x| !x.text.is_empty())
            .map(|x| x.kind())
            .collect();
        assert_eq!(kinds, ["h1", "h2", "bullet", "body", "bullet"]);
        assert!(l.iter().any(|x| x.text == "Wat: kaart"));
        assert!(
            l.iter()
                .all(|x| !x.text.contains("**") && !x.text.contains('|'))
        );
    }
}
