//! The MDO domain, typed. Names are the Dutch words professionals use (see `shared/domain.md` and
//! the seeds): roles, audiences, the support-route phases, the sections of a case (the three
//! circles, the needs chain, the aanmeldformulier), agreements and meetings.

use serde::{Deserialize, Serialize};

use super::CoreError;

macro_rules! kebab_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $id:literal / $label:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum $name { $($(#[$vdoc])* #[serde(rename = $id)] $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The identifier used by the CLI and in stored data.
            pub fn id(self) -> &'static str {
                match self { $($name::$variant => $id),+ }
            }
            /// The Dutch label shown to people.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.id())
            }
        }

        impl std::str::FromStr for $name {
            type Err = CoreError;
            fn from_str(s: &str) -> Result<Self, CoreError> {
                let s = s.trim().to_lowercase();
                $name::ALL.iter().copied().find(|v| v.id() == s).ok_or_else(|| CoreError::UnknownValue {
                    what: stringify!($name),
                    value: s.clone(),
                    allowed: $name::ALL.iter().map(|v| v.id()).collect::<Vec<_>>().join(", "),
                })
            }
        }
    };
}

kebab_enum!(
    /// A participant's role in the case (`shared/domain.md`, Roles).
    Role {
        /// Parent or carer (with or without gezag).
        Ouder = "ouder" / "ouder/verzorger",
        /// Guardian: holds gezag in place of the parents (a person, or a GI as voogd; BW art.
        /// 1:245, 1:280, 1:302).
        Voogd = "voogd" / "voogd",
        /// Foster parent: cares for the child daily, holds no gezag unless appointed voogd.
        Pleegouder = "pleegouder" / "pleegouder",
        /// The child or young person.
        Kind = "kind" / "kind/jongere",
        /// Informal network: family, friend, neighbour, peer expert.
        Netwerk = "netwerk" / "informeel netwerk",
        /// Teacher (primary school).
        Leerkracht = "leerkracht" / "leerkracht",
        /// Teacher/mentor (secondary school).
        Mentor = "mentor" / "docent/mentor",
        /// Intern begeleider.
        IbEr = "ib-er" / "intern begeleider",
        /// Ondersteuningscoördinator / zorgcoördinator (secondary).
        Zoco = "zoco" / "ondersteuningscoördinator",
        /// School director.
        Directeur = "directeur" / "schooldirecteur",
        /// Consultant of the samenwerkingsverband.
        ConsulentSwv = "consulent-swv" / "consulent samenwerkingsverband",
        /// Municipal youth & family coach.
        JgCoach = "jg-coach" / "JG-coach",
        /// Youth care worker.
        Jeugdhulpverlener = "jeugdhulpverlener" / "jeugdhulpverlener",
        /// School social worker.
        Schoolmaatschappelijkwerker = "schoolmaatschappelijk-werker" / "schoolmaatschappelijk werker",
        /// Youth doctor (JGZ).
        Jeugdarts = "jeugdarts" / "jeugdarts",
        /// Health-care worker (GGZ, huisarts).
        Gezondheidszorg = "gezondheidszorg" / "medewerker gezondheidszorg",
        /// Youth worker.
        Jongerenwerker = "jongerenwerker" / "jongerenwerker",
        /// Compulsory-education officer.
        Leerplichtambtenaar = "leerplichtambtenaar" / "leerplichtambtenaar",
        /// Child-protection worker.
        Jeugdbeschermer = "jeugdbeschermer" / "jeugdbeschermer",
        /// Police.
        Politie = "politie" / "politie",
        /// The organisation's privacy officer (functionaris gegevensbescherming, AVG art. 37-39):
        /// reads its organisation's access logs of the case, never its content (issue 17).
        Privacy = "privacy" / "privacyfunctionaris",
    }
);

impl Role {
    /// Roles bound by medical secrecy (they may read the `medical` compartment).
    pub fn is_medical(self) -> bool {
        matches!(self, Role::Jeugdarts | Role::Gezondheidszorg)
    }
    /// Whether this role belongs to the base audience of its organisation's compartment for
    /// `category` (medical categories: medical roles only; `dossier` has no such compartment).
    pub fn holds_category(self, category: ConsentCategory) -> bool {
        match category {
            ConsentCategory::Medisch | ConsentCategory::Ggz => self.is_medical(),
            ConsentCategory::Dossier => false,
            _ => self.is_professional(),
        }
    }
    /// Professionals (everyone but parents, the voogd, the foster parent, the child and the
    /// informal network).
    pub fn is_professional(self) -> bool {
        !matches!(
            self,
            Role::Ouder | Role::Voogd | Role::Pleegouder | Role::Kind | Role::Netwerk
        )
    }
    /// Roles that can hold gezag: a parent, or a voogd in their place (BW art. 1:245).
    pub fn may_hold_gezag(self) -> bool {
        matches!(self, Role::Ouder | Role::Voogd)
    }
    /// Roles whose own consent counts: those who can hold gezag, and the child. A foster
    /// parent gives no consent (no gezag: law notes §7).
    pub fn gives_consent(self) -> bool {
        self.may_hold_gezag() || self == Role::Kind
    }
}

kebab_enum!(
    /// Who may read an item (`shared/domain.md`, Sharing audiences). Every item lives in the
    /// compartment (Automerge document) of its audience.
    Audience {
        /// Only the writer.
        Author = "author" / "alleen de schrijver",
        /// The writer's organisation.
        Organisation = "organisation" / "eigen organisatie",
        /// All professionals on the case.
        Professionals = "professionals" / "alle professionals",
        /// Professionals + parents with gezag: the default for HGW content.
        Parents = "parents" / "professionals en ouders",
        /// Above + the child.
        Child = "child" / "professionals, ouders en kind",
        /// The informal network (what is assigned to them).
        Network = "network" / "netwerk",
        /// Medical roles only (+ consent).
        Medical = "medical" / "medisch",
        /// Safety track: the author's organisation.
        Safety = "safety" / "veiligheidsspoor",
    }
);

impl Audience {
    /// The default audience of HGW content: professionals and parents with gezag.
    pub const DEFAULT: Audience = Audience::Parents;
}

kebab_enum!(
    /// An information category that a consent record (or a legal basis) covers. Content of a
    /// category lives in its own compartment per organisation and is read beyond its base audience
    /// only under a valid record (`docs/sharing-rules.md`).
    ConsentCategory {
        /// Medical findings of JGZ/jeugdarts, huisarts (diagnoses, medication, reports).
        Medisch = "medisch" / "medische gegevens",
        /// Mental-health (GGZ) information.
        Ggz = "ggz" / "GGZ-informatie",
        /// The family situation as known to youth care.
        Gezinssituatie = "gezinssituatie" / "gezinssituatie",
        /// Absence and compulsory-education records.
        Verzuim = "verzuim" / "verzuim",
        /// Reports of (psychological, didactic) assessments.
        Onderzoek = "onderzoek" / "onderzoeksverslagen",
        /// The case file shared with professionals and parents (what a young person of 16+ decides
        /// to show their parents, or what a parent without gezag gets).
        Dossier = "dossier" / "het MDO-dossier",
    }
);

impl ConsentCategory {
    /// Categories under medical secrecy: after consent the source's medical professional still
    /// decides to release them (WGBO art. 7:457).
    pub fn needs_release(self) -> bool {
        matches!(self, ConsentCategory::Medisch | ConsentCategory::Ggz)
    }
}

kebab_enum!(
    /// How a consent was given.
    ConsentHow {
        /// On paper, signed.
        Written = "written" / "schriftelijk",
        /// Spoken; the record says when, by whom and for what.
        Oral = "oral" / "mondeling",
        /// Through a digital form or app.
        Digital = "digital" / "digitaal",
    }
);

kebab_enum!(
    /// A legal basis for sharing without consent (`shared/domain.md`, Consent and data exchange).
    LegalGround {
        /// Meldrecht to Veilig Thuis (Wmo 2015 art. 5.2.6).
        Meldrecht = "meldrecht" / "meldrecht (Wmo 2015 art. 5.2.6)",
        /// A legal duty to provide the information.
        LegalDuty = "legal-duty" / "wettelijke plicht",
        /// Conflict of duties (conflict van plichten).
        ConflictOfDuties = "conflict-of-duties" / "conflict van plichten",
        /// A child-protection measure such as an OTS: information to the GI.
        ChildProtection = "child-protection" / "kinderbeschermingsmaatregel (OTS)",
        /// The information right of a parent without gezag (BW art. 1:377c).
        ParentInformation = "parent-information" / "informatierecht ouder zonder gezag (BW art. 1:377c)",
    }
);

kebab_enum!(
    /// The primary-school support route (seed 004).
    SupportPhase {
        /// 1 begeleiden, observeren, signaleren.
        Signaleren = "signaleren" / "1 begeleiden, observeren, signaleren",
        /// 2 collegiale consultatie.
        Consultatie = "consultatie" / "2 collegiale consultatie",
        /// 3 interne leerlingbespreking.
        Leerlingbespreking = "leerlingbespreking" / "3 interne leerlingbespreking",
        /// 4 MDO.
        Mdo = "mdo" / "4 multidisciplinair overleg",
        /// 5 arrangeren, toeleiden, toegang.
        Arrangeren = "arrangeren" / "5 arrangeren, toeleiden, toegang",
        /// 6 uitvoeren en evalueren.
        Evalueren = "evalueren" / "6 uitvoeren en evalueren",
    }
);

kebab_enum!(
    /// Open or closed.
    CaseStatus {
        /// The traject runs.
        Open = "open" / "open",
        /// The traject is closed.
        Gesloten = "gesloten" / "gesloten",
    }
);

kebab_enum!(
    /// Status of an agreement.
    AgreementStatus {
        /// Still to do.
        Open = "open" / "open",
        /// Done.
        Gedaan = "gedaan" / "gedaan",
        /// Dropped.
        Vervallen = "vervallen" / "vervallen",
    }
);

kebab_enum!(
    /// The term of a goal (seed 002:33: "wat streven we na, op de korte en langere termijn?").
    GoalTerm {
        /// Short term: until the next evaluation.
        Kort = "kort" / "korte termijn",
        /// Longer term.
        Lang = "lang" / "langere termijn",
    }
);

kebab_enum!(
    /// How far a goal, a question or a process goal of a meeting got (the evaluation at step 6
    /// and at the follow-up meeting, seed 002 §5 step 6: "doelen behaald, vragen beantwoord?").
    ItemStatus {
        /// Still open.
        Open = "open" / "open",
        /// Reached (a goal), answered (a question), taken (a decision).
        Behaald = "behaald" / "behaald",
        /// Partly.
        Deels = "deels" / "deels behaald",
        /// No longer pursued.
        Vervallen = "vervallen" / "vervallen",
    }
);

kebab_enum!(
    /// A record of the support route (seed 004:19, 004:36-37: "OPP opstellen, deskundigenadvies
    /// vragen. Bij plaatsing in SBO of SO een TLV aanvragen"; the OPP's handelingsdeel needs the
    /// parents' instemming, WPO art. 40a, law.md row "WPO art. 40a").
    RouteKind {
        /// Ontwikkelingsperspectiefplan, with the parents' instemming on its handelingsdeel.
        Opp = "opp" / "ontwikkelingsperspectiefplan (OPP)",
        /// The advice of experts the samenwerkingsverband asks before a TLV.
        Deskundigenadvies = "deskundigenadvies" / "deskundigenadvies",
        /// Toelaatbaarheidsverklaring for special (primary) education.
        Tlv = "tlv" / "toelaatbaarheidsverklaring (TLV)",
        /// An arrangement: the extra support the school or the samenwerkingsverband provides.
        Arrangement = "arrangement" / "arrangement",
    }
);

kebab_enum!(
    /// Whether a parent or the young person agrees with the plan of a verslag, or with an OPP's
    /// handelingsdeel (seed 000:15: "een plan … waar iedereen achter staat").
    Agrees {
        /// Agrees.
        Ja = "ja" / "eens",
        /// Agrees in part.
        Deels = "deels" / "deels eens",
        /// Does not agree.
        Nee = "nee" / "niet eens",
    }
);

kebab_enum!(
    /// Direction of an arrow between circles: the interplay spirals up or down.
    Direction {
        /// Upward spiral (reinforcing what goes well).
        Omhoog = "omhoog" / "opwaartse spiraal",
        /// Downward spiral.
        Omlaag = "omlaag" / "neerwaartse spiraal",
    }
);

/// What kind of entry in a circle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CircleSlot {
    /// + goes well (green).
    Plus,
    /// − must improve (orange).
    Min,
    /// ? open question (blue).
    Vraag,
    /// goal (red arrow up).
    Doel,
}

impl CircleSlot {
    /// All slots in display order.
    pub const ALL: [CircleSlot; 4] = [
        CircleSlot::Plus,
        CircleSlot::Min,
        CircleSlot::Vraag,
        CircleSlot::Doel,
    ];
    /// CLI id.
    pub fn id(self) -> &'static str {
        match self {
            CircleSlot::Plus => "plus",
            CircleSlot::Min => "min",
            CircleSlot::Vraag => "vraag",
            CircleSlot::Doel => "doel",
        }
    }
    /// Symbol used in the verslag.
    pub fn symbol(self) -> &'static str {
        match self {
            CircleSlot::Plus => "+",
            CircleSlot::Min => "−",
            CircleSlot::Vraag => "?",
            CircleSlot::Doel => "↑ doel",
        }
    }
}

/// Where an item sits in a case. Written on the CLI as `kind.plus`, `school.min`, `thuis.vraag`,
/// `kind.doel`, `vragen`, `procesdoelen`, `beslissingen`, `behoeften.kind`, `aanpak.leerkracht`,
/// `ondersteuning.ouders`, `effect`, `notitie`, … (see [`Section::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Section {
    /// An entry in a circle (`kind`, `school`, `thuis` or an added circle).
    Circle {
        /// Circle name.
        circle: String,
        /// Which slot.
        slot: CircleSlot,
    },
    /// A question of a participant (agenda, step 1).
    Vragen,
    /// A process goal of the meeting (aanmeldformulier).
    Procesdoelen,
    /// A decision the meeting must take (aanmeldformulier).
    Beslissingen,
    /// Onderwijs-/opvoedbehoefte for `kind`, `school`, `thuis` or `overige`.
    Behoeften(NeedArea),
    /// Approach: "heeft een leerkracht/ouders nodig die …".
    Aanpak(SupportOf),
    /// Ondersteuningsbehoefte of the teacher/mentor, IB/zoco or parents.
    Ondersteuning(SupportOf),
    /// Effect of the approach (filled at evaluation).
    Effect,
    /// A free note (e.g. an organisation's internal note, a medical finding).
    Notitie,
}

kebab_enum!(
    /// Area of an onderwijs-/opvoedbehoefte (step 4).
    NeedArea {
        /// The child.
        Kind = "kind" / "kind/jongere",
        /// At school.
        School = "school" / "op school",
        /// At home.
        Thuis = "thuis" / "thuis",
        /// Other.
        Overige = "overige" / "overige",
    }
);

kebab_enum!(
    /// Whose support need (step 5), or whose approach.
    SupportOf {
        /// Teacher or mentor.
        Leerkracht = "leerkracht" / "leerkracht/mentor",
        /// IB-er or zoco.
        Ib = "ib" / "IB/zoco",
        /// Parents.
        Ouders = "ouders" / "ouders",
    }
);

/// The circles every case starts with.
pub const DEFAULT_CIRCLES: [&str; 3] = ["kind", "school", "thuis"];

impl Section {
    /// Parses the CLI/storage form.
    pub fn parse(s: &str) -> Result<Section, CoreError> {
        let s = s.trim().to_lowercase();
        let bad = || CoreError::UnknownSection { section: s.clone() };
        let (head, tail) = match s.split_once('.') {
            Some((h, t)) => (h, Some(t)),
            None => (s.as_str(), None),
        };
        Ok(match (head, tail) {
            ("vragen", None) => Section::Vragen,
            ("procesdoelen", None) => Section::Procesdoelen,
            ("beslissingen", None) => Section::Beslissingen,
            ("effect", None) => Section::Effect,
            ("notitie", None) => Section::Notitie,
            ("behoeften", Some(t)) => Section::Behoeften(t.parse().map_err(|_| bad())?),
            ("aanpak", Some(t)) => Section::Aanpak(t.parse().map_err(|_| bad())?),
            ("ondersteuning", Some(t)) => Section::Ondersteuning(t.parse().map_err(|_| bad())?),
            (circle, Some(slot)) if valid_circle_name(circle) => {
                let slot = CircleSlot::ALL
                    .iter()
                    .copied()
                    .find(|x| x.id() == slot)
                    .ok_or_else(bad)?;
                Section::Circle {
                    circle: circle.to_string(),
                    slot,
                }
            }
            _ => return Err(bad()),
        })
    }

    /// The CLI/storage form.
    pub fn id(&self) -> String {
        match self {
            Section::Circle { circle, slot } => format!("{circle}.{}", slot.id()),
            Section::Vragen => "vragen".into(),
            Section::Procesdoelen => "procesdoelen".into(),
            Section::Beslissingen => "beslissingen".into(),
            Section::Behoeften(a) => format!("behoeften.{a}"),
            Section::Aanpak(s) => format!("aanpak.{s}"),
            Section::Ondersteuning(s) => format!("ondersteuning.{s}"),
            Section::Effect => "effect".into(),
            Section::Notitie => "notitie".into(),
        }
    }
}

/// Circle names: lowercase letters, digits and `-`, 1–32 characters, not a reserved section word.
pub fn valid_circle_name(name: &str) -> bool {
    const RESERVED: [&str; 8] = [
        "vragen",
        "procesdoelen",
        "beslissingen",
        "behoeften",
        "aanpak",
        "ondersteuning",
        "effect",
        "notitie",
    ];
    !name.is_empty()
        && name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !RESERVED.contains(&name)
}

impl From<Section> for String {
    fn from(s: Section) -> String {
        s.id()
    }
}

impl TryFrom<String> for Section {
    type Error = CoreError;
    fn try_from(s: String) -> Result<Self, CoreError> {
        Section::parse(&s)
    }
}

impl std::fmt::Display for Section {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.id())
    }
}

/// A calendar date (`YYYY-MM-DD`).
pub type Date = time::Date;

/// Parses `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Result<Date, CoreError> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s.trim(), &fmt).map_err(|_| CoreError::BadDate {
        value: s.to_string(),
    })
}

/// Formats `YYYY-MM-DD`.
pub fn format_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// A date as people read it: "24 september 2026". Text that is not a date comes back as it was.
pub fn long_date(s: &str) -> String {
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    match parse_date(s) {
        Ok(d) => format!(
            "{} {} {}",
            d.day(),
            MONTHS[usize::from(u8::from(d.month())) - 1],
            d.year()
        ),
        Err(_) => s.to_string(),
    }
}

/// Age bands that decide who consents (`shared/domain.md`, Consent).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AgeBand {
    /// Under 12: parents with gezag decide.
    Onder12,
    /// 12–15: parents and the child.
    Van12Tot16,
    /// 16 and older: the young person alone.
    Vanaf16,
}

/// Full years between `birth` and `today`.
pub fn age_on(birth: Date, today: Date) -> i32 {
    let mut age = today.year() - birth.year();
    if (u8::from(today.month()), today.day()) < (u8::from(birth.month()), birth.day()) {
        age -= 1;
    }
    age
}

/// The age band of a child born on `birth`, on `today`.
pub fn age_band(birth: Date, today: Date) -> AgeBand {
    match age_on(birth, today) {
        a if a < 12 => AgeBand::Onder12,
        a if a < 16 => AgeBand::Van12Tot16,
        _ => AgeBand::Vanaf16,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_and_audiences_parse_from_their_ids() {
        for r in Role::ALL {
            assert_eq!(r.id().parse::<Role>().unwrap(), *r);
        }
        assert_eq!(Role::ALL.len(), 21);
        for a in Audience::ALL {
            assert_eq!(a.id().parse::<Audience>().unwrap(), *a);
        }
        let err = "dokter".parse::<Role>().unwrap_err().to_string();
        assert!(err.contains("jeugdarts"), "{err}");
        assert!(Role::Jeugdarts.is_medical() && !Role::IbEr.is_medical());
        assert!(!Role::Ouder.is_professional() && Role::Politie.is_professional());
        assert_eq!(Audience::DEFAULT, Audience::Parents);
    }

    #[test]
    fn sections_round_trip() {
        for s in [
            "kind.plus",
            "school.min",
            "thuis.vraag",
            "kind.doel",
            "vragen",
            "procesdoelen",
            "beslissingen",
            "behoeften.kind",
            "behoeften.overige",
            "aanpak.leerkracht",
            "ondersteuning.ouders",
            "ondersteuning.ib",
            "effect",
            "notitie",
            "vrije-tijd.plus",
        ] {
            assert_eq!(Section::parse(s).unwrap().id(), s);
        }
        for bad in [
            "kind",
            "kind.goed",
            "behoeften",
            "behoeften.tuin",
            "vragen.x",
            "",
            "KIND PLUS",
            "effect.plus",
        ] {
            assert!(
                matches!(Section::parse(bad), Err(CoreError::UnknownSection { .. })),
                "{bad}"
            );
        }
        assert_eq!(Section::parse(" Kind.Plus ").unwrap().id(), "kind.plus");
        let json = serde_json::to_string(&Section::parse("thuis.min").unwrap()).unwrap();
        assert_eq!(json, "\"thuis.min\"");
    }

    #[test]
    fn age_bands_follow_birthdays() {
        let b = parse_date("2014-03-15").unwrap();
        assert_eq!(
            age_band(b, parse_date("2026-03-14").unwrap()),
            AgeBand::Onder12
        );
        assert_eq!(
            age_band(b, parse_date("2026-03-15").unwrap()),
            AgeBand::Van12Tot16
        );
        assert_eq!(
            age_band(b, parse_date("2030-03-14").unwrap()),
            AgeBand::Van12Tot16
        );
        assert_eq!(
            age_band(b, parse_date("2030-03-15").unwrap()),
            AgeBand::Vanaf16
        );
        assert!(matches!(
            parse_date("2014-13-01"),
            Err(CoreError::BadDate { .. })
        ));
        assert!(parse_date("15-03-2014").is_err());
        assert_eq!(format_date(b), "2014-03-15");
    }
}
