//! Why an op was not applied ([`Rejection`]: a validly signed op the rules refuse, kept in the log
//! with its reason) and the errors of the log ([`LogError`]).

use serde::Serialize;

use super::op::OpError;

/// Why a validly signed op was not applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "reason", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Rejection {
    /// A second creation op.
    #[error("the case was already created by another op")]
    DuplicateCreate,
    /// A rule of consent and legal bases (issue 14; `docs/sharing-rules.md`).
    #[error("{}", .0.english())]
    Consent(ConsentRule),
    /// A consent or legal basis recorded by someone it gives access (issue 13 #9).
    #[error(
        "a consent or legal basis is recorded by the person who consents or by whoever holds the information, never by someone it gives access"
    )]
    SelfGranted,
    /// Creation op by a device the creator does not list.
    #[error("the creation op is not signed by a device of its creator")]
    CreatorMismatch,
    /// Author device unknown.
    #[error("the author's device belongs to no participant of this case")]
    UnknownAuthor,
    /// Author device removed.
    #[error("the author's device was removed from participant {member}")]
    DeviceRemoved {
        /// Its owner.
        member: String,
    },
    /// Author removed.
    #[error("the author, participant {member}, was removed from the case")]
    AuthorRemoved {
        /// The author.
        member: String,
    },
    /// Author not admin.
    #[error("only the chair or a co-chair may {action}")]
    NotAdmin {
        /// What was attempted.
        action: &'static str,
    },
    /// Author not confirmed.
    #[error("participant {member} is not confirmed yet and has no rights")]
    Unconfirmed {
        /// The author.
        member: String,
    },
    /// No such participant.
    #[error("no participant {member} in this case")]
    UnknownMember {
        /// Id.
        member: String,
    },
    /// Id taken.
    #[error("participant id {member} is already used in this case")]
    MemberExists {
        /// Id.
        member: String,
    },
    /// Device of another participant.
    #[error("device {device} already belongs to participant {member}")]
    DeviceTaken {
        /// Device.
        device: String,
        /// Owner.
        member: String,
    },
    /// Would leave no admin.
    #[error("the case would be left without a chair; appoint another chair first")]
    LastAdmin,
    /// A rule of the domain.
    #[error("{0}")]
    Invalid(String),
    /// No such consent.
    #[error("no consent record {consent} in this case")]
    UnknownConsent {
        /// Id.
        consent: String,
    },
    /// Already withdrawn.
    #[error("consent record {consent} was already withdrawn")]
    AlreadyWithdrawn {
        /// Id.
        consent: String,
    },
    /// Key change by a device that may not read the compartment.
    #[error(
        "device {device} may not read compartment {compartment}, so it may not {action} its key"
    )]
    NotEntitled {
        /// Author device.
        device: String,
        /// Compartment descriptor.
        compartment: String,
        /// create/rotate/hand out.
        action: &'static str,
    },
    /// Key wrapped to a device that may not read.
    #[error(
        "a key of compartment {compartment} was wrapped to device {device}, which may not read it"
    )]
    RecipientNotEntitled {
        /// Recipient.
        device: String,
        /// Compartment.
        compartment: String,
    },
    /// An op dated before an op it builds on: rights are checked at an op's date, so a date is
    /// bounded below by the op's causal past.
    #[error(
        "the op is dated {date}, before {parent_date}, the date of an op it builds on; an op cannot be dated before its own causal past"
    )]
    Backdated {
        /// The op's date.
        date: String,
        /// The latest date among its parents.
        parent_date: String,
    },
    /// Void: an admin acted against a more senior admin who concurrently acted against them.
    #[error(
        "void: {member} is a more senior admin and concurrently removed or demoted the author (of two admins acting against each other, the senior one's op stands)"
    )]
    Outranked {
        /// The senior admin.
        member: String,
    },
    /// A rotation by a device that had not seen the epoch it replaces.
    #[error(
        "compartment {compartment}: the new key of epoch {epoch} was made without having seen the key it replaces (a rotation builds on the op that announced the previous epoch)"
    )]
    StaleRotation {
        /// Compartment.
        compartment: String,
        /// The epoch announced.
        epoch: u32,
    },
    /// Void: a concurrent, later-dated key for the same epoch stands.
    #[error(
        "void: a concurrent, later-dated new key for epoch {epoch} of compartment {compartment} stands (of two concurrent new keys for one epoch, the later-dated one wins)"
    )]
    Superseded {
        /// Compartment.
        compartment: String,
        /// The epoch.
        epoch: u32,
    },
    /// Epoch numbering.
    #[error("compartment {compartment}: epoch {found} announced, {expected} expected")]
    BadEpoch {
        /// Compartment.
        compartment: String,
        /// Expected number.
        expected: u32,
        /// Found.
        found: u32,
    },
}

/// Errors of the log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// The op could not be read.
    #[error(transparent)]
    Op(#[from] OpError),
    /// The op is not allowed.
    #[error("refused: {0}")]
    Rejected(Rejection),
}

impl From<Rejection> for LogError {
    fn from(r: Rejection) -> Self {
        LogError::Rejected(r)
    }
}

/// A rule of consent and legal bases that an op broke, with its explanation in English (the
/// log) and in Dutch (for the person on screen).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ConsentRule {
    /// A consent or legal basis names its source: the organisation whose information it opens.
    NeedsSource,
    /// This role records no consent or legal basis; the holder of the information does.
    NoBaseAccess,
    /// Only the holder of the information records a consent or legal basis for it: a professional names only their own organisation as source, for categories their role holds.
    NotHolder,
    /// A consent record names at most one consenter; each other person answers in their own act.
    OneConsenter,
    /// A consent says what it is for (its purpose).
    NeedsPurpose,
    /// A parent or child records only their own consent or answer, never another person's.
    OwnOnly,
    /// Only parents and the child give consent.
    FamilyConsents,
    /// Only a professional records a legal basis.
    ProfessionalsOnly,
    /// A legal basis is decided and recorded by the professional who holds the information, not in another's name.
    HolderDecides,
    /// Only the chair records a legal basis for the shared MDO file.
    ChairForDossier,
    /// Meldrecht (Wmo 2015 art. 5.2.6) allows a report to Veilig Thuis, not sharing inside the MDO.
    Meldrecht,
    /// A child-protection measure gives information rights to the jeugdbeschermer (GI) only, not to the table.
    GiOnly,
    /// BW art. 1:377c gives information to a parent without gezag, named as a participant.
    ParentWithoutGezagOnly,
    /// A legal basis is not answered: it is decided by its holder.
    LegalNotAnswered,
    /// This person already gave this consent; it ends by a withdrawal.
    AlreadyGiven,
    /// Only a consent for medical or GGZ information is released.
    ReleaseOnlyMedical,
    /// Only a medical professional of the source organisation releases this information.
    ReleaseByDoctor,
    /// This organisation already released this information.
    AlreadyReleased,
    /// Information is released only after consent: everyone the age rules require said yes.
    ReleaseAfterConsent,
    /// Gezag of a parent is not yet checked: nothing medical is released.
    GezagUnknown,
    /// A refusal the person recorded themselves is changed only by them.
    TheirOwnNo,
    /// A consent for the MDO file names organisations or people, not a role.
    DossierNamesWho,
    /// A professional of an organisation not yet at the table joins after the parents (and the child from 12) agreed to it, or on a recorded legal basis.
    NotCovered,
}

impl ConsentRule {
    /// For the log.
    pub fn english(self) -> &'static str {
        match self {
            ConsentRule::NeedsSource => {
                "a consent or legal basis names its source: the organisation whose information it opens"
            }
            ConsentRule::NoBaseAccess => {
                "this role records no consent or legal basis; the holder of the information does"
            }
            ConsentRule::NotHolder => {
                "only the holder of the information records a consent or legal basis for it: a professional names only their own organisation as source, for categories their role holds"
            }
            ConsentRule::OneConsenter => {
                "a consent record names at most one consenter; each other person answers in their own act"
            }
            ConsentRule::NeedsPurpose => "a consent says what it is for (its purpose)",
            ConsentRule::OwnOnly => {
                "a parent or child records only their own consent or answer, never another person's"
            }
            ConsentRule::FamilyConsents => "only parents and the child give consent",
            ConsentRule::ProfessionalsOnly => "only a professional records a legal basis",
            ConsentRule::HolderDecides => {
                "a legal basis is decided and recorded by the professional who holds the information, not in another's name"
            }
            ConsentRule::ChairForDossier => {
                "only the chair records a legal basis for the shared MDO file"
            }
            ConsentRule::Meldrecht => {
                "meldrecht (Wmo 2015 art. 5.2.6) allows a report to Veilig Thuis, not sharing inside the MDO"
            }
            ConsentRule::GiOnly => {
                "a child-protection measure gives information rights to the jeugdbeschermer (GI) only, not to the table"
            }
            ConsentRule::ParentWithoutGezagOnly => {
                "BW art. 1:377c gives information to a parent without gezag, named as a participant"
            }
            ConsentRule::LegalNotAnswered => {
                "a legal basis is not answered: it is decided by its holder"
            }
            ConsentRule::AlreadyGiven => {
                "this person already gave this consent; it ends by a withdrawal"
            }
            ConsentRule::ReleaseOnlyMedical => {
                "only a consent for medical or GGZ information is released"
            }
            ConsentRule::ReleaseByDoctor => {
                "only a medical professional of the source organisation releases this information"
            }
            ConsentRule::AlreadyReleased => "this organisation already released this information",
            ConsentRule::ReleaseAfterConsent => {
                "information is released only after consent: everyone the age rules require said yes"
            }
            ConsentRule::TheirOwnNo => {
                "this person refused on their own device; only they change that answer"
            }
            ConsentRule::DossierNamesWho => {
                "a consent for the MDO file names organisations or people, not a role"
            }
            ConsentRule::GezagUnknown => {
                "the gezag of a parent is not yet checked in the gezagsregister: nothing medical is released until it is"
            }
            ConsentRule::NotCovered => {
                "a professional of an organisation not yet at the table joins after the parents (and the child from 12) agreed to it, or on a recorded legal basis"
            }
        }
    }

    /// For people.
    pub fn dutch(self) -> &'static str {
        match self {
            ConsentRule::NeedsSource => {
                "noem van welke organisatie de informatie komt (de bron): een toestemming of grondslag geldt alleen voor de informatie van die organisatie"
            }
            ConsentRule::NoBaseAccess => {
                "met uw rol legt u geen toestemming of grondslag vast; dat doet wie de informatie heeft"
            }
            ConsentRule::NotHolder => {
                "alleen wie de informatie heeft, legt er toestemming of een grondslag voor vast: noem uw eigen organisatie als bron, voor informatie die uw rol heeft"
            }
            ConsentRule::OneConsenter => {
                "een toestemming is de handeling van één persoon: leg het antwoord van ieder apart vast"
            }
            ConsentRule::NeedsPurpose => "schrijf op waarvoor de toestemming is (het doel)",
            ConsentRule::OwnOnly => {
                "u legt alleen uw eigen toestemming of antwoord vast, nooit dat van een ander"
            }
            ConsentRule::FamilyConsents => {
                "alleen ouders en het kind (de jongere) geven toestemming"
            }
            ConsentRule::ProfessionalsOnly => {
                "alleen een professional legt een wettelijke grondslag vast"
            }
            ConsentRule::HolderDecides => {
                "een wettelijke grondslag legt u alleen vast als uw eigen besluit, over informatie die u zelf heeft"
            }
            ConsentRule::ChairForDossier => {
                "alleen de voorzitter legt een wettelijke grondslag vast voor het gedeelde MDO-dossier"
            }
            ConsentRule::Meldrecht => {
                "het meldrecht (Wmo 2015 art. 5.2.6) is er voor een melding bij Veilig Thuis, niet om informatie in het MDO te delen"
            }
            ConsentRule::GiOnly => {
                "een kinderbeschermingsmaatregel geeft alleen de jeugdbeschermer (GI) recht op informatie, niet iedereen aan tafel"
            }
            ConsentRule::ParentWithoutGezagOnly => {
                "art. 1:377c BW geldt voor een ouder zonder gezag: kies die ouder als ontvanger"
            }
            ConsentRule::LegalNotAnswered => {
                "op een wettelijke grondslag wordt niet geantwoord: wie de informatie heeft, besluit"
            }
            ConsentRule::AlreadyGiven => {
                "deze persoon gaf al toestemming; die eindigt alleen door intrekken"
            }
            ConsentRule::ReleaseOnlyMedical => {
                "alleen een toestemming voor medische of GGZ-informatie wordt vrijgegeven"
            }
            ConsentRule::ReleaseByDoctor => {
                "alleen een arts of zorgverlener van de organisatie waar de informatie vandaan komt, geeft die vrij"
            }
            ConsentRule::AlreadyReleased => "deze informatie is al vrijgegeven",
            ConsentRule::ReleaseAfterConsent => {
                "vrijgeven kan pas als iedereen die moet instemmen ja heeft gezegd"
            }
            ConsentRule::TheirOwnNo => {
                "deze persoon heeft zelf nee gezegd; alleen die persoon kan dat veranderen"
            }
            ConsentRule::DossierNamesWho => {
                "een toestemming voor het MDO noemt organisaties of personen, geen rol"
            }
            ConsentRule::GezagUnknown => {
                "het gezag van een ouder is nog niet nagegaan in het gezagsregister: tot dat gebeurd is, wordt geen medische informatie vrijgegeven"
            }
            ConsentRule::NotCovered => {
                "een professional van een organisatie die nog niet aan tafel zit, doet pas mee als de ouders (en het kind vanaf 12) ermee instemmen of er een wettelijke grondslag is vastgelegd"
            }
        }
    }
}
