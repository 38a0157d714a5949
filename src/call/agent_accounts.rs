//! Agents created, changed and deleted while the engine runs (the REST API
//! calls these), and logins and logouts from outside.
//!
//! A change is written to the database first, then to the shared
//! [`AgentDirectory`] (which the registrar and the agent page read), then
//! given to the desk (the ACD). Only the digest HA1 is stored, never the
//! password. Agents of the config file are read-only here.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::Utc;
use tokio::sync::oneshot;
use tracing::{info, warn};

use super::agents::{AgentDesk, Command, Presence};
use crate::acd::AcdError;
use crate::directory::{
    check_id, check_name, check_password, check_queues, check_skills, distinct, AgentAccount,
    AgentDirectory, FieldError, Origin, Taken,
};
use crate::store::{Store, StoreError, StoredAgent};

/// A new agent. `Debug` leaves the password out.
#[derive(Clone)]
pub struct NewAgent {
    pub id: String,
    pub name: String,
    pub password: String,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
}

impl std::fmt::Debug for NewAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAgent")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("skills", &self.skills)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

/// What to change in an agent; `None` keeps the field. `Debug` leaves the
/// password out.
#[derive(Clone, Default)]
pub struct AgentChange {
    pub name: Option<String>,
    pub password: Option<String>,
    pub skills: Option<BTreeMap<String, u8>>,
    pub queues: Option<Vec<String>>,
}

impl std::fmt::Debug for AgentChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentChange")
            .field("name", &self.name)
            .field("password", &self.password.as_ref().map(|_| "(new)"))
            .field("skills", &self.skills)
            .field("queues", &self.queues)
            .finish()
    }
}

/// Why a change to an agent was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A field breaks a rule (the text names the field).
    #[error("{0}")]
    Invalid(#[from] FieldError),
    #[error("give at least one of name, password, skills, queues to change")]
    NothingToChange,
    #[error("an agent with id '{0}' already exists")]
    Exists(String),
    #[error(
        "agent '{0}' is defined in the config file ([[agents]]); change or remove it there and restart"
    )]
    InConfig(String),
    #[error("no agent is named '{0}'")]
    NotFound(String),
    #[error("agent '{0}' was deleted and leaves after its current call; try again then")]
    Deleting(String),
    #[error("the agent desk has stopped")]
    Stopped,
    /// The ACD refused an agent the directory accepted (a bug, not the
    /// client's fault).
    #[error("the agent desk refused agent '{agent}': {error}")]
    Desk { agent: String, error: AcdError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a deletion went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deletion {
    /// The agent is gone.
    Done,
    /// The agent is on a call: it can no longer log in, and leaves when the
    /// call ends (the caller is not cut off).
    AfterCall,
}

fn stored(account: &AgentAccount) -> StoredAgent {
    StoredAgent {
        id: account.id.clone(),
        name: account.name.clone(),
        ha1: account.ha1().to_string(),
        realm: account.ha1_realm().to_string(),
        skills: account.skills.clone(),
        queues: account.queues.clone(),
    }
}

impl AgentDesk {
    /// The shared agent directory.
    pub fn directory(&self) -> &Arc<AgentDirectory> {
        &self.directory
    }

    /// An agent the API may change: known, created through the API, not
    /// being deleted.
    fn changeable(&self, id: &str) -> Result<AgentAccount, AccountError> {
        let account = self
            .directory
            .get(id)
            .ok_or_else(|| AccountError::NotFound(id.to_string()))?;
        if account.origin == Origin::Config {
            return Err(AccountError::InConfig(id.to_string()));
        }
        if self.directory.is_deleting(id) {
            return Err(AccountError::Deleting(id.to_string()));
        }
        Ok(account)
    }

    /// Creates an agent: stored, then able to register a phone and log in
    /// on the agent page at once.
    pub async fn create_agent(&self, new: NewAgent) -> Result<AgentAccount, AccountError> {
        check_id(&new.id)?;
        check_name(&new.name)?;
        check_password(&new.password)?;
        check_skills(&new.skills)?;
        check_queues(&new.queues, self.directory.queues())?;
        let _edit = self.directory.edit().await;
        if let Some(existing) = self.directory.get(&new.id) {
            return Err(match existing.origin {
                _ if self.directory.is_deleting(&new.id) => AccountError::Deleting(new.id),
                Origin::Config => AccountError::InConfig(new.id),
                Origin::Api => AccountError::Exists(new.id),
            });
        }
        let account = AgentAccount::with_ha1(
            new.id.clone(),
            new.name,
            self.directory.ha1_for(&new.id, &new.password),
            self.directory.realm().to_string(),
            new.skills,
            distinct(new.queues),
            Origin::Api,
        );
        let row = stored(&account);
        if let Err(error) = self.store.insert_agent(&row, Utc::now()).await {
            return Err(if error.is_unique_violation() {
                AccountError::Exists(new.id)
            } else {
                error.into()
            });
        }
        if let Err(taken) = self.directory.insert(account.clone()) {
            // Not expected under the edit lock; keep the database in step.
            self.store.delete_agent(&new.id).await?;
            return Err(match taken {
                Taken::InConfig => AccountError::InConfig(new.id),
                Taken::Exists => AccountError::Exists(new.id),
                Taken::Deleting => AccountError::Deleting(new.id),
            });
        }
        let (reply, done) = oneshot::channel();
        self.tell(Command::AgentAdded {
            account: account.clone(),
            reply,
        })?;
        if let Err(error) = done.await.map_err(|_| AccountError::Stopped)? {
            // Not in the ACD: take it out of the directory and the database
            // again, so the error answered is the whole story.
            self.directory.mark_deleting(&account.id);
            self.directory.forget(&account.id);
            self.store.delete_agent(&account.id).await?;
            return Err(AccountError::Desk {
                agent: account.id,
                error,
            });
        }
        info!(agent = %account.id, queues = ?account.queues, "agent created through the API");
        Ok(account)
    }

    /// Changes an agent created through the API. A new password drops the
    /// phone's registration and closes the agent page (after the call in
    /// progress), so only the new password keeps the agent logged in. The
    /// stored realm changes only with the password: it is the realm of the
    /// stored HA1.
    pub async fn change_agent(
        &self,
        id: &str,
        change: AgentChange,
    ) -> Result<AgentAccount, AccountError> {
        if change.name.is_none()
            && change.password.is_none()
            && change.skills.is_none()
            && change.queues.is_none()
        {
            return Err(AccountError::NothingToChange);
        }
        if let Some(name) = &change.name {
            check_name(name)?;
        }
        if let Some(password) = &change.password {
            check_password(password)?;
        }
        if let Some(skills) = &change.skills {
            check_skills(skills)?;
        }
        if let Some(queues) = &change.queues {
            check_queues(queues, self.directory.queues())?;
        }
        let _edit = self.directory.edit().await;
        let before = self.changeable(id)?;
        let mut account = before.clone();
        let password_changed = change.password.is_some();
        if let Some(name) = change.name {
            account.name = name;
        }
        if let Some(password) = change.password {
            account.set_ha1(
                self.directory.ha1_for(id, &password),
                self.directory.realm().to_string(),
            );
        }
        if let Some(skills) = change.skills {
            account.skills = skills;
        }
        if let Some(queues) = change.queues {
            account.queues = distinct(queues);
        }
        if !self
            .store
            .update_agent(&stored(&account), Utc::now())
            .await?
        {
            return Err(AccountError::NotFound(id.to_string()));
        }
        self.directory.replace(account.clone());
        let (reply, done) = oneshot::channel();
        self.tell(Command::AgentChanged {
            account: account.clone(),
            password_changed,
            reply,
        })?;
        if let Err(error) = done.await.map_err(|_| AccountError::Stopped)? {
            // The ACD kept the agent as it was: so do the directory and the
            // database.
            self.directory.replace(before.clone());
            self.store
                .update_agent(&stored(&before), Utc::now())
                .await?;
            return Err(AccountError::Desk {
                agent: id.to_string(),
                error,
            });
        }
        info!(agent = %id, queues = ?account.queues, password_changed, "agent changed through the API");
        Ok(account)
    }

    /// Deletes an agent created through the API: it can no longer
    /// authenticate, its page closes and its phone binding is dropped, and
    /// it leaves the queues; on a call, once the call ends.
    pub async fn delete_agent(&self, id: &str) -> Result<Deletion, AccountError> {
        let _edit = self.directory.edit().await;
        self.changeable(id)?;
        if !self.store.delete_agent(id).await? {
            warn!(agent = %id, "deleted agent had no database row");
        }
        self.directory.mark_deleting(id);
        let (reply, done) = oneshot::channel();
        self.tell(Command::AgentDeleted {
            agent: id.to_string(),
            reply,
        })?;
        let at_once = done.await.map_err(|_| AccountError::Stopped)?;
        info!(agent = %id, at_once, "agent deleted through the API");
        Ok(if at_once {
            Deletion::Done
        } else {
            Deletion::AfterCall
        })
    }

    /// Logs an agent in (through the API): available if it has a
    /// registered phone or an open agent page.
    pub async fn log_in(&self, id: &str) -> Result<Presence, AccountError> {
        self.known(id)?;
        let (reply, presence) = oneshot::channel();
        self.tell(Command::Login {
            agent: id.to_string(),
            reply,
        })?;
        Self::presence_of(id, presence).await
    }

    /// Logs an agent out (through the API) until the next login, after the
    /// call in progress if any.
    pub async fn log_out(&self, id: &str) -> Result<Presence, AccountError> {
        self.known(id)?;
        let (reply, presence) = oneshot::channel();
        self.tell(Command::Logout {
            agent: id.to_string(),
            reply,
        })?;
        Self::presence_of(id, presence).await
    }

    /// The desk's answer to a login or logout: `None` when the agent had
    /// left the ACD by the time the desk took the request (deleted after
    /// [`known`](Self::known) let it through).
    async fn presence_of(
        id: &str,
        answer: oneshot::Receiver<Option<Presence>>,
    ) -> Result<Presence, AccountError> {
        answer
            .await
            .map_err(|_| AccountError::Stopped)?
            .ok_or_else(|| AccountError::NotFound(id.to_string()))
    }

    fn known(&self, id: &str) -> Result<(), AccountError> {
        if self.directory.get(id).is_none() {
            return Err(AccountError::NotFound(id.to_string()));
        }
        if self.directory.is_deleting(id) {
            return Err(AccountError::Deleting(id.to_string()));
        }
        Ok(())
    }

    fn tell(&self, command: Command) -> Result<(), AccountError> {
        if self.handle.send(command) {
            Ok(())
        } else {
            Err(AccountError::Stopped)
        }
    }
}

/// Puts the agents stored through the API into `directory` (at start).
/// Agents whose id the config file now uses, and queues that no longer
/// exist, are left out with a warning; an agent stored under another realm
/// is kept but cannot authenticate until it gets a new password. Returns
/// how many were loaded.
pub async fn load_stored_agents(
    store: &Store,
    directory: &AgentDirectory,
) -> Result<usize, StoreError> {
    let mut loaded = 0;
    for agent in store.stored_agents().await? {
        let (queues, gone): (Vec<String>, Vec<String>) = agent
            .queues
            .iter()
            .cloned()
            .partition(|queue| directory.queues().contains(queue));
        if !gone.is_empty() {
            warn!(agent = %agent.id, queues = ?gone, "stored agent names queues that no longer exist; it does not serve them");
        }
        if agent.realm != directory.realm() {
            warn!(
                agent = %agent.id,
                stored_realm = %agent.realm,
                realm = %directory.realm(),
                "stored agent's password was set under another SIP realm: it cannot log in until it gets a new password (PATCH /api/agents/{{id}})"
            );
        }
        let valid = check_id(&agent.id)
            .and_then(|()| check_name(&agent.name))
            .and_then(|()| check_skills(&agent.skills));
        if let Err(error) = valid {
            warn!(agent = %agent.id, %error, "stored agent skipped");
            continue;
        }
        let account = AgentAccount::with_ha1(
            agent.id.clone(),
            agent.name,
            agent.ha1,
            agent.realm,
            agent.skills,
            queues,
            Origin::Api,
        );
        match directory.insert(account) {
            Ok(()) => loaded += 1,
            Err(_) => warn!(
                agent = %agent.id,
                "stored agent skipped: the config file defines an agent with this id"
            ),
        }
    }
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::Engine;

    /// An engine in this process (SIP on a free loopback port, no HTTP),
    /// with its own database.
    async fn engine(dir: &tempfile::TempDir) -> Engine {
        let root = env!("CARGO_MANIFEST_DIR");
        let text = format!(
            "[sip]\nlisten = \"127.0.0.1:0\"\n\n[http]\nenabled = false\n\n\
             [database]\nurl = \"sqlite://{database}\"\n\n\
             [paths]\ndialplans = \"{root}/dialplans\"\nprompts = \"{root}/prompts\"\nrecordings = \"{recordings}\"\n\n\
             [[queues]]\nname = \"support\"\n",
            database = dir.path().join("calls.db").display(),
            recordings = dir.path().join("recordings").display(),
        );
        let config = Config::from_toml(&dir.path().join("switchboard.toml"), &text).unwrap();
        Engine::start(config).await.unwrap()
    }

    fn dave(password: &str) -> NewAgent {
        NewAgent {
            id: "dave".into(),
            name: "Dave".into(),
            password: password.into(),
            skills: BTreeMap::new(),
            queues: vec!["support".into()],
        }
    }

    /// A logout through the API that passed its lookup just before the
    /// agent was deleted reaches the desk after the deletion: it is a 404,
    /// and a new agent given the id is not held logged out.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_logout_that_arrives_after_the_deletion_does_not_hold_the_id() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let desk = engine.agent_desk().expect("the agent desk runs").clone();
        desk.create_agent(dave("dave-password")).await.unwrap();
        assert_eq!(desk.delete_agent("dave").await.unwrap(), Deletion::Done);

        // What `log_out` and `log_in` send once their lookup has found the
        // agent.
        type Request = fn(String, oneshot::Sender<Option<Presence>>) -> Command;
        let logout: Request = |agent, reply| Command::Logout { agent, reply };
        let login: Request = |agent, reply| Command::Login { agent, reply };
        for request in [logout, login] {
            let (reply, presence) = oneshot::channel();
            desk.tell(request("dave".into(), reply)).unwrap();
            let answer = AgentDesk::presence_of("dave", presence).await;
            assert!(
                matches!(answer, Err(AccountError::NotFound(_))),
                "{answer:?}"
            );
        }

        desk.create_agent(dave("new-dave-password")).await.unwrap();
        let shown = desk
            .snapshot()
            .agents
            .into_iter()
            .find(|agent| agent.id == "dave")
            .expect("the new dave is listed");
        assert!(!shown.stays_logged_out, "{shown:?}");
        engine.shutdown(std::time::Duration::from_secs(1)).await;
    }

    /// What the ACD refuses reaches the API (a 500) instead of a success:
    /// here a queue the directory's checks would have caught.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_desk_answers_why_the_acd_refused_an_agent() {
        let dir = tempfile::tempdir().unwrap();
        let engine = engine(&dir).await;
        let desk = engine.agent_desk().expect("the agent desk runs").clone();
        let account = AgentAccount::with_ha1(
            "erin".into(),
            "Erin".into(),
            desk.directory().ha1_for("erin", "erins-password"),
            desk.directory().realm().into(),
            BTreeMap::new(),
            vec!["nowhere".into()],
            Origin::Api,
        );
        let (reply, done) = oneshot::channel();
        desk.tell(Command::AgentAdded { account, reply }).unwrap();
        let answer = done.await.unwrap();
        assert!(
            matches!(answer, Err(AcdError::UnknownQueue(ref queue)) if queue == "nowhere"),
            "{answer:?}"
        );
        engine.shutdown(std::time::Duration::from_secs(1)).await;
    }
}
