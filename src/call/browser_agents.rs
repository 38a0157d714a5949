//! Browser agents' sessions: an agent logs in on the agent page (a
//! WebSocket), which is their presence; the desk offers calls to the page,
//! which shows the caller's data and answers with a WebRTC offer; state
//! buttons and the disposition form come back as messages.
//!
//! The messages are plain serde types ([`ToPage`], [`FromPage`]); the HTTP
//! layer only moves them between the socket and this module.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::agents::{Command, DeskHandle};
use super::browser::{self, BrowserLeg, BrowserMediaConfig, PageControl};
use crate::config::{valid_disposition, Config};
use crate::directory::AgentDirectory;
use crate::sip::digest::Lockout;

/// Longest note an agent may attach to a disposition.
pub const MAX_NOTES: usize = 2000;
/// Calls an agent may still set a disposition for.
const RECENT_CALLS: usize = 20;

/// Messages from the engine to the agent page.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ToPage {
    Welcome {
        agent: String,
        name: String,
        queues: Vec<String>,
        dispositions: Vec<String>,
        ice_servers: Vec<String>,
    },
    /// The agent's state: logged_out, available, ringing, on_call,
    /// wrap_up, paused (`detail`: the call, or the pause reason).
    State {
        state: String,
        detail: Option<String>,
    },
    /// A call for the agent, with the caller's data (screen pop).
    Offer {
        offer: u64,
        call: String,
        caller: String,
        queue: String,
        callback: bool,
        /// Name → value: Caller, Path, Digits, Queue, Call, Var-*.
        data: BTreeMap<String, String>,
    },
    /// The offer went to someone else, or the caller left.
    OfferWithdrawn {
        offer: u64,
    },
    /// The engine's SDP answer to the page's offer.
    Media {
        offer: u64,
        sdp: String,
    },
    /// The call ended (either side). `connected`: the agent talked to the
    /// caller (and may set a disposition); false for an answer that came too
    /// late (the call went elsewhere).
    CallEnded {
        call: String,
        cause: String,
        connected: bool,
    },
    DispositionSaved {
        call: String,
    },
    Error {
        message: String,
    },
    /// The agent logged in somewhere else; this page is done.
    Replaced,
    /// An attended transfer's consultation: `calling` (the caller holds),
    /// `talking` (the consulted party answered), `ended` (back to the
    /// caller; `detail` says why).
    Consult {
        state: String,
        target: String,
        detail: Option<String>,
    },
}

/// Messages from the agent page.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FromPage {
    Login {
        agent: String,
        password: String,
    },
    /// Take the offer: the page's SDP offer for the call's audio.
    Answer {
        offer: u64,
        sdp: String,
    },
    Decline {
        offer: u64,
    },
    Hangup,
    /// Send the caller to a queue (by name) or a phone number.
    Transfer {
        target: String,
    },
    /// The caller hears music until `resume`.
    Hold,
    Resume,
    /// Attended transfer: hold the caller and call a queue (by name) or a
    /// phone number first.
    Consult {
        target: String,
    },
    /// Hand the caller to the consulted party.
    CompleteTransfer,
    /// Hang up the consulted party and go back to the caller.
    CancelConsult,
    Pause {
        reason: String,
    },
    Available,
    Disposition {
        call: String,
        code: String,
        #[serde(default)]
        notes: String,
    },
}

/// Why a login was refused. The text is the same for an unknown agent and
/// a wrong password, so accounts cannot be found by guessing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    BadCredentials,
    LockedOut,
}

impl std::fmt::Display for LoginError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoginError::BadCredentials => write!(f, "wrong agent id or password"),
            LoginError::LockedOut => {
                write!(
                    f,
                    "too many failed logins from this address; try again later"
                )
            }
        }
    }
}

enum PageReply {
    Answer(String),
    Decline,
}

/// One logged-in agent page.
pub struct Session {
    pub id: u64,
    pub agent: String,
    to_page: mpsc::UnboundedSender<ToPage>,
    offers: Mutex<HashMap<u64, oneshot::Sender<PageReply>>>,
    /// The call being talked: its id, the hang-up switch of its media, and
    /// its call buttons.
    current: Mutex<Option<CurrentCall>>,
    /// Cancelled when the page is gone or replaced.
    pub closed: CancellationToken,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("agent", &self.agent)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn send(&self, message: ToPage) {
        self.to_page.send(message).ok();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct CurrentCall {
    call: String,
    hangup: CancellationToken,
    controls: mpsc::UnboundedSender<PageControl>,
}

/// Every browser agent's session.
pub struct BrowserAgents {
    /// Who may log in (shared with the API, which adds and deletes agents).
    directory: Arc<AgentDirectory>,
    /// Each queue's dispositions.
    queue_dispositions: HashMap<String, Vec<String>>,
    media: BrowserMediaConfig,
    sessions: Mutex<HashMap<String, Arc<Session>>>,
    /// Calls each agent talked to, newest last (kept across page reloads):
    /// the ones they may set a disposition for.
    recent_calls: Mutex<HashMap<String, VecDeque<String>>>,
    /// Each agent's last known state, for a page that logs in.
    states: Mutex<HashMap<String, (String, Option<String>)>>,
    next_id: AtomicU64,
    lockout: Mutex<Lockout>,
    epoch: Instant,
    changed: Notify,
    desk: OnceLock<DeskHandle>,
}

impl BrowserAgents {
    pub fn new(config: &Config, directory: Arc<AgentDirectory>) -> BrowserAgents {
        let queue_dispositions = config
            .all_queues()
            .into_iter()
            .map(|queue| (queue.name, queue.dispositions))
            .collect();
        BrowserAgents {
            directory,
            queue_dispositions,
            media: BrowserMediaConfig::from_config(&config.webrtc),
            sessions: Mutex::new(HashMap::new()),
            recent_calls: Mutex::new(HashMap::new()),
            states: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            lockout: Mutex::new(Lockout::new(
                5,
                Duration::from_secs(60),
                Duration::from_secs(300),
            )),
            epoch: Instant::now(),
            changed: Notify::new(),
            desk: OnceLock::new(),
        }
    }

    /// The dispositions of an agent's queues, each once.
    fn dispositions_of(&self, queues: &[String]) -> Vec<String> {
        let mut dispositions: Vec<String> = Vec::new();
        for queue in queues {
            for code in self.queue_dispositions.get(queue).into_iter().flatten() {
                if !dispositions.contains(code) {
                    dispositions.push(code.clone());
                }
            }
        }
        dispositions
    }

    pub(crate) fn attach_desk(&self, desk: DeskHandle) {
        self.desk.set(desk).ok();
    }

    /// Checks the agent's id and password; on success the agent is logged
    /// in (a session they had elsewhere is closed) and the page's messages
    /// start with [`ToPage::Welcome`].
    pub fn login(
        &self,
        agent: &str,
        password: &str,
        source: IpAddr,
    ) -> Result<(Arc<Session>, mpsc::UnboundedReceiver<ToPage>), LoginError> {
        let now = self.epoch.elapsed();
        if lock(&self.lockout).is_locked(source, now) {
            warn!(%source, "agent page login refused: source locked out");
            return Err(LoginError::LockedOut);
        }
        // The presented password's HA1 against the agent's, in constant
        // time; an unknown agent costs the same work.
        let Some(account) = self.directory.authenticate(agent, password) else {
            if lock(&self.lockout).failed(source, now) {
                warn!(%source, "agent page logins locked out for 5 minutes after repeated failures");
            } else {
                info!(%source, "agent page login failed");
            }
            return Err(LoginError::BadCredentials);
        };
        let (to_page, receiver) = mpsc::unbounded_channel();
        let session = Arc::new(Session {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            agent: agent.to_string(),
            to_page,
            offers: Mutex::new(HashMap::new()),
            current: Mutex::new(None),
            closed: CancellationToken::new(),
        });
        session.send(ToPage::Welcome {
            agent: agent.to_string(),
            name: account.name.clone(),
            dispositions: self.dispositions_of(&account.queues),
            queues: account.queues,
            ice_servers: self.media.ice_servers.clone(),
        });
        let (state, detail) = lock(&self.states)
            .get(agent)
            .cloned()
            .unwrap_or_else(|| ("logged_out".into(), None));
        session.send(ToPage::State { state, detail });
        let previous = lock(&self.sessions).insert(agent.to_string(), session.clone());
        if let Some(previous) = previous {
            info!(
                agent,
                "agent logged in on another page; closing the old one"
            );
            previous.send(ToPage::Replaced);
            end_session(&previous);
        }
        info!(agent, %source, "agent page logged in");
        self.changed.notify_one();
        // Logging in on the page is a login: it ends a logout made through
        // the API.
        self.to_desk(Command::PageLogin {
            agent: agent.to_string(),
        });
        Ok((session, receiver))
    }

    /// Closes the agent's page (logged out through the API, or deleted),
    /// telling it why. Its call, if any, is hung up: the desk calls this
    /// only once the agent is off calls.
    pub(crate) fn close_session(&self, agent: &str, why: &str) {
        let session = lock(&self.sessions).remove(agent);
        self.tell_and_end(session, why);
    }

    /// Closes the agent's page like [`close_session`](Self::close_session),
    /// but only if it is still the session `session_id` (a page opened
    /// since stays).
    pub(crate) fn close_session_if(&self, agent: &str, session_id: u64, why: &str) {
        let session = {
            let mut sessions = lock(&self.sessions);
            if sessions
                .get(agent)
                .is_some_and(|session| session.id == session_id)
            {
                sessions.remove(agent)
            } else {
                None
            }
        };
        self.tell_and_end(session, why);
    }

    fn tell_and_end(&self, session: Option<Arc<Session>>, why: &str) {
        if let Some(session) = session {
            session.send(ToPage::Error {
                message: why.to_string(),
            });
            end_session(&session);
            info!(agent = %session.agent, "agent page closed by the engine");
            self.changed.notify_one();
        }
    }

    /// The agent was deleted: close its page and forget what the pages
    /// remember of it.
    pub(crate) fn forget_agent(&self, agent: &str) {
        self.close_session(agent, "your agent account was deleted");
        lock(&self.states).remove(agent);
        lock(&self.recent_calls).remove(agent);
    }

    /// The page is gone (closed, network lost, logged out).
    pub fn logout(&self, session: &Arc<Session>) {
        end_session(session);
        let mut sessions = lock(&self.sessions);
        if sessions
            .get(&session.agent)
            .is_some_and(|current| current.id == session.id)
        {
            sessions.remove(&session.agent);
            info!(agent = %session.agent, "agent page closed");
            drop(sessions);
            self.changed.notify_one();
        }
    }

    /// Handles one message from a logged-in page.
    pub fn from_page(&self, session: &Arc<Session>, message: FromPage) {
        let agent = session.agent.clone();
        match message {
            FromPage::Login { .. } => session.send(ToPage::Error {
                message: "already logged in".into(),
            }),
            FromPage::Answer { offer, sdp } => {
                if let Some(reply) = lock(&session.offers).remove(&offer) {
                    reply.send(PageReply::Answer(sdp)).ok();
                }
            }
            FromPage::Decline { offer } => {
                if let Some(reply) = lock(&session.offers).remove(&offer) {
                    reply.send(PageReply::Decline).ok();
                }
            }
            FromPage::Hangup => {
                if let Some(current) = lock(&session.current).as_ref() {
                    current.hangup.cancel();
                }
            }
            FromPage::Transfer { target } => {
                self.control(session, PageControl::Transfer(clean_target(&target)));
            }
            FromPage::Consult { target } => {
                self.control(session, PageControl::Consult(clean_target(&target)));
            }
            FromPage::CompleteTransfer => self.control(session, PageControl::CompleteTransfer),
            FromPage::CancelConsult => self.control(session, PageControl::CancelConsult),
            FromPage::Hold => self.control(session, PageControl::Hold(true)),
            FromPage::Resume => self.control(session, PageControl::Hold(false)),
            FromPage::Pause { reason } => {
                let reason: String = reason
                    .chars()
                    .filter(|c| !c.is_control())
                    .take(40)
                    .collect();
                let reason = if reason.trim().is_empty() {
                    "break".to_string()
                } else {
                    reason.trim().to_string()
                };
                self.to_desk(Command::Pause {
                    agent,
                    reason: Some(reason),
                });
            }
            FromPage::Available => self.to_desk(Command::Pause {
                agent,
                reason: None,
            }),
            FromPage::Disposition { call, code, notes } => {
                let known_call = lock(&self.recent_calls)
                    .get(&agent)
                    .is_some_and(|calls| calls.contains(&call));
                let known_code = self
                    .directory
                    .get(&agent)
                    .is_some_and(|account| self.dispositions_of(&account.queues).contains(&code));
                if !known_call {
                    session.send(ToPage::Error {
                        message: format!("call {call} was not yours or is too old to dispose"),
                    });
                } else if !valid_disposition(&code) || !known_code {
                    session.send(ToPage::Error {
                        message: format!("'{code}' is not one of your queues' dispositions"),
                    });
                } else if notes.chars().count() > MAX_NOTES {
                    session.send(ToPage::Error {
                        message: format!("notes are limited to {MAX_NOTES} characters"),
                    });
                } else {
                    self.to_desk(Command::Disposition {
                        agent,
                        call,
                        code,
                        notes,
                    });
                }
            }
        }
    }

    fn control(&self, session: &Session, control: PageControl) {
        let sent = lock(&session.current)
            .as_ref()
            .is_some_and(|current| current.controls.send(control).is_ok());
        if !sent {
            session.send(ToPage::Error {
                message: "there is no call to hold or transfer".into(),
            });
        }
    }

    /// Tells the agent's page how a consultation is going.
    pub fn consult_state(&self, agent: &str, state: &str, target: &str, detail: Option<&str>) {
        if let Some(session) = self.session(agent) {
            session.send(ToPage::Consult {
                state: state.to_string(),
                target: target.to_string(),
                detail: detail.map(str::to_string),
            });
        }
    }

    /// Shows `message` on the agent's page (as an error line).
    pub fn tell(&self, agent: &str, message: &str) {
        if let Some(session) = self.session(agent) {
            session.send(ToPage::Error {
                message: message.to_string(),
            });
        }
    }

    fn to_desk(&self, command: Command) {
        match self.desk.get() {
            Some(desk) if desk.send(command) => {}
            _ => warn!("agent page message dropped: the agent desk is not running"),
        }
    }

    /// Agents with an open page.
    pub fn logged_in(&self) -> BTreeSet<String> {
        lock(&self.sessions).keys().cloned().collect()
    }

    pub fn session(&self, agent: &str) -> Option<Arc<Session>> {
        lock(&self.sessions).get(agent).cloned()
    }

    /// Resolves when a page logs in or goes away.
    pub async fn changed(&self) {
        self.changed.notified().await
    }

    /// The desk connected `agent` to `call`: the agent may now set its
    /// disposition.
    pub(crate) fn connected(&self, agent: &str, call: &str) {
        let mut recent = lock(&self.recent_calls);
        let calls = recent.entry(agent.to_string()).or_default();
        calls.push_back(call.to_string());
        while calls.len() > RECENT_CALLS {
            calls.pop_front();
        }
    }

    /// Whether `call` is the last call `agent` talked to.
    pub(crate) fn is_latest_call(&self, agent: &str, call: &str) -> bool {
        lock(&self.recent_calls)
            .get(agent)
            .and_then(|calls| calls.back())
            .is_some_and(|latest| latest == call)
    }

    /// Tells the agent's page its new state.
    pub fn push_state(&self, agent: &str, state: &str, detail: Option<String>) {
        lock(&self.states).insert(agent.to_string(), (state.to_string(), detail.clone()));
        if let Some(session) = self.session(agent) {
            session.send(ToPage::State {
                state: state.to_string(),
                detail,
            });
        }
    }

    /// Tells the agent's page a disposition was stored.
    pub fn disposition_saved(&self, agent: &str, call: &str) {
        if let Some(session) = self.session(agent) {
            session.send(ToPage::DispositionSaved {
                call: call.to_string(),
            });
        }
    }

    /// Offers a call to the agent's page and, when the agent answers, sets
    /// up the call's audio with the browser. `cancel` withdraws the offer.
    pub(crate) async fn ring(
        &self,
        session: Arc<Session>,
        offer: PageOffer,
        cancel: CancellationToken,
        limit: Duration,
    ) -> Result<BrowserLeg, String> {
        let serial = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (reply, answered) = oneshot::channel();
        lock(&session.offers).insert(serial, reply);
        let call = offer.call.clone();
        session.send(ToPage::Offer {
            offer: serial,
            call: offer.call,
            caller: offer.caller,
            queue: offer.queue,
            callback: offer.callback,
            data: offer.data,
        });
        let withdraw = |session: &Session| {
            lock(&session.offers).remove(&serial);
            session.send(ToPage::OfferWithdrawn { offer: serial });
        };
        let sdp = tokio::select! {
            reply = answered => match reply {
                Ok(PageReply::Answer(sdp)) => sdp,
                Ok(PageReply::Decline) => return Err("declined on the agent page".into()),
                Err(_) => return Err("the agent page went away".into()),
            },
            _ = cancel.cancelled() => {
                withdraw(&session);
                return Err("cancelled".into());
            }
            _ = session.closed.cancelled() => return Err("the agent page went away".into()),
            _ = tokio::time::sleep(limit) => {
                withdraw(&session);
                return Err("no answer on the agent page".into());
            }
        };
        let answered = tokio::select! {
            answered = browser::answer(&self.media, &sdp) => answered,
            _ = cancel.cancelled() => Err("cancelled".to_string()),
            _ = session.closed.cancelled() => Err("the agent page went away".to_string()),
        };
        let (leg, answer) = match answered {
            Ok(negotiated) => negotiated,
            Err(reason) => {
                if reason != "cancelled" && !session.closed.is_cancelled() {
                    warn!(agent = %session.agent, %reason, "browser media could not be set up");
                    session.send(ToPage::Error {
                        message: format!("audio could not be set up: {reason}"),
                    });
                }
                withdraw(&session);
                return Err(reason);
            }
        };
        session.send(ToPage::Media {
            offer: serial,
            sdp: answer,
        });
        // The page's hang-up button (and its closing) work from here on.
        *lock(&session.current) = Some(CurrentCall {
            call: call.clone(),
            hangup: leg.hangup.clone(),
            controls: leg.controls.clone(),
        });
        let connected = tokio::select! {
            result = leg.connected(Duration::from_secs(15)) => result,
            _ = cancel.cancelled() => Err("cancelled".into()),
            _ = session.closed.cancelled() => Err("the agent page went away".into()),
        };
        // Media only goes to allowed networks, whatever the ICE checks found
        // (a peer-reflexive address is not in the page's SDP).
        let connected = match connected {
            Ok(()) if !self.media.allowed_peer_networks.is_empty() => {
                match leg.peer_address().await {
                    Some(peer)
                        if self
                            .media
                            .allowed_peer_networks
                            .iter()
                            .any(|network| network.contains(peer)) =>
                    {
                        Ok(())
                    }
                    peer => Err(format!(
                        "the browser's media address {peer:?} is outside allowed_peer_networks"
                    )),
                }
            }
            other => other,
        };
        if let Err(reason) = connected {
            self.forget_current(&session, &call);
            leg.close().await;
            withdraw(&session);
            return Err(reason);
        }
        if session.closed.is_cancelled() {
            leg.hangup.cancel();
        }
        Ok(leg)
    }

    fn forget_current(&self, session: &Session, call: &str) {
        let mut current = lock(&session.current);
        if current.as_ref().is_some_and(|current| current.call == call) {
            *current = None;
        }
    }

    /// The browser leg of `agent`'s call ended.
    pub(crate) fn call_ended(&self, agent: &str, call: &str, cause: &str) {
        let connected = lock(&self.recent_calls)
            .get(agent)
            .is_some_and(|calls| calls.iter().any(|recent| recent == call));
        if let Some(session) = self.session(agent) {
            self.forget_current(&session, call);
            session.send(ToPage::CallEnded {
                call: call.to_string(),
                cause: cause.to_string(),
                connected,
            });
        }
    }
}

/// A browser agent's answered call, as the bridge holds it.
pub(crate) struct BrowserCall {
    pub leg: BrowserLeg,
    pub agent: String,
    pub call: String,
    pub agents: Arc<BrowserAgents>,
}

impl BrowserCall {
    /// Closes the media and tells the page the call ended.
    pub async fn end(&self, cause: &str) {
        self.leg.close().await;
        self.agents.call_ended(&self.agent, &self.call, cause);
    }
}

/// A transfer target from the page: no control characters, bounded.
fn clean_target(target: &str) -> String {
    target
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}

fn end_session(session: &Session) {
    session.closed.cancel();
    lock(&session.offers).clear();
    if let Some(current) = lock(&session.current).take() {
        current.hangup.cancel();
    }
}

/// What the page is shown when a call is offered.
pub(crate) struct PageOffer {
    pub call: String,
    pub caller: String,
    pub queue: String,
    pub callback: bool,
    pub data: BTreeMap<String, String>,
}

impl PageOffer {
    /// From the SIP screen-pop headers (`X-Switchboard-Caller` → `Caller`).
    pub fn from_screen(call: &str, caller: &str, screen: &[(String, String)]) -> PageOffer {
        let data: BTreeMap<String, String> = screen
            .iter()
            .filter_map(|(name, value)| {
                name.strip_prefix("X-Switchboard-")
                    .map(|name| (name.to_string(), value.clone()))
            })
            .collect();
        PageOffer {
            call: call.to_string(),
            caller: caller.to_string(),
            queue: data.get("Queue").cloned().unwrap_or_default(),
            callback: data.get("Callback").is_some_and(|value| value == "yes"),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn agents() -> BrowserAgents {
        agents_and_directory().0
    }

    fn agents_and_directory() -> (BrowserAgents, Arc<AgentDirectory>) {
        let config = Config::from_toml(
            Path::new("x.toml"),
            "[[agents]]\nid = \"carol\"\nname = \"Carol\"\npassword = \"secret-123\"\nqueues = [\"support\"]\n\n\
             [[queues]]\nname = \"support\"\ndispositions = [\"resolved\", \"sale\"]\n",
        )
        .unwrap();
        let directory = Arc::new(AgentDirectory::from_config(&config));
        (BrowserAgents::new(&config, directory.clone()), directory)
    }

    const HOME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn unknown_agents_and_wrong_passwords_get_the_same_answer() {
        let agents = agents();
        let unknown = agents.login("mallory", "secret-123", HOME).unwrap_err();
        let wrong = agents.login("carol", "guess", HOME).unwrap_err();
        assert_eq!(unknown, wrong);
        assert_eq!(unknown.to_string(), wrong.to_string());
        assert!(agents.logged_in().is_empty());
    }

    #[test]
    fn repeated_failures_lock_the_source_out() {
        let agents = agents();
        for _ in 0..5 {
            assert_eq!(
                agents.login("carol", "guess", HOME).unwrap_err(),
                LoginError::BadCredentials
            );
        }
        // Even the right password is refused while locked out.
        assert_eq!(
            agents.login("carol", "secret-123", HOME).unwrap_err(),
            LoginError::LockedOut
        );
        let elsewhere = IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 2));
        assert!(agents.login("carol", "secret-123", elsewhere).is_ok());
    }

    #[test]
    fn a_login_welcomes_and_a_second_page_replaces_the_first() {
        let agents = agents();
        let (first, mut first_messages) = agents.login("carol", "secret-123", HOME).unwrap();
        match first_messages.try_recv().unwrap() {
            ToPage::Welcome {
                name, dispositions, ..
            } => {
                assert_eq!(name, "Carol");
                assert_eq!(dispositions, vec!["resolved", "sale"]);
            }
            other => panic!("{other:?}"),
        }
        // Then the agent's current state (none known yet: logged out).
        assert!(
            matches!(first_messages.try_recv().unwrap(), ToPage::State { state, .. } if state == "logged_out")
        );
        assert_eq!(agents.logged_in(), BTreeSet::from(["carol".to_string()]));
        let (second, _) = agents.login("carol", "secret-123", HOME).unwrap();
        assert_eq!(first_messages.try_recv().unwrap(), ToPage::Replaced);
        assert!(first.closed.is_cancelled());
        // The old page closing does not log out the new one.
        agents.logout(&first);
        assert!(agents.session("carol").is_some());
        agents.logout(&second);
        assert!(agents.logged_in().is_empty());
    }

    #[test]
    fn dispositions_are_only_taken_for_own_calls_and_known_codes() {
        let agents = agents();
        let (session, mut messages) = agents.login("carol", "secret-123", HOME).unwrap();
        messages.try_recv().unwrap(); // welcome
        messages.try_recv().unwrap(); // state
        agents.from_page(
            &session,
            FromPage::Disposition {
                call: "someone-elses".into(),
                code: "resolved".into(),
                notes: String::new(),
            },
        );
        assert!(
            matches!(messages.try_recv().unwrap(), ToPage::Error { message } if message.contains("not yours"))
        );
        agents.connected("carol", "c1");
        agents.from_page(
            &session,
            FromPage::Disposition {
                call: "c1".into(),
                code: "made_up".into(),
                notes: String::new(),
            },
        );
        assert!(
            matches!(messages.try_recv().unwrap(), ToPage::Error { message } if message.contains("made_up"))
        );
    }

    #[test]
    fn agents_added_to_the_directory_log_in_at_once_and_closed_pages_say_why() {
        let (agents, directory) = agents_and_directory();
        assert!(agents.login("dave", "dave-password", HOME).is_err());
        directory
            .insert(crate::directory::AgentAccount::with_ha1(
                "dave".into(),
                "Dave".into(),
                directory.ha1_for("dave", "dave-password"),
                directory.realm().into(),
                BTreeMap::new(),
                vec!["support".into()],
                crate::directory::Origin::Api,
            ))
            .unwrap();
        let (session, mut messages) = agents.login("dave", "dave-password", HOME).unwrap();
        match messages.try_recv().unwrap() {
            ToPage::Welcome { dispositions, .. } => {
                assert_eq!(dispositions, vec!["resolved", "sale"])
            }
            other => panic!("{other:?}"),
        }
        messages.try_recv().unwrap(); // state
        agents.close_session("dave", "logged out");
        assert_eq!(
            messages.try_recv().unwrap(),
            ToPage::Error {
                message: "logged out".into()
            }
        );
        assert!(session.closed.is_cancelled());
        assert!(agents.logged_in().is_empty());
        // A deleted agent cannot log in again.
        directory.mark_deleting("dave");
        assert_eq!(
            agents.login("dave", "dave-password", HOME).unwrap_err(),
            LoginError::BadCredentials
        );
    }

    #[test]
    fn page_messages_parse_and_unknown_fields_are_refused() {
        let message: FromPage =
            serde_json::from_str(r#"{"type":"pause","reason":"lunch"}"#).unwrap();
        assert_eq!(
            message,
            FromPage::Pause {
                reason: "lunch".into()
            }
        );
        assert!(
            serde_json::from_str::<FromPage>(r#"{"type":"pause","reason":"x","x":1}"#).is_err()
        );
        assert!(serde_json::from_str::<FromPage>(r#"{"type":"reboot"}"#).is_err());
        let text = serde_json::to_string(&ToPage::OfferWithdrawn { offer: 3 }).unwrap();
        assert_eq!(text, r#"{"type":"offer_withdrawn","offer":3}"#);
    }

    #[test]
    fn screen_headers_become_page_fields() {
        let offer = PageOffer::from_screen(
            "c9",
            "+15551234567",
            &[
                ("X-Switchboard-Caller".into(), "+15551234567".into()),
                ("X-Switchboard-Queue".into(), "support".into()),
                ("X-Switchboard-Var-account".into(), "12345".into()),
                ("Call-Info".into(), "<http://x/api/calls/c9>".into()),
            ],
        );
        assert_eq!(offer.queue, "support");
        assert!(!offer.callback);
        assert_eq!(
            offer.data.get("Var-account").map(String::as_str),
            Some("12345")
        );
        assert!(!offer.data.contains_key("Call-Info"));
    }
}
