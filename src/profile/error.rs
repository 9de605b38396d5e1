//! What goes wrong, in Dutch a parent or a teacher can act on — mapped once, here, for the app,
//! the command line and the node alike. The core, the store and the network keep their own
//! technical errors (English, for developers and logs); they stay reachable as the
//! [`std::error::Error::source`] of an [`Error`], so the command line prints both: the Dutch
//! sentence first, the technical cause after it.

#![forbid(unsafe_code)]

use crate::core::CoreError;
use crate::core::membership::LogError;
use crate::net::NetError;
use crate::net::ticket::TicketError;
use crate::store::StoreError;
use mdo_crypto::CryptoError;

/// An error of a flow of the application layer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message the app itself wrote (already Dutch).
    #[error("{0}")]
    Said(String),
    /// From the case model.
    #[error("{}", core(.0))]
    Core(#[from] CoreError),
    /// From the profile directory.
    #[error("{}", store(.0))]
    Store(#[from] StoreError),
    /// From the cryptography.
    #[error("{}", crypto(.0))]
    Crypto(#[from] CryptoError),
    /// From the network.
    #[error("{}", net(.0))]
    Net(#[from] NetError),
    /// An invite ticket that could not be read.
    #[error("dit is geen geldige uitnodiging; kopieer het hele ticket of scan de QR-code opnieuw")]
    Ticket(#[from] TicketError),
    /// A bundle file that is not one.
    #[error("dit bestand is geen MDO-bundel, of het is beschadigd")]
    Bundle(#[from] crate::store::bundle::BundleError),
    /// A PDF that could not be made.
    #[error("het verslag kon geen PDF worden: {0}")]
    Pdf(String),
    /// A file the user named could not be read or written.
    #[error("kon {} niet lezen of schrijven ({})", .path.display(), io_reason(.source))]
    File {
        /// Which file.
        path: std::path::PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

impl From<&str> for Error {
    fn from(s: &str) -> Self {
        Error::Said(s.to_string())
    }
}

impl From<String> for Error {
    fn from(s: String) -> Self {
        Error::Said(s)
    }
}

fn core(e: &CoreError) -> String {
    match e {
        CoreError::UnknownValue { what, value, .. } => match *what {
            "circle" => format!("er is geen cirkel '{value}' in deze casus"),
            "circle name" => format!(
                "'{value}' kan geen cirkelnaam zijn: gebruik letters, cijfers en streepjes (bijvoorbeeld vrije-tijd)"
            ),
            "audience" => "dit staat al bij die groep; kies een andere groep".into(),
            "meeting audience" => {
                "een overleg is met ouders (en kind) en professionals, of alleen voor professionals".into()
            }
            _ => format!("'{value}' is hier geen geldige keuze"),
        },
        CoreError::UnknownSection { section } => {
            format!("'{section}' is geen onderdeel van de casus")
        }
        CoreError::BadDate { value } => format!(
            "'{value}' is geen datum; schrijf hem als JJJJ-MM-DD, bijvoorbeeld 2026-10-01"
        ),
        CoreError::BadStep { step } => {
            format!("er is geen stap {step}: de leidraad heeft de stappen 1 tot en met 6")
        }
        CoreError::NotFound { what, .. } => format!(
            "{} staat niet (meer) in deze casus, of dit apparaat mag het niet lezen",
            match *what {
                "item" => "dit onderdeel",
                "agreement" => "deze afspraak",
                "meeting" => "dit overleg",
                _ => "dit",
            }
        ),
        CoreError::Empty { field } => match *field {
            "text" => "typ eerst een tekst".into(),
            "wie" => "vul in wie de afspraak uitvoert".into(),
            "wat" => "vul in wat er wordt afgesproken".into(),
            "name" => "vul een naam in".into(),
            other => format!("'{other}' mag niet leeg zijn"),
        },
        CoreError::NoAccess { compartment, .. } => format!(
            "u kunt hier niet schrijven ({compartment}): u hoort niet bij die groep, of dit apparaat heeft de sleutel nog niet — synchroniseer eerst"
        ),
        // Written in Dutch in the core already: they explain a choice of audience.
        CoreError::NarrowerAudience { .. } | CoreError::OnlyAuthorWidens { .. } => e.to_string(),
        CoreError::Log(LogError::Rejected(crate::core::membership::Rejection::SelfGranted)) => {
            "u kunt geen toestemming vastleggen die uzelf of uw collega's toegang geeft: laat de ouder het op het eigen apparaat vastleggen, of degene die de informatie heeft".into()
        }
        CoreError::Log(LogError::Rejected(crate::core::membership::Rejection::Consent(rule))) => {
            rule.dutch().into()
        }
        CoreError::Log(LogError::Rejected(_)) => {
            "dat mag u in deze casus niet doen: alleen de voorzitter kan dit, of uw rol of de toestemming laat het niet toe".into()
        }
        CoreError::Log(_) => {
            "het logboek van de deelnemers kon dit niet verwerken; synchroniseer en probeer het opnieuw".into()
        }
        CoreError::WriteRefused(_) => {
            "een wijziging van iemand zonder schrijfrecht is geweigerd en bewaard als bewijs".into()
        }
        CoreError::Crypto(c) => crypto(c),
        CoreError::BadChunk(_) | CoreError::Document(_) | CoreError::Relabelled { .. } => {
            "een deel van de casus kon niet worden gelezen; het is apart bewaard. Synchroniseer opnieuw met een ander apparaat".into()
        }
    }
}

fn store(e: &StoreError) -> String {
    match e {
        StoreError::NoProfile(_) => "er is op dit apparaat nog geen profiel: maak er eerst een".into(),
        StoreError::StoragePeer(_) => "dit profiel is een opslagapparaat (het bewaart alleen versleutelde gegevens): het leest geen casussen en hoort niet in de app; start het met `mdo serve`".into(),
        StoreError::AlreadyExists(_) => "op deze plek staat al een profiel".into(),
        StoreError::Io { path, source, .. } => format!(
            "kon {} niet lezen of schrijven ({}); kies een andere plek of controleer de schijf",
            path.display(),
            io_reason(source)
        ),
        StoreError::Corrupt { .. } => "de gegevens op dit apparaat zijn beschadigd; zet een reservekopie terug of synchroniseer de casussen opnieuw vanaf een ander apparaat".into(),
        StoreError::NewerSchema { .. } => "dit profiel is gemaakt met een nieuwere versie van MDO; werk MDO bij".into(),
        StoreError::OldSchema { .. } => "dit profiel is gemaakt met een ontwikkelversie van MDO en kan niet worden geopend".into(),
        StoreError::UnknownCase(_) => "deze casus staat niet op dit apparaat".into(),
        StoreError::AmbiguousCase(_) => "meer dan één casus past hierbij".into(),
        StoreError::LogTampered { entry, .. } => format!(
            "het logboek van dit apparaat is veranderd of beschadigd (regel {entry}); meld dit bij de privacyfunctionaris"
        ),
        StoreError::Crypto(c) => crypto(c),
        StoreError::Core(c) => core(c),
        _ => "er ging iets mis bij het bewaren op dit apparaat; probeer het opnieuw".into(),
    }
}

fn net(e: &NetError) -> String {
    match e {
        NetError::Bind { .. } => "het netwerk van dit apparaat kon niet starten; controleer de verbinding of probeer het later opnieuw".into(),
        NetError::BadPeer(_) => "dit is geen adres van een apparaat; vraag de ander het adres opnieuw te geven".into(),
        NetError::Connect { .. } => "het andere apparaat is nu niet bereikbaar; controleer of het aan staat en MDO open heeft, en probeer het opnieuw".into(),
        NetError::Session { .. } => "de verbinding brak af; wat al binnen was, is bewaard. Probeer het opnieuw".into(),
        NetError::Store(s) => store(s),
    }
}

fn io_reason(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::NotFound => "de map bestaat niet",
        std::io::ErrorKind::PermissionDenied => "geen toestemming",
        std::io::ErrorKind::StorageFull => "de schijf is vol",
        _ => "schijffout",
    }
}

fn crypto(e: &CryptoError) -> String {
    match e {
        CryptoError::WrongPassphrase => "onjuiste wachtwoordzin; probeer het opnieuw".into(),
        CryptoError::InvalidRecoveryPhrase(_) => {
            "deze herstelzin klopt niet; controleer de woorden en hun volgorde".into()
        }
        CryptoError::UnknownEpoch { .. } | CryptoError::UnwrapFailed => {
            "dit apparaat heeft de sleutel hiervoor (nog) niet: synchroniseer eerst, of het is niet met u gedeeld".into()
        }
        CryptoError::Tampered { .. } | CryptoError::BadSignature { .. } => {
            "gegevens zijn onderweg veranderd en zijn geweigerd".into()
        }
        _ => "een beveiligingscontrole faalde; wat binnenkwam is geweigerd".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_errors_reach_the_screen_in_dutch() {
        for (e, needle) in [
            (
                CoreError::BadDate {
                    value: "morgen".into(),
                },
                "geen datum",
            ),
            (CoreError::Empty { field: "text" }, "typ eerst"),
            (
                CoreError::NotFound {
                    what: "meeting",
                    id: "abc123".into(),
                },
                "dit overleg",
            ),
            (
                CoreError::NoAccess {
                    compartment: "medisch".into(),
                    reason: "participant x may not write there".into(),
                },
                "synchroniseer eerst",
            ),
        ] {
            let shown = Error::from(e).to_string();
            assert!(shown.contains(needle), "{shown}");
            assert!(!shown.contains("abc123"), "no raw id on screen: {shown}");
            assert!(!shown.contains("may not"), "no English on screen: {shown}");
        }
        // The network's errors too: Dutch on screen, the English cause kept as the source.
        let net = Error::from(NetError::Connect {
            peer: "a1b2c3".into(),
            reason: "timed out".into(),
        });
        let shown = net.to_string();
        assert!(shown.contains("niet bereikbaar"), "{shown}");
        assert!(
            !shown.contains("a1b2c3") && !shown.contains("timed out"),
            "{shown}"
        );
        let cause = std::error::Error::source(&net).map(|e| e.to_string());
        assert!(cause.is_some_and(|c| c.contains("timed out")));
        let ticket = Error::from(TicketError("bad checksum".into())).to_string();
        assert!(ticket.contains("geen geldige uitnodiging"), "{ticket}");
        let wrong = Error::from(StoreError::Crypto(CryptoError::WrongPassphrase));
        assert_eq!(
            wrong.to_string(),
            "onjuiste wachtwoordzin; probeer het opnieuw"
        );
    }
}
