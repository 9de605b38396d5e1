//! First start and unlock: make the profile (and show its recovery phrase once), open it, and
//! go on to the case list. Starting the node after either is `node.rs`'s `start_node`.

use zeroize::Zeroizing;

use crate::core::model::Role;
use crate::profile::{Error, Session};

use super::{Backend, Update};

impl Backend {
    fn me_line(p: &Session) -> Update {
        let me = p.me();
        Update::Me(if me.organisation.is_empty() {
            format!("{}, {}", me.name, me.role.label())
        } else {
            format!("{}, {}, {}", me.name, me.role.label(), me.organisation)
        })
    }

    /// First start: make a profile.
    pub(super) fn create_profile(
        &mut self,
        name: String,
        role: String,
        org: String,
        pass: String,
        again: String,
    ) -> Result<Vec<Update>, Error> {
        // Wiped when dropped (the text field's own copy is Slint's).
        let (pass, again) = (Zeroizing::new(pass), Zeroizing::new(again));
        if pass != again {
            return Err("de twee wachtwoordzinnen zijn niet gelijk".into());
        }
        if pass.chars().count() < 8 {
            return Err("kies een wachtwoordzin van minstens 8 tekens".into());
        }
        let role: Role = role.parse()?;
        let (mut p, phrase) = Session::init(&self.dir, &pass, &name, role, &org, self.kdf, false)?;
        // Until the person says the words are written down (or later, from the reminder).
        p.store_mut().set_phrase_pending(true)?;
        let me = Self::me_line(&p);
        self.session = Some(p);
        let mut u = vec![
            me,
            Update::Phrase(phrase.as_str().to_string()),
            Update::Screen("phrase"),
        ];
        u.extend(self.start_node(&pass));
        Ok(u)
    }

    /// Bring a profile back from its recovery phrase (the same identity, a new passphrase); the
    /// case list is empty until the cases are fetched from a device of those cases.
    pub(super) fn restore_profile(
        &mut self,
        phrase: String,
        name: String,
        role: String,
        org: String,
        pass: String,
        again: String,
    ) -> Result<Vec<Update>, Error> {
        let (phrase, pass, again) = (
            Zeroizing::new(phrase),
            Zeroizing::new(pass),
            Zeroizing::new(again),
        );
        if pass != again {
            return Err("de twee wachtwoordzinnen zijn niet gelijk".into());
        }
        if pass.chars().count() < 8 {
            return Err("kies een wachtwoordzin van minstens 8 tekens".into());
        }
        let role: Role = role.parse()?;
        let p = Session::restore(&self.dir, &phrase, &pass, &name, role, &org, self.kdf)?;
        let me = Self::me_line(&p);
        self.session = Some(p);
        let mut u = vec![
            me,
            Update::Cases(Vec::new()),
            Update::Screen("cases"),
            Update::Notice("Profiel hersteld. Haal je casussen terug: vraag de voorzitter om het adres van een apparaat van je casus, of laat je opnieuw uitnodigen — je krijgt alles terug van de anderen.".into()),
        ];
        u.extend(self.start_node(&pass));
        Ok(u)
    }

    /// Fetch this identity's cases from a peer, after a restore.
    pub(super) fn fetch_cases(&mut self, peer: String) -> Result<Vec<Update>, Error> {
        if peer.trim().is_empty() {
            return Err("vul het adres in van een apparaat van je casus (ID@IP:POORT)".into());
        }
        let session = self.session.take().ok_or("eerst ontgrendelen")?;
        let (session, fetched) =
            crate::profile::restore::fetch_cases(session, &peer, self.bind, false);
        self.session = Some(session);
        let fetched = fetched?;
        let cases = self.cases()?;
        Ok(vec![
            Update::Cases(cases),
            Update::Notice(match fetched.cases.len() {
                0 => "Geen casussen gevonden bij dit apparaat.".into(),
                1 => "1 casus teruggehaald.".into(),
                n => format!("{n} casussen teruggehaald."),
            }),
        ])
    }

    /// Unlock the profile.
    pub(super) fn unlock(&mut self, pass: String) -> Result<Vec<Update>, Error> {
        let pass = Zeroizing::new(pass);
        let p = Session::open(&self.dir, &pass)?;
        p.participant_only("open the app")?;
        let me = Self::me_line(&p);
        self.session = Some(p);
        let cases = self.cases()?;
        let pending = self
            .session
            .as_ref()
            .map(|s| s.store().phrase_pending())
            .transpose()?
            .unwrap_or(false);
        let mut u = vec![
            me,
            Update::PhraseReminder(pending),
            Update::Cases(cases),
            Update::Screen("cases"),
        ];
        u.extend(self.start_node(&pass));
        Ok(u)
    }

    /// The recovery phrase was written down.
    pub(super) fn phrase_confirmed(&mut self) -> Result<Vec<Update>, Error> {
        let p = self.session.as_mut().ok_or("eerst ontgrendelen")?;
        p.store_mut().set_phrase_pending(false)?;
        let cases = self.cases()?;
        Ok(vec![
            Update::Phrase(String::new()),
            Update::PhraseReminder(false),
            Update::Cases(cases),
            Update::Screen("cases"),
        ])
    }

    /// Write the recovery phrase down later: on to the cases (joining comes first), with a
    /// reminder on the case list until it is done.
    pub(super) fn phrase_later(&mut self) -> Result<Vec<Update>, Error> {
        let cases = self.cases()?;
        Ok(vec![
            Update::Phrase(String::new()),
            Update::PhraseReminder(true),
            Update::Cases(cases),
            Update::Screen("cases"),
        ])
    }

    /// Show the recovery phrase again (from the reminder): it comes from this device's key, so
    /// it is the same 24 words.
    pub(super) fn show_phrase(&mut self) -> Result<Vec<Update>, Error> {
        let p = self.session.as_ref().ok_or("eerst ontgrendelen")?;
        let phrase = p.store().device().seed().recovery_phrase()?;
        Ok(vec![
            Update::Phrase(phrase.as_str().to_string()),
            Update::Screen("phrase"),
        ])
    }
}
