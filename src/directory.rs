//! The agent directory: every agent the engine knows, from the config file
//! (`[[agents]]`) or created through the REST API, with what authenticates
//! it: the digest HA1 (RFC 2617 §3.2.2.2), never the password.
//!
//! There is one directory per engine, shared: the SIP registrar, the agent
//! page's login and the agent desk all read it, so an agent created, changed
//! or deleted through the API counts at once, without a restart.
//!
//! The field rules ([`check_id`], [`check_password`], ...) are pure and
//! shared by the config file's validation and the API, so both accept the
//! same agents.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::RwLock;

use crate::config::Config;
use crate::sip::digest::{constant_time_equal, ha1, NO_SUCH_USER_HA1};

/// Longest agent id (it is also the SIP user name).
pub const MAX_ID_LENGTH: usize = 64;
/// Shortest and longest password.
pub const MIN_PASSWORD_LENGTH: usize = 8;
pub const MAX_PASSWORD_LENGTH: usize = 128;
/// Longest display name, in characters.
pub const MAX_NAME_LENGTH: usize = 100;
/// Most skills and queues one agent may have.
pub const MAX_SKILLS: usize = 50;
pub const MAX_QUEUES: usize = 50;
/// Longest skill name, in characters.
pub const MAX_SKILL_NAME_LENGTH: usize = 40;

/// Where an agent is defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `[[agents]]` in the config file: changed only there.
    Config,
    /// Created through the REST API and kept in the database.
    Api,
}

impl Origin {
    pub fn name(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::Api => "api",
        }
    }
}

/// One agent as the directory knows it.
#[derive(Clone, PartialEq, Eq)]
pub struct AgentAccount {
    pub id: String,
    pub name: String,
    /// MD5(id:realm:password), lowercase hex: as good as the password for
    /// SIP digest, so it never leaves the engine (not in logs, not in API
    /// answers).
    ha1: String,
    /// The realm `ha1` was made for: the directory's, unless the agent was
    /// stored under another one (it then cannot authenticate until it gets
    /// a new password, and keeps that realm until then).
    ha1_realm: String,
    /// Skill name → level 1..10.
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
    pub origin: Origin,
}

impl AgentAccount {
    /// An account whose HA1 is already known (`ha1` from [`ha1`] for
    /// `ha1_realm`).
    pub fn with_ha1(
        id: String,
        name: String,
        ha1: String,
        ha1_realm: String,
        skills: BTreeMap<String, u8>,
        queues: Vec<String>,
        origin: Origin,
    ) -> AgentAccount {
        AgentAccount {
            id,
            name,
            ha1,
            ha1_realm,
            skills,
            queues,
            origin,
        }
    }

    pub fn ha1(&self) -> &str {
        &self.ha1
    }

    /// The realm [`ha1`](Self::ha1) was made for.
    pub fn ha1_realm(&self) -> &str {
        &self.ha1_realm
    }

    /// A new password's HA1, made for `realm`.
    pub fn set_ha1(&mut self, ha1: String, realm: String) {
        self.ha1 = ha1;
        self.ha1_realm = realm;
    }
}

impl std::fmt::Debug for AgentAccount {
    // Never print the HA1.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentAccount")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("skills", &self.skills)
            .field("queues", &self.queues)
            .field("origin", &self.origin)
            .field("ha1_realm", &self.ha1_realm)
            .finish_non_exhaustive()
    }
}

/// A field of an agent that breaks a rule; the text names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// `id`, `name`, `password`, `skills` or `queues`.
    pub field: &'static str,
    pub message: String,
}

fn field_error(field: &'static str, message: impl Into<String>) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

/// 1-64 letters, digits, `.`, `_` or `-`, starting with a letter or digit:
/// it is the SIP user name, and a path segment of the API's URLs (where `.`
/// and `..` would name another resource).
pub fn check_id(id: &str) -> Result<(), FieldError> {
    let valid = (1..=MAX_ID_LENGTH).contains(&id.len())
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(field_error(
            "id",
            format!(
                "use 1-{MAX_ID_LENGTH} letters, digits, '.', '_' or '-', starting with a letter or digit (it is the SIP user name)"
            ),
        ))
    }
}

/// A name to show: not blank, at most 100 characters, no control characters.
pub fn check_name(name: &str) -> Result<(), FieldError> {
    if name.trim().is_empty() {
        return Err(field_error("name", "must not be empty"));
    }
    if name.chars().count() > MAX_NAME_LENGTH || name.chars().any(char::is_control) {
        return Err(field_error(
            "name",
            format!("use at most {MAX_NAME_LENGTH} characters and no control characters"),
        ));
    }
    Ok(())
}

/// 8 to 128 characters (Unicode scalar values, as the message says, not
/// bytes). The message never repeats the password.
pub fn check_password(password: &str) -> Result<(), FieldError> {
    let length = password.chars().count();
    if length < MIN_PASSWORD_LENGTH {
        return Err(field_error(
            "password",
            format!("use at least {MIN_PASSWORD_LENGTH} characters"),
        ));
    }
    if length > MAX_PASSWORD_LENGTH {
        return Err(field_error(
            "password",
            format!("use at most {MAX_PASSWORD_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// Skill names of 1-40 characters without control characters, levels 1..10.
pub fn check_skills(skills: &BTreeMap<String, u8>) -> Result<(), FieldError> {
    if skills.len() > MAX_SKILLS {
        return Err(field_error(
            "skills",
            format!("at most {MAX_SKILLS} skills"),
        ));
    }
    for (skill, level) in skills {
        let name_ok = !skill.trim().is_empty()
            && skill.chars().count() <= MAX_SKILL_NAME_LENGTH
            && !skill.chars().any(char::is_control);
        if !name_ok {
            return Err(field_error(
                "skills",
                format!(
                    "skill names are 1-{MAX_SKILL_NAME_LENGTH} characters without control characters"
                ),
            ));
        }
        if !(1..=10).contains(level) {
            return Err(field_error(
                "skills",
                format!("'{skill}': level {level} is not 1..10"),
            ));
        }
    }
    Ok(())
}

/// Queues the engine knows (`known`: configured, or named by a config
/// agent); at most 50.
pub fn check_queues(queues: &[String], known: &BTreeSet<String>) -> Result<(), FieldError> {
    if queues.len() > MAX_QUEUES {
        return Err(field_error(
            "queues",
            format!("at most {MAX_QUEUES} queues"),
        ));
    }
    if let Some(unknown) = queues.iter().find(|queue| !known.contains(*queue)) {
        let known: Vec<&str> = known.iter().map(String::as_str).collect();
        return Err(field_error(
            "queues",
            format!(
                "no queue is named '{unknown}'; known queues: {known:?} (add [[queues]] to the config file for a new one)"
            ),
        ));
    }
    Ok(())
}

/// Each queue once, in the order first named.
pub fn distinct(queues: Vec<String>) -> Vec<String> {
    let mut seen = BTreeSet::new();
    queues
        .into_iter()
        .filter(|queue| seen.insert(queue.clone()))
        .collect()
}

/// Why the directory refused a new agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// The id belongs to an agent of the config file.
    InConfig,
    /// The id belongs to an agent created through the API.
    Exists,
    /// The id belongs to an agent being deleted (it finishes a call first).
    Deleting,
}

struct Entry {
    account: AgentAccount,
    /// Deleted, but still on a call: it can no longer authenticate.
    deleting: bool,
}

/// Every agent, shared (see the module docs).
pub struct AgentDirectory {
    realm: String,
    /// Queues agents may serve: configured ones, and those config agents
    /// name.
    queues: BTreeSet<String>,
    entries: RwLock<BTreeMap<String, Entry>>,
    /// Held across a change's database write and directory update, so two
    /// API requests for one agent cannot interleave.
    edits: tokio::sync::Mutex<()>,
}

impl AgentDirectory {
    /// A directory of the config file's agents (HA1 computed from their
    /// passwords for the SIP realm).
    pub fn from_config(config: &Config) -> AgentDirectory {
        let realm = config.sip.realm.clone();
        let queues = config
            .all_queues()
            .into_iter()
            .map(|queue| queue.name)
            .collect();
        let entries = config
            .agents
            .iter()
            .map(|agent| {
                let account = AgentAccount {
                    id: agent.id.clone(),
                    name: agent.name.clone(),
                    ha1: ha1(&agent.id, &realm, &agent.password),
                    ha1_realm: realm.clone(),
                    skills: agent.skills.clone(),
                    queues: distinct(agent.queues.clone()),
                    origin: Origin::Config,
                };
                (
                    agent.id.clone(),
                    Entry {
                        account,
                        deleting: false,
                    },
                )
            })
            .collect();
        AgentDirectory {
            realm,
            queues,
            entries: RwLock::new(entries),
            edits: tokio::sync::Mutex::new(()),
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, Entry>> {
        self.entries
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The digest realm every HA1 is made for.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// Queues an agent may serve.
    pub fn queues(&self) -> &BTreeSet<String> {
        &self.queues
    }

    /// The HA1 of [`id`](AgentAccount::id) and `password` in this realm.
    pub fn ha1_for(&self, id: &str, password: &str) -> String {
        ha1(id, &self.realm, password)
    }

    /// Serialises changes made through the API (hold it across the
    /// database write and the directory update).
    pub async fn edit(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.edits.lock().await
    }

    /// The agent (also one being deleted).
    pub fn get(&self, id: &str) -> Option<AgentAccount> {
        self.read().get(id).map(|entry| entry.account.clone())
    }

    /// Whether `id` was deleted and waits for the end of its call.
    pub fn is_deleting(&self, id: &str) -> bool {
        self.read().get(id).is_some_and(|entry| entry.deleting)
    }

    /// Every agent, by id.
    pub fn all(&self) -> Vec<AgentAccount> {
        self.read()
            .values()
            .map(|entry| entry.account.clone())
            .collect()
    }

    /// How many agents there are.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    /// The HA1 a phone must prove it knows; `None` for an unknown agent or
    /// one being deleted.
    pub fn ha1_of(&self, id: &str) -> Option<String> {
        self.read()
            .get(id)
            .filter(|entry| !entry.deleting)
            .map(|entry| entry.account.ha1.clone())
    }

    /// The agent, when `password` is its password (compared as HA1s in
    /// constant time; an unknown agent costs the same work).
    pub fn authenticate(&self, id: &str, password: &str) -> Option<AgentAccount> {
        let presented = self.ha1_for(id, password);
        let entries = self.read();
        let entry = entries.get(id).filter(|entry| !entry.deleting);
        // Compared where it lies: a known agent costs no copy that an unknown
        // one does not, until the answer is known.
        let expected = entry.map_or(NO_SUCH_USER_HA1, |entry| entry.account.ha1.as_str());
        let matches = constant_time_equal(presented.as_bytes(), expected.as_bytes());
        entry.filter(|_| matches).map(|entry| entry.account.clone())
    }

    /// Adds an agent whose id is free.
    pub fn insert(&self, account: AgentAccount) -> Result<(), Taken> {
        let mut entries = self.write();
        if let Some(entry) = entries.get(&account.id) {
            return Err(if entry.deleting {
                Taken::Deleting
            } else if entry.account.origin == Origin::Config {
                Taken::InConfig
            } else {
                Taken::Exists
            });
        }
        entries.insert(
            account.id.clone(),
            Entry {
                account,
                deleting: false,
            },
        );
        Ok(())
    }

    /// Replaces an agent's account (same id); false if it is unknown.
    pub fn replace(&self, account: AgentAccount) -> bool {
        match self.write().get_mut(&account.id) {
            Some(entry) => {
                entry.account = account;
                true
            }
            None => false,
        }
    }

    /// The agent was deleted: it can no longer authenticate, and its id
    /// stays taken until [`forget`](Self::forget).
    pub fn mark_deleting(&self, id: &str) {
        if let Some(entry) = self.write().get_mut(id) {
            entry.deleting = true;
        }
    }

    /// The deleted agent is gone from the engine: its id is free again.
    pub fn forget(&self, id: &str) {
        let mut entries = self.write();
        if entries.get(id).is_some_and(|entry| entry.deleting) {
            entries.remove(id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn directory() -> AgentDirectory {
        let config = Config::from_toml(
            Path::new("x.toml"),
            "[[agents]]\nid = \"carol\"\nname = \"Carol\"\npassword = \"secret-123\"\nqueues = [\"support\", \"support\"]\n\n\
             [[queues]]\nname = \"sales\"\n",
        )
        .unwrap();
        AgentDirectory::from_config(&config)
    }

    fn api_agent(directory: &AgentDirectory, id: &str, password: &str) -> AgentAccount {
        AgentAccount::with_ha1(
            id.into(),
            id.to_uppercase(),
            directory.ha1_for(id, password),
            directory.realm().into(),
            BTreeMap::new(),
            vec!["sales".into()],
            Origin::Api,
        )
    }

    #[test]
    fn config_agents_authenticate_from_their_hashed_password() {
        let directory = directory();
        let carol = directory.get("carol").unwrap();
        assert_eq!(carol.origin, Origin::Config);
        assert_eq!(carol.queues, vec!["support"]);
        assert_eq!(carol.ha1(), ha1("carol", "switchboard", "secret-123"));
        assert!(directory.authenticate("carol", "secret-123").is_some());
        assert!(directory.authenticate("carol", "secret-124").is_none());
        assert!(directory.authenticate("mallory", "secret-123").is_none());
        assert_eq!(
            directory.queues().iter().collect::<Vec<_>>(),
            vec!["sales", "support"]
        );
        // Debug output carries neither the password nor its hash.
        let debug = format!("{carol:?}");
        assert!(
            !debug.contains(carol.ha1()) && !debug.contains("secret"),
            "{debug}"
        );
    }

    #[test]
    fn ids_are_taken_once_and_deleted_agents_cannot_authenticate() {
        let directory = directory();
        assert_eq!(
            directory.insert(api_agent(&directory, "carol", "another-pw")),
            Err(Taken::InConfig)
        );
        directory
            .insert(api_agent(&directory, "dave", "dave-password"))
            .unwrap();
        assert_eq!(
            directory.insert(api_agent(&directory, "dave", "x-password")),
            Err(Taken::Exists)
        );
        assert!(directory.authenticate("dave", "dave-password").is_some());
        assert!(directory.ha1_of("dave").is_some());
        directory.mark_deleting("dave");
        assert!(directory.authenticate("dave", "dave-password").is_none());
        assert!(directory.ha1_of("dave").is_none());
        assert_eq!(
            directory.insert(api_agent(&directory, "dave", "dave-password")),
            Err(Taken::Deleting)
        );
        directory.forget("dave");
        assert!(directory.get("dave").is_none());
        // Config agents are never forgotten.
        directory.forget("carol");
        assert!(directory.get("carol").is_some());
    }

    #[test]
    fn field_rules_name_the_field_and_never_the_password() {
        assert!(check_id("alice.b-2_x").is_ok());
        assert!(check_id("7").is_ok() && check_id("a..b").is_ok());
        for bad in [
            "",
            "a b",
            "al:ce",
            "ünï",
            &"x".repeat(65),
            ".",
            "..",
            ".alice",
            "-alice",
            "_alice",
        ] {
            assert_eq!(check_id(bad).unwrap_err().field, "id", "{bad:?}");
        }
        assert!(check_name("Alice Moreno").is_ok());
        for bad in ["", "   ", "a\nb", &"x".repeat(101)] {
            assert_eq!(check_name(bad).unwrap_err().field, "name", "{bad:?}");
        }
        let short = check_password("1234567").unwrap_err();
        assert_eq!(short.field, "password");
        assert!(!short.to_string().contains("1234567"));
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"p".repeat(129)).is_err());
        // Characters, as the messages say: eight two-byte letters are eight
        // characters, and 128 of them are not too many.
        assert!(check_password("ééééééé").is_err());
        assert!(check_password("éééééééé").is_ok());
        assert!(check_password(&"é".repeat(128)).is_ok());
        let long = check_password(&"é".repeat(129)).unwrap_err();
        assert!(long.message.contains("characters"), "{long}");
        let skills = |pairs: &[(&str, u8)]| {
            pairs
                .iter()
                .map(|(name, level)| (name.to_string(), *level))
                .collect::<BTreeMap<_, _>>()
        };
        assert!(check_skills(&skills(&[("spanish", 1), ("billing", 10)])).is_ok());
        let error = check_skills(&skills(&[("spanish", 11)])).unwrap_err();
        assert_eq!(
            error.to_string(),
            "skills: 'spanish': level 11 is not 1..10"
        );
        assert!(check_skills(&skills(&[("spanish", 0)])).is_err());
        assert!(check_skills(&skills(&[(" ", 3)])).is_err());
        let known: BTreeSet<String> = ["sales".to_string()].into();
        assert!(check_queues(&["sales".into()], &known).is_ok());
        let error = check_queues(&["nope".into()], &known).unwrap_err();
        assert_eq!(error.field, "queues");
        assert!(error.message.contains("'nope'"), "{error}");
        assert_eq!(
            distinct(vec!["b".into(), "a".into(), "b".into()]),
            vec!["b", "a"]
        );
    }
}
