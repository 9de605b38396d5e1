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
        let (p, phrase) = Session::init(&self.dir, &pass, &name, role, &org, self.kdf, false)?;
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

    /// Unlock the profile.
    pub(super) fn unlock(&mut self, pass: String) -> Result<Vec<Update>, Error> {
        let pass = Zeroizing::new(pass);
        let p = Session::open(&self.dir, &pass)?;
        p.participant_only("open the app")?;
        let me = Self::me_line(&p);
        self.session = Some(p);
        let cases = self.cases()?;
        let mut u = vec![me, Update::Cases(cases), Update::Screen("cases")];
        u.extend(self.start_node(&pass));
        Ok(u)
    }

    /// The recovery phrase was written down.
    pub(super) fn phrase_confirmed(&mut self) -> Result<Vec<Update>, Error> {
        let cases = self.cases()?;
        Ok(vec![
            Update::Phrase(String::new()),
            Update::Cases(cases),
            Update::Screen("cases"),
        ])
    }
}
