//! The agent desk: drives the pure ACD ([`crate::acd`]) with real time,
//! real registrations and real calls. One task owns the [`Acd`]; callers
//! waiting in a queue, agents' phones being rung and callbacks being placed
//! talk to it through one channel, so every decision is taken in order.
//!
//! - Agent presence follows SIP registration and the agent page: a phone
//!   that registers, or a page that logs in, logs its agent in; an
//!   unregistration, an expired binding or a closed page logs it out
//!   (deferred to the end of a call in progress).
//! - A logout through the API keeps the agent logged out whatever its phone
//!   does, until a login through the API or on the agent page (it is
//!   remembered across restarts from the last stored event).
//! - Agents come from the shared [`AgentDirectory`]; the API adds, changes
//!   and deletes them while the desk runs. A deleted agent on a call
//!   finishes it, then leaves.
//! - When the engine stops, every logged-in agent gets a logout event, so
//!   time per state does not count the downtime.
//! - An agent with the agent page open is offered calls there (screen pop,
//!   answer button, WebRTC audio); otherwise on the registered phone.
//! - An offer is an INVITE to the agent's registered contact, carrying the
//!   caller's data as `X-Switchboard-*` headers and a `Call-Info` URL (the
//!   screen pop for SIP phones). Ring timeout and no-answer come from the ACD.
//! - A connected call is handed to the caller's task, which bridges the legs.
//! - A callback reserves an agent, rings the agent, then dials the customer
//!   through a trunk and bridges them.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn, Instrument};

use super::bridge::{self, AgentLeg, Party};
use super::browser_agents::{BrowserAgents, BrowserCall, PageOffer};
use super::media::MediaSession;
use super::talk::{self, TalkOptions};
use super::{negotiate_body, CallEngine, CallEngineShared};
use crate::acd::{
    Acd, AcdConfig, AcdError, Action, AgentConfig, AgentId, AgentState, CallId, CallInfo,
    ChangeReason, Event, OverflowTarget, QueueConfig, Strategy,
};
use crate::config::{Config, QueueSettings, QueueStrategy, TrunkConfig};
use crate::directory::{AgentAccount, AgentDirectory};
use crate::pii::Masked;
use crate::sip::{DialProgress, DialRequest, Registrar, SipServer};
use crate::store::{
    AgentEventRow, CallEnd, CallbackRow, DispositionRow, NewCall, QueueCallEnd, Store,
};

/// What a page closed by a logout through the API is told.
const LOGGED_OUT_BY_API: &str = "you were logged out (through the API); log in again to take calls";
/// What a page closed by a change of the agent's password is told.
const PASSWORD_CHANGED: &str = "your password was changed; log in again with the new one";

/// What the desk tells a waiting caller's task.
pub(crate) enum Notice {
    /// Announce position and estimated wait.
    Position {
        position: usize,
        estimated_wait: Duration,
    },
    /// An agent answered: bridge to this leg.
    Connect { agent: String, party: Box<AgentLeg> },
    /// The call waited too long and left the queue.
    Overflow(OverflowTarget),
    /// The call moved to another queue (overflow).
    MovedTo(String),
    /// No agent can take the call.
    Unavailable(String),
}

/// A caller waiting in a queue, as the desk sees it.
pub(crate) struct Waiting {
    pub notices: mpsc::UnboundedSender<Notice>,
    /// The screen pop: SIP headers for the agent's INVITE.
    pub screen: Vec<(String, String)>,
    /// The caller's number (From user), shown on the agent's phone.
    pub caller_number: String,
    pub entered_at: DateTime<Utc>,
}

/// Messages to the desk.
pub(crate) enum Command {
    Enqueue {
        call: String,
        queue: String,
        priority: u8,
        /// Enqueue as a callback (the caller has already left the line).
        callback: bool,
        caller: Waiting,
    },
    /// The caller left the queue (hung up, timed out, ...) or the bridged
    /// call ended.
    Left { call: String, end: QueueCallEnd },
    /// The caller asked to be called back at `number`; it keeps its place.
    Callback { call: String, number: String },
    OfferResult {
        call: CallId,
        agent: AgentId,
        /// Which offer this answers (an agent can be offered the same call
        /// again before the first ring task has reported).
        serial: u64,
        result: Result<Box<AgentLeg>, String>,
    },
    /// Pause with a reason, or (`None`) become available again (ends a
    /// pause or wrap-up).
    Pause {
        agent: String,
        reason: Option<String>,
    },
    /// The agent's disposition of a call (ends wrap-up).
    Disposition {
        agent: String,
        call: String,
        code: String,
        notes: String,
    },
    /// A stored callback's turn (after a restart, or its retry delay).
    RestoreCallback(CallbackRow),
    /// A callback's customer is being dialled: the attempt's call log id.
    CallbackPlacing { call: String, attempt: String },
    /// The agent answered a callback: may the customer be dialled?
    CallbackAnswered {
        call: CallId,
        agent: AgentId,
        serial: u64,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// An agent created through the API (already in the directory); the
    /// reply comes once the desk's snapshot shows it, or says why the ACD
    /// refused it.
    AgentAdded {
        account: AgentAccount,
        reply: tokio::sync::oneshot::Sender<Result<(), AcdError>>,
    },
    /// An agent's name, password, skills or queues changed. A new password
    /// drops the phone's binding and closes the agent page.
    AgentChanged {
        account: AgentAccount,
        password_changed: bool,
        reply: tokio::sync::oneshot::Sender<Result<(), AcdError>>,
    },
    /// An agent was deleted; the reply is true when it left at once, false
    /// when it finishes its call first.
    AgentDeleted {
        agent: String,
        reply: tokio::sync::oneshot::Sender<bool>,
    },
    /// Log in (through the API): ends a logout made through the API. The
    /// reply is `None` when the agent is not (or no longer) in the ACD.
    Login {
        agent: String,
        reply: tokio::sync::oneshot::Sender<Option<Presence>>,
    },
    /// Log out (through the API) and stay out until the next login. The
    /// reply is `None` when the agent is not (or no longer) in the ACD.
    Logout {
        agent: String,
        reply: tokio::sync::oneshot::Sender<Option<Presence>>,
    },
    /// The agent logged in on the agent page.
    PageLogin { agent: String },
}

/// An agent's state after a login or logout through the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Presence {
    pub agent: String,
    /// logged_out | available | ringing | on_call | wrap_up | paused
    pub state: String,
    /// A registered phone or an open agent page.
    pub reachable: bool,
    /// Logged out through the API: a phone or page does not log it in.
    pub stays_logged_out: bool,
    /// A logout waits for the end of the call in progress.
    pub logout_after_call: bool,
}

/// The desk's handle, held by every call.
#[derive(Clone)]
pub(crate) struct DeskHandle {
    commands: mpsc::UnboundedSender<Command>,
    queues: Arc<BTreeMap<String, QueueSettings>>,
    sip: Arc<SipServer>,
    trunks: Arc<Vec<TrunkConfig>>,
    /// For dialling in the background (weak: the engine holds this handle).
    engine: std::sync::Weak<CallEngineShared>,
}

/// Where an agent sends a call.
pub(crate) enum Transfer {
    /// Into another queue: the caller waits there, keeping the screen pop.
    Queue(String),
    /// To a phone number, through the first trunk.
    Number(String),
    /// Attended: to the party the agent consulted, already on the line.
    Attended(Box<Attended>),
}

/// The other party of an attended transfer, answered and ready to bridge.
pub(crate) struct Attended {
    /// The agent's id, or (for an outside number) the masked number.
    pub agent: String,
    /// The queue call that brought that agent (its queue row is closed when
    /// the bridge to the caller ends); `None` for an outside number.
    pub queue_call: Option<QueueCall>,
    pub party: AgentLeg,
}

impl std::fmt::Debug for Transfer {
    // Phone numbers are personal data: masked in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transfer::Queue(queue) => f.debug_tuple("Queue").field(queue).finish(),
            Transfer::Number(number) => write!(f, "Number({})", Masked(number)),
            Transfer::Attended(attended) => f.debug_tuple("Attended").field(attended).finish(),
        }
    }
}

impl std::fmt::Debug for Attended {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attended")
            .field("agent", &self.agent)
            .field("queue_call", &self.queue_call)
            .finish_non_exhaustive()
    }
}

/// A call the desk routed to an agent: its id in the ACD and when it
/// entered its queue.
#[derive(Debug, Clone)]
pub(crate) struct QueueCall {
    pub id: String,
    pub entered: Instant,
}

impl DeskHandle {
    pub fn queue(&self, name: &str) -> Option<&QueueSettings> {
        self.queues.get(name)
    }

    /// What an agent's transfer target means: a queue's name, or a phone
    /// number (when a trunk is configured). `target` is a SIP URI
    /// (`sip:sales@host`) or a bare name or number.
    pub fn transfer_target(&self, target: &str) -> Result<Transfer, String> {
        let uri = target.trim();
        let without_scheme = uri
            .strip_prefix("sip:")
            .or_else(|| uri.strip_prefix("sips:"))
            .or_else(|| uri.strip_prefix("tel:"))
            .unwrap_or(uri);
        let user = without_scheme
            .split(['@', ';'])
            .next()
            .unwrap_or_default()
            .trim();
        if user.is_empty() {
            return Err("the transfer names no queue or number".into());
        }
        if self.queues.contains_key(user) {
            return Ok(Transfer::Queue(user.to_string()));
        }
        let digits = user.strip_prefix('+').unwrap_or(user);
        let number = (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit());
        match (number, self.trunks.is_empty()) {
            (true, false) => Ok(Transfer::Number(user.to_string())),
            (true, true) => Err("no trunk is configured to transfer to a number".into()),
            (false, _) => Err(format!("'{user}' is neither a queue nor a phone number")),
        }
    }

    /// Dials `number` through the first trunk (a transfer to an outside
    /// number); the answered leg, or why not.
    pub(super) async fn dial_out(
        &self,
        engine: &CallEngineShared,
        number: &str,
        cancel: CancellationToken,
    ) -> Result<Party, String> {
        let trunk = self
            .trunks
            .first()
            .ok_or_else(|| "no trunk is configured".to_string())?;
        let request = AgentRing::through_trunk(trunk, number);
        ring(engine, &self.sip, request, cancel, Duration::from_secs(30)).await
    }

    /// [`DeskHandle::dial_out`] as a task of its own, so whoever waits for
    /// it may stop waiting without stranding a ringing or answered call.
    pub(super) fn dial_out_in_background(
        &self,
        number: String,
        cancel: CancellationToken,
    ) -> tokio::task::JoinHandle<Result<Party, String>> {
        let desk = self.clone();
        tokio::spawn(async move {
            let engine = desk
                .engine
                .upgrade()
                .ok_or_else(|| "the engine has stopped".to_string())?;
            desk.dial_out(&engine, &number, cancel).await
        })
    }

    /// False when the desk has stopped (shutdown).
    pub fn send(&self, command: Command) -> bool {
        self.commands.send(command).is_ok()
    }
}

/// What happens at the desk, as it happens (the API's live event stream).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum DeskEvent {
    /// An agent changed state.
    Agent {
        agent: String,
        from: String,
        to: String,
        reason: String,
        detail: Option<String>,
        at: DateTime<Utc>,
    },
    /// The queues' live counts changed (callers waiting, agents in).
    Queues { queues: Vec<QueueView> },
    /// A call left a queue: answered (with its wait and talk), abandoned
    /// (after how long), timed out, called back, ...
    QueueCall {
        call: String,
        queue: Option<String>,
        result: String,
        wait_ms: i64,
        talk_ms: Option<i64>,
        at: DateTime<Utc>,
    },
}

/// What the desk looks like now (for the API and live displays).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeskSnapshot {
    pub agents: Vec<AgentView>,
    pub queues: Vec<QueueView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentView {
    pub id: String,
    pub name: String,
    /// logged_out | available | ringing | on_call | wrap_up | paused
    pub state: String,
    /// The call being offered or talked, or the pause reason.
    pub detail: Option<String>,
    /// A registered phone or an open agent page (and not kept logged out).
    pub registered: bool,
    /// Where the agent is defined: "config" (the config file) or "api".
    pub origin: &'static str,
    pub skills: BTreeMap<String, u8>,
    pub queues: Vec<String>,
    /// Logged out through the API: stays out until the next login.
    pub stays_logged_out: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueView {
    pub name: String,
    pub waiting: usize,
    pub agents_logged_in: usize,
    pub agents_available: usize,
    /// When each of its busy agents (on a call or in wrap-up) became busy.
    #[serde(skip)]
    pub busy_since: Vec<Instant>,
}

/// Agent queues, running.
#[derive(Clone)]
pub struct AgentDesk {
    pub(super) handle: DeskHandle,
    snapshot: Arc<RwLock<DeskSnapshot>>,
    /// Weak: the desk task holds the sender, so streams end when it stops.
    events: tokio::sync::broadcast::WeakSender<DeskEvent>,
    browsers: Arc<BrowserAgents>,
    pub(super) directory: Arc<AgentDirectory>,
    pub(super) store: Store,
    /// The task writing agent events and queue records; done once the desk
    /// has stopped and everything it sent is written.
    writer: Arc<tokio::sync::Mutex<Option<tokio::task::JoinHandle<()>>>>,
}

impl AgentDesk {
    /// Builds the ACD from the config's queues and the directory's agents
    /// and starts the desk task. `kept_logged_out`: agents logged out
    /// through the API before the last stop. Errors name the queue or agent
    /// at fault.
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        engine: &CallEngine,
        sip: Arc<SipServer>,
        registrar: Arc<Registrar>,
        config: &Config,
        directory: Arc<AgentDirectory>,
        kept_logged_out: BTreeSet<String>,
        store: Store,
        shutdown: CancellationToken,
    ) -> Result<AgentDesk, String> {
        let browsers = Arc::new(BrowserAgents::new(config, directory.clone()));
        let queues: BTreeMap<String, QueueSettings> = config
            .all_queues()
            .into_iter()
            .map(|queue| (queue.name.clone(), queue))
            .collect();
        let mut acd = Acd::new(AcdConfig::default());
        for queue in queues.values() {
            acd.add_queue(queue_config(queue)?)
                .map_err(|error| format!("queue '{}': {error}", queue.name))?;
        }
        for agent in directory.all() {
            acd.add_agent(acd_agent(&agent))
                .map_err(|error| format!("agent '{}': {error}", agent.id))?;
        }
        let kept_logged_out: BTreeSet<AgentId> = kept_logged_out
            .into_iter()
            .map(AgentId::from)
            .filter(|agent| acd.agent_state(agent).is_some())
            .collect();
        if !kept_logged_out.is_empty() {
            info!(agents = ?kept_logged_out.iter().map(|agent| agent.0.as_str()).collect::<Vec<_>>(), "agents logged out through the API stay logged out until they log in");
        }
        let (commands, receiver) = mpsc::unbounded_channel();
        let queues = Arc::new(queues);
        let snapshot = Arc::new(RwLock::new(DeskSnapshot::default()));
        let (events, _) = tokio::sync::broadcast::channel(1000);
        let (records, record_receiver) = mpsc::unbounded_channel();
        // Callbacks asked for before a restart go back in their queues.
        let stored = store.clone();
        let restore = (commands.clone(), shutdown.clone());
        tokio::spawn(async move {
            match stored.callbacks_to_restore().await {
                Ok(rows) => {
                    if !rows.is_empty() {
                        info!(
                            count = rows.len(),
                            "callbacks waiting from before the restart"
                        );
                    }
                    for row in rows {
                        schedule_callback(restore.0.clone(), row, restore.1.clone());
                    }
                }
                Err(error) => warn!(%error, "could not read the stored callbacks"),
            }
        });
        let writer = tokio::spawn(write_records(
            store.clone(),
            record_receiver,
            browsers.clone(),
        ));
        let desk_sip = sip.clone();
        let mut desk = Desk {
            acd,
            epoch: Instant::now(),
            engine: engine.shared(),
            sip,
            registrar,
            queues: queues.clone(),
            trunks: config.trunks.clone(),
            directory: directory.clone(),
            callers: HashMap::new(),
            callbacks: HashMap::new(),
            placing: Default::default(),
            offers: HashMap::new(),
            next_offer: 0,
            answered: HashMap::new(),
            registered: BTreeSet::new(),
            kept_logged_out,
            pages_to_close: HashMap::new(),
            browsers: browsers.clone(),
            commands: commands.clone(),
            records,
            snapshot: snapshot.clone(),
            events: events.clone(),
            published_queues: String::new(),
            busy_since: HashMap::new(),
            shutdown,
        };
        // The API may list the agents before the desk's first event.
        desk.publish();
        tokio::spawn(desk.run(receiver).instrument(tracing::info_span!("desk")));
        let handle = DeskHandle {
            commands,
            queues,
            sip: desk_sip,
            trunks: Arc::new(config.trunks.clone()),
            engine: Arc::downgrade(&engine.shared()),
        };
        engine.set_desk(handle.clone());
        browsers.attach_desk(handle.clone());
        Ok(AgentDesk {
            handle,
            snapshot,
            events: events.downgrade(),
            browsers,
            directory,
            store,
            writer: Arc::new(tokio::sync::Mutex::new(Some(writer))),
        })
    }

    /// Waits, at most `limit`, until the desk has stopped (after the
    /// engine's shutdown token) and its agent events, the logouts written
    /// at shutdown among them, are in the database.
    pub async fn stopped(&self, limit: Duration) {
        let Some(writer) = self.writer.lock().await.take() else {
            return;
        };
        if tokio::time::timeout(limit, writer).await.is_err() {
            warn!("agent events still unwritten at shutdown were dropped");
        }
    }

    /// Agent page sessions (the HTTP layer logs agents in here).
    pub fn browsers(&self) -> Arc<BrowserAgents> {
        self.browsers.clone()
    }

    /// Pauses an agent (`Some(reason)`) or makes them available again.
    /// False when the desk has stopped.
    pub fn set_paused(&self, agent: &str, reason: Option<String>) -> bool {
        self.handle.send(Command::Pause {
            agent: agent.to_string(),
            reason,
        })
    }

    /// The desk's events from now on (agent states, queue counts, calls
    /// leaving queues); `None` once the desk has stopped. A receiver that
    /// falls behind by more than 1,000 events is told how many it missed.
    pub fn subscribe(&self) -> Option<tokio::sync::broadcast::Receiver<DeskEvent>> {
        self.events.upgrade().map(|sender| sender.subscribe())
    }

    /// Agents' states and queues' lengths, as of the last change.
    pub fn snapshot(&self) -> DeskSnapshot {
        self.snapshot
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// A queue's wrap-up time, if the queue exists.
    pub fn queue_wrap_up(&self, queue: &str) -> Option<Duration> {
        self.handle
            .queue(queue)
            .map(|settings| Duration::from_secs(settings.wrap_up_secs))
    }

    /// Whether the desk still runs.
    pub fn is_running(&self) -> bool {
        !self.handle.commands.is_closed()
    }
}

/// The ACD's view of an agent.
pub(super) fn acd_agent(account: &AgentAccount) -> AgentConfig {
    let mut cfg = AgentConfig::new(account.id.as_str(), account.name.as_str());
    for (skill, level) in &account.skills {
        cfg = cfg.skill(skill.as_str(), *level);
    }
    for queue in &account.queues {
        cfg = cfg.queue(queue.as_str());
    }
    cfg
}

fn queue_config(queue: &QueueSettings) -> Result<QueueConfig, String> {
    let strategy = match queue.strategy {
        QueueStrategy::LongestIdle => Strategy::LongestIdle,
        QueueStrategy::RoundRobin => Strategy::RoundRobin,
        QueueStrategy::RingAll => Strategy::RingAll,
        QueueStrategy::FewestCalls => Strategy::FewestCalls,
        QueueStrategy::Skills => Strategy::SkillsWithPriority,
    };
    let mut cfg = QueueConfig::new(queue.name.as_str(), strategy)
        .ring_timeout(Duration::from_secs(queue.ring_timeout_secs))
        .wrap_up(Duration::from_secs(queue.wrap_up_secs))
        .pause_on_no_answer(queue.pause_on_no_answer);
    if let Some(max_wait) = queue.max_wait_secs {
        cfg = cfg.overflow_after(
            Duration::from_secs(max_wait),
            queue
                .overflow_target()
                .map_err(|error| format!("queue '{}': {error}", queue.name))?,
        );
    }
    if queue.announce_every_secs > 0 {
        cfg = cfg.announce_every(Duration::from_secs(queue.announce_every_secs));
    }
    if let Some((skill, level)) = queue
        .skill()
        .map_err(|error| format!("queue '{}': {error}", queue.name))?
    {
        cfg = cfg.require_skill(skill, level);
    }
    Ok(cfg)
}

/// A callback waiting for (or being placed with) an agent. Stored in the
/// database until placed (see [`CallbackRow`]).
#[derive(Clone)]
struct CallbackInfo {
    number: String,
    queue: String,
    screen: Vec<(String, String)>,
    priority: u8,
    requested_at: DateTime<Utc>,
    /// Attempts that did not reach the customer.
    attempts: u32,
}

impl CallbackInfo {
    fn row(&self, call: &str, state: &str, next_attempt_at: DateTime<Utc>) -> CallbackRow {
        CallbackRow {
            call: call.to_string(),
            queue: self.queue.clone(),
            number: self.number.clone(),
            screen: self.screen.clone(),
            priority: self.priority,
            requested_at: self.requested_at,
            attempts: self.attempts,
            next_attempt_at,
            state: state.to_string(),
            last_result: None,
            last_call: None,
        }
    }

    fn of_row(row: CallbackRow) -> CallbackInfo {
        CallbackInfo {
            number: row.number,
            queue: row.queue,
            screen: row.screen,
            priority: row.priority,
            requested_at: row.requested_at,
            attempts: row.attempts,
        }
    }
}

/// Puts a stored callback back in its queue at its next attempt's time (at
/// once when that has passed), unless the engine stops first.
fn schedule_callback(
    commands: mpsc::UnboundedSender<Command>,
    row: CallbackRow,
    shutdown: CancellationToken,
) {
    let delay = (row.next_attempt_at - Utc::now())
        .to_std()
        .unwrap_or(Duration::ZERO);
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::time::sleep(delay) => {
                commands.send(Command::RestoreCallback(row)).ok();
            }
            _ = shutdown.cancelled() => {}
        }
    });
}

enum Record {
    AgentEvent(AgentEventRow),
    Entered {
        call: String,
        queue: String,
        at: DateTime<Utc>,
    },
    Connected {
        call: String,
        agent: String,
        at: DateTime<Utc>,
    },
    Left {
        call: String,
        end: QueueCallEnd,
    },
    Disposition(DispositionRow),
    /// A callback asked for (stored until placed).
    Callback(CallbackRow),
    /// A callback's attempt is being placed (its call log id).
    CallbackPlacing {
        call: String,
        attempt: String,
    },
    /// How a callback's attempt went.
    CallbackAttempt {
        call: String,
        attempts: u32,
        state: &'static str,
        next_attempt_at: DateTime<Utc>,
        result: String,
    },
}

/// Writes desk records in order, off the desk task.
async fn write_records(
    store: Store,
    mut records: mpsc::UnboundedReceiver<Record>,
    browsers: Arc<BrowserAgents>,
) {
    while let Some(record) = records.recv().await {
        let result = match &record {
            Record::Disposition(row) => {
                let result = store.record_disposition(row).await;
                if result.is_ok() {
                    info!(agent = %row.agent, call = %row.call, code = %row.code, "disposition stored");
                    browsers.disposition_saved(&row.agent, &row.call);
                }
                result
            }
            Record::AgentEvent(row) => store.record_agent_event(row).await,
            Record::Entered { call, queue, at } => store.queue_call_entered(call, queue, *at).await,
            Record::Connected { call, agent, at } => {
                store.queue_call_connected(call, agent, *at).await
            }
            Record::Left { call, end } => store.queue_call_left(call, end).await,
            Record::Callback(row) => store.save_callback(row).await,
            Record::CallbackPlacing { call, attempt } => {
                store.callback_placing(call, attempt).await
            }
            Record::CallbackAttempt {
                call,
                attempts,
                state,
                next_attempt_at,
                result,
            } => {
                store
                    .callback_attempted(call, *attempts, state, *next_attempt_at, result)
                    .await
            }
        };
        if let Err(error) = result {
            warn!(%error, "could not record a queue or agent event");
        }
    }
}

struct Desk {
    acd: Acd,
    epoch: Instant,
    engine: Arc<CallEngineShared>,
    sip: Arc<SipServer>,
    registrar: Arc<Registrar>,
    queues: Arc<BTreeMap<String, QueueSettings>>,
    trunks: Vec<TrunkConfig>,
    directory: Arc<AgentDirectory>,
    callers: HashMap<CallId, Waiting>,
    callbacks: HashMap<CallId, CallbackInfo>,
    /// Callbacks whose agent answered and whose customer is being dialled
    /// or talked to.
    placing: std::collections::HashSet<CallId>,
    /// Agents' phones being rung, by call and agent.
    offers: HashMap<(CallId, AgentId), (u64, CancellationToken)>,
    next_offer: u64,
    /// An agent's answered leg, between `AgentAnswered` and `Connect`.
    answered: HashMap<CallId, (AgentId, Box<AgentLeg>)>,
    /// Agents with a registered phone or an open page, and not kept out.
    registered: BTreeSet<AgentId>,
    /// Logged out through the API: presence does not log them in.
    kept_logged_out: BTreeSet<AgentId>,
    /// Agent pages to close once their agent is off its call (the agent's
    /// password changed): the session's id, so a page opened since with
    /// the new password stays.
    pages_to_close: HashMap<AgentId, u64>,
    browsers: Arc<BrowserAgents>,
    commands: mpsc::UnboundedSender<Command>,
    records: mpsc::UnboundedSender<Record>,
    snapshot: Arc<RwLock<DeskSnapshot>>,
    /// Live events for the API (no receiver: dropped).
    events: tokio::sync::broadcast::Sender<DeskEvent>,
    /// The queue counts last sent as an event (JSON), to send only changes.
    published_queues: String,
    /// When each agent on a call or in wrap-up became busy (for the
    /// predictive dialer's "free soon" estimate).
    busy_since: HashMap<AgentId, Instant>,
    shutdown: CancellationToken,
}

fn state_name(state: &AgentState) -> &'static str {
    match state {
        AgentState::LoggedOut => "logged_out",
        AgentState::Available { .. } => "available",
        AgentState::Ringing { .. } => "ringing",
        AgentState::OnCall { .. } => "on_call",
        AgentState::WrapUp { .. } => "wrap_up",
        AgentState::Paused { .. } => "paused",
    }
}

fn state_detail(state: &AgentState) -> Option<String> {
    match state {
        AgentState::Ringing { call, .. } | AgentState::OnCall { call } => Some(call.to_string()),
        AgentState::Paused { reason } => Some(reason.clone()),
        _ => None,
    }
}

fn reason_name(reason: ChangeReason) -> &'static str {
    match reason {
        ChangeReason::Login => "login",
        ChangeReason::Logout => "logout",
        ChangeReason::RegistrationLost => "registration_lost",
        ChangeReason::Pause => "pause",
        ChangeReason::Unpause => "unpause",
        ChangeReason::Offered => "offered",
        ChangeReason::CallbackReserved => "callback_reserved",
        ChangeReason::Answered => "answered",
        ChangeReason::NoAnswer => "no_answer",
        ChangeReason::OfferCancelled => "offer_cancelled",
        ChangeReason::CallEnded => "call_ended",
        ChangeReason::WrapUpElapsed => "wrap_up_elapsed",
        ChangeReason::WrapUpDone => "wrap_up_done",
        ChangeReason::Removed => "removed",
    }
}

impl Desk {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn feed(&mut self, event: Event) -> bool {
        let now = self.now();
        match self.acd.handle(event.clone(), now) {
            Ok(()) => true,
            Err(error) => {
                debug!(%error, ?event, "ACD ignored an event");
                false
            }
        }
    }

    async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut reconcile = tokio::time::interval(Duration::from_secs(1));
        reconcile.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let registrar = self.registrar.clone();
        let browsers = self.browsers.clone();
        info!(
            queues = self.queues.len(),
            agents = self.acd.agents().count(),
            "agent desk running"
        );
        loop {
            let deadline = self
                .acd
                .poll_timeout()
                .and_then(|at| self.epoch.checked_add(at))
                .map(tokio::time::Instant::from_std);
            let timer = async {
                match deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => self.on_command(command),
                    None => break,
                },
                _ = registrar.changed() => self.reconcile_registrations(),
                _ = browsers.changed() => self.reconcile_registrations(),
                _ = reconcile.tick() => self.reconcile_registrations(),
                _ = timer => {
                    let now = self.now();
                    self.acd.handle_timeout(now);
                }
                _ = self.shutdown.cancelled() => break,
            }
            self.settle();
        }
        for (_, token) in self.offers.values() {
            token.cancel();
        }
        self.take_last_words(&mut commands).await;
        self.log_everyone_out();
        info!("agent desk stopped");
    }

    /// The engine stops, and so do the calls in queues and with agents: each
    /// says how it left (its queue row's result) as it ends. Take those for
    /// a moment, without placing anything new, so no row is left open.
    async fn take_last_words(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) {
        let grace = tokio::time::sleep(Duration::from_secs(3));
        tokio::pin!(grace);
        while self
            .acd
            .call_ids()
            .any(|call| !self.callbacks.contains_key(call) || self.placing.contains(call))
        {
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command @ Command::Left { .. }) => self.on_command(command),
                    Some(_) => {}
                    None => break,
                },
                _ = &mut grace => {
                    warn!("calls still in queues did not say how they ended; their queue rows stay open");
                    break;
                }
            }
        }
    }

    /// The engine stops: a logout event for every logged-in agent, so time
    /// per state ends here rather than at the next start. An agent logged
    /// out through the API whose logout waited for its call keeps reason
    /// "logout", so it stays logged out after the restart.
    fn log_everyone_out(&self) {
        let at = Utc::now();
        let mut count = 0;
        for (agent, state) in self.acd.agents().filter(|(_, state)| state.is_logged_in()) {
            let reason = if self.kept_logged_out.contains(agent) {
                "logout"
            } else {
                "shutdown"
            };
            self.records
                .send(Record::AgentEvent(AgentEventRow {
                    agent: agent.to_string(),
                    at,
                    from_state: state_name(state).into(),
                    to_state: state_name(&AgentState::LoggedOut).into(),
                    reason: reason.into(),
                    detail: None,
                }))
                .ok();
            count += 1;
        }
        if count > 0 {
            info!(
                agents = count,
                "logged-in agents logged out for the shutdown"
            );
        }
    }

    /// Logs agents in and out as their phones' registrations and their
    /// agent pages come and go.
    fn reconcile_registrations(&mut self) {
        let live: BTreeSet<AgentId> = self
            .present()
            .into_iter()
            .filter(|agent| !self.kept_logged_out.contains(agent))
            .collect();
        let arrived: Vec<AgentId> = live.difference(&self.registered).cloned().collect();
        let gone: Vec<AgentId> = self.registered.difference(&live).cloned().collect();
        self.registered = live;
        for agent in arrived {
            info!(agent = %agent, "agent phone registered or page opened: logging in");
            self.feed(Event::AgentLogin { agent });
        }
        for agent in gone {
            info!(agent = %agent, "agent phone registration or page gone: logging out");
            self.feed(Event::AgentRegistrationLost { agent });
        }
    }

    /// Carries out what the ACD decided and publishes the new state.
    fn settle(&mut self) {
        self.perform_actions();
        self.note_busy_agents();
        self.publish();
    }

    /// Agents of the ACD with a registered phone or an open page.
    fn present(&self) -> BTreeSet<AgentId> {
        let mut present: BTreeSet<String> = self.browsers.logged_in();
        present.extend(
            self.registrar
                .bindings()
                .into_iter()
                .map(|(agent, _)| agent),
        );
        present
            .into_iter()
            .map(|agent| AgentId::from(agent.as_str()))
            .filter(|agent| self.acd.agent_state(agent).is_some())
            .collect()
    }

    fn presence(&self, agent: &AgentId) -> Presence {
        let state = self.acd.agent_state(agent);
        Presence {
            agent: agent.to_string(),
            state: state.map_or("logged_out", state_name).into(),
            reachable: self.present().contains(agent),
            stays_logged_out: self.kept_logged_out.contains(agent),
            logout_after_call: self.kept_logged_out.contains(agent)
                && state.is_some_and(AgentState::is_logged_in),
        }
    }

    /// A deleted agent has left the ACD: drop its phone binding, close its
    /// page, and free its id.
    fn agent_gone(&mut self, agent: &AgentId) {
        self.registrar.remove_binding(&agent.0);
        self.browsers.forget_agent(&agent.0);
        self.directory.forget(&agent.0);
        self.registered.remove(agent);
        self.kept_logged_out.remove(agent);
        self.pages_to_close.remove(agent);
        self.busy_since.remove(agent);
        info!(agent = %agent, "deleted agent has left");
    }

    /// The agent's password changed: what the old one opened closes, as
    /// for a deleted agent. The phone's binding goes now (a call in
    /// progress is its own dialog and goes on); the page, which carries the
    /// agent's call audio, closes now or when the agent's call ends (an
    /// offer ringing there is withdrawn with it).
    fn password_changed(&mut self, agent: &AgentId) {
        self.registrar.remove_binding(&agent.0);
        let Some(session) = self.browsers.session(&agent.0) else {
            return;
        };
        let on_a_call = matches!(self.acd.agent_state(agent), Some(AgentState::OnCall { .. }));
        if on_a_call {
            info!(agent = %agent, "password changed: the agent page closes when the call ends");
            self.pages_to_close.insert(agent.clone(), session.id);
        } else {
            self.browsers
                .close_session_if(&agent.0, session.id, PASSWORD_CHANGED);
        }
    }

    /// Agents added, changed or deleted, and logins and logouts, through
    /// the API or the agent page.
    fn on_agent_command(&mut self, command: Command) {
        match command {
            Command::AgentAdded { account, reply } => {
                let id = AgentId::from(account.id.as_str());
                // A new agent, even with a deleted one's id: no logout made
                // through the API holds it.
                self.kept_logged_out.remove(&id);
                let added = self.acd.add_agent(acd_agent(&account));
                match &added {
                    Ok(()) => {
                        info!(agent = %id, "agent added");
                        self.reconcile_registrations();
                    }
                    Err(error) => warn!(agent = %id, %error, "agent could not be added"),
                }
                self.settle();
                reply.send(added).ok();
            }
            Command::AgentChanged {
                account,
                password_changed,
                reply,
            } => {
                let now = self.now();
                let changed = self.acd.update_agent(acd_agent(&account), now);
                match &changed {
                    Ok(()) if password_changed => {
                        self.password_changed(&AgentId::from(account.id.as_str()))
                    }
                    Ok(()) => {}
                    Err(error) => warn!(agent = %account.id, %error, "agent could not be changed"),
                }
                self.settle();
                reply.send(changed).ok();
            }
            Command::AgentDeleted { agent, reply } => {
                let id = AgentId::from(agent.as_str());
                let now = self.now();
                let at_once = match self.acd.remove_agent(&id, now) {
                    Ok(true) => {
                        self.agent_gone(&id);
                        true
                    }
                    Ok(false) => {
                        // On a call: the phone may not register again, the
                        // page stays until the call ends.
                        info!(agent = %agent, "deleted agent leaves after the call in progress");
                        self.registrar.remove_binding(&agent);
                        false
                    }
                    Err(error) => {
                        debug!(agent = %agent, %error, "deleted agent was not in the ACD");
                        self.agent_gone(&id);
                        true
                    }
                };
                self.settle();
                reply.send(at_once).ok();
            }
            Command::Login { agent, reply } => {
                let id = AgentId::from(agent.as_str());
                if self.acd.agent_state(&id).is_none() {
                    // Deleted since the API looked it up.
                    reply.send(None).ok();
                    return;
                }
                if self.kept_logged_out.remove(&id) {
                    info!(agent = %agent, "agent logged in through the API");
                }
                self.reconcile_registrations();
                self.settle();
                reply.send(Some(self.presence(&id))).ok();
            }
            Command::Logout { agent, reply } => {
                let id = AgentId::from(agent.as_str());
                if self.acd.agent_state(&id).is_none() {
                    // Deleted since the API looked it up: holding its id
                    // logged out would keep out a new agent given that id.
                    reply.send(None).ok();
                    return;
                }
                info!(agent = %agent, "agent logged out through the API");
                self.kept_logged_out.insert(id.clone());
                self.registered.remove(&id);
                if self
                    .acd
                    .agent_state(&id)
                    .is_some_and(AgentState::is_logged_in)
                {
                    self.feed(Event::AgentLogout { agent: id.clone() });
                }
                if !self
                    .acd
                    .agent_state(&id)
                    .is_some_and(AgentState::is_logged_in)
                {
                    // Logged out now (else the page closes when the call ends).
                    self.browsers.close_session(&agent, LOGGED_OUT_BY_API);
                }
                self.settle();
                reply.send(Some(self.presence(&id))).ok();
            }
            Command::PageLogin { agent } => {
                let id = AgentId::from(agent.as_str());
                if self.kept_logged_out.remove(&id) {
                    info!(agent = %agent, "agent logged in on the agent page after a logout through the API");
                }
                self.reconcile_registrations();
            }
            // Taken by `on_command`.
            _ => {}
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            agent_command @ (Command::AgentAdded { .. }
            | Command::AgentChanged { .. }
            | Command::AgentDeleted { .. }
            | Command::Login { .. }
            | Command::Logout { .. }
            | Command::PageLogin { .. }) => self.on_agent_command(agent_command),
            Command::Enqueue {
                call,
                queue,
                priority,
                callback: true,
                caller,
            } => {
                // Taken even while nobody is logged in: it waits for an agent.
                let call_id = CallId::from(call.as_str());
                let info = CallInfo::new(call_id.clone(), queue.as_str())
                    .priority(priority)
                    .callback();
                if self.queues.contains_key(&queue) && self.feed(Event::CallEnqueued(info)) {
                    info!(call = %call, queue = %queue, number = %Masked(&caller.caller_number), "callback queued");
                    let mut screen = caller.screen;
                    screen.push(("X-Switchboard-Callback".into(), "yes".into()));
                    self.keep_callback(
                        call_id,
                        CallbackInfo {
                            number: caller.caller_number,
                            queue,
                            screen,
                            priority,
                            requested_at: Utc::now(),
                            attempts: 0,
                        },
                    );
                } else {
                    warn!(call = %call, queue = %queue, "callback could not be queued");
                }
            }
            Command::Enqueue {
                call,
                queue,
                priority,
                callback: false,
                caller,
            } => {
                let call_id = CallId::from(call.as_str());
                let staffed = self.acd.agents().any(|(agent, state)| {
                    state.is_logged_in()
                        && !matches!(state, AgentState::Paused { .. })
                        && self.acd.serves(agent, &queue)
                });
                if !self.queues.contains_key(&queue) {
                    caller
                        .notices
                        .send(Notice::Unavailable(format!("no queue is named '{queue}'")))
                        .ok();
                    return;
                }
                self.records
                    .send(Record::Entered {
                        call: call.clone(),
                        queue: queue.clone(),
                        at: caller.entered_at,
                    })
                    .ok();
                if !staffed {
                    caller
                        .notices
                        .send(Notice::Unavailable("no agent is logged in".into()))
                        .ok();
                    return;
                }
                info!(call = %call, queue = %queue, priority, "call queued");
                self.callers.insert(call_id.clone(), caller);
                let info = CallInfo::new(call_id.clone(), queue.as_str()).priority(priority);
                if !self.feed(Event::CallEnqueued(info)) {
                    if let Some(caller) = self.callers.remove(&call_id) {
                        caller
                            .notices
                            .send(Notice::Unavailable("the queue refused the call".into()))
                            .ok();
                    }
                }
            }
            Command::Left { call, end } => {
                let call_id = CallId::from(call.as_str());
                self.events
                    .send(DeskEvent::QueueCall {
                        call: call.clone(),
                        queue: self.acd.call_status(&call_id).map(|status| status.queue),
                        result: end.result.clone(),
                        wait_ms: end.wait_ms,
                        talk_ms: end.talk_ms,
                        at: end.left_at,
                    })
                    .ok();
                self.callers.remove(&call_id);
                if let Some(callback) = self.callbacks.remove(&call_id) {
                    self.callback_attempted(&call, callback, &end.result);
                }
                self.placing.remove(&call_id);
                let event = if end.result == "answered" || end.result == "callback_answered" {
                    Event::CallEnded {
                        call: call_id.clone(),
                    }
                } else {
                    Event::CallAbandoned {
                        call: call_id.clone(),
                    }
                };
                self.feed(event);
                self.records.send(Record::Left { call, end }).ok();
            }
            Command::Callback { call, number } => {
                let call_id = CallId::from(call.as_str());
                let Some(caller) = self.callers.remove(&call_id) else {
                    return;
                };
                let (queue, priority) = self
                    .acd
                    .call_status(&call_id)
                    .map(|status| (status.queue, status.priority))
                    .unwrap_or_default();
                if self.feed(Event::CallbackRequested {
                    call: call_id.clone(),
                }) {
                    self.records
                        .send(Record::Left {
                            call: call.clone(),
                            end: QueueCallEnd {
                                left_at: Utc::now(),
                                result: "callback_requested".into(),
                                wait_ms: (Utc::now() - caller.entered_at).num_milliseconds(),
                                talk_ms: None,
                                recording: None,
                            },
                        })
                        .ok();
                    info!(call = %call, number = %Masked(&number), "callback requested; the call keeps its place");
                    let mut screen = caller.screen;
                    screen.push(("X-Switchboard-Callback".into(), "yes".into()));
                    self.keep_callback(
                        call_id,
                        CallbackInfo {
                            number,
                            queue,
                            screen,
                            priority,
                            requested_at: Utc::now(),
                            attempts: 0,
                        },
                    );
                }
            }
            Command::CallbackPlacing { call, attempt } => {
                self.records
                    .send(Record::CallbackPlacing { call, attempt })
                    .ok();
            }
            Command::RestoreCallback(row) => {
                let call_id = CallId::from(row.call.as_str());
                if self.callbacks.contains_key(&call_id) {
                    return;
                }
                let info = CallInfo::new(call_id.clone(), row.queue.as_str())
                    .priority(row.priority)
                    .callback();
                if self.queues.contains_key(&row.queue) && self.feed(Event::CallEnqueued(info)) {
                    info!(call = %row.call, queue = %row.queue, number = %Masked(&row.number), attempts = row.attempts, "stored callback back in its queue");
                    let link = super::queue_wait::call_link(&self.engine, &row.call);
                    let mut info = CallbackInfo::of_row(row);
                    // The link names this run's API, which may have moved.
                    info.screen.retain(|(name, _)| name != "Call-Info");
                    info.screen.extend(link);
                    self.callbacks.insert(call_id, info);
                } else {
                    warn!(call = %row.call, queue = %row.queue, "stored callback's queue no longer exists; giving it up");
                    self.records
                        .send(Record::CallbackAttempt {
                            call: row.call,
                            attempts: row.attempts,
                            state: "failed",
                            next_attempt_at: Utc::now(),
                            result: format!("no queue is named '{}'", row.queue),
                        })
                        .ok();
                }
            }
            Command::CallbackAnswered {
                call,
                agent,
                serial,
                reply,
            } => {
                let withdrawn = self.take_offer(&call, &agent, serial);
                let accepted = !withdrawn && {
                    self.placing.insert(call.clone());
                    self.feed(Event::AgentAnswered {
                        agent,
                        call: call.clone(),
                    })
                };
                if !accepted {
                    self.placing.remove(&call);
                }
                reply.send(accepted).ok();
            }
            Command::OfferResult {
                call,
                agent,
                serial,
                result,
            } => {
                let withdrawn = self.take_offer(&call, &agent, serial);
                match result {
                    Ok(party) => {
                        if withdrawn {
                            party.hang_up_later("offer_withdrawn");
                            return;
                        }
                        self.answered.insert(call.clone(), (agent.clone(), party));
                        let accepted = self.feed(Event::AgentAnswered {
                            agent: agent.clone(),
                            call: call.clone(),
                        });
                        if !accepted {
                            if let Some((_, party)) = self.answered.remove(&call) {
                                party.hang_up_later("offer_withdrawn");
                            }
                        }
                    }
                    Err(reason) => {
                        if !withdrawn {
                            info!(agent = %agent, call = %call, %reason, "agent did not answer");
                            self.feed(Event::AgentRejectedOrNoAnswer { agent, call });
                        }
                    }
                }
            }
            Command::Pause { agent, reason } => {
                let id = AgentId::from(agent.as_str());
                let state = self.acd.agent_state(&id).cloned();
                let accepted = match (reason, state) {
                    (Some(reason), _) => {
                        info!(agent = %agent, %reason, "agent pauses");
                        self.feed(Event::AgentPause { agent: id, reason })
                    }
                    (None, Some(AgentState::WrapUp { .. })) => {
                        self.feed(Event::WrapUpDone { agent: id })
                    }
                    (None, _) => self.feed(Event::AgentUnpause { agent: id }),
                };
                if !accepted {
                    debug!(agent = %agent, "pause or resume not taken in this state");
                }
            }
            Command::Disposition {
                agent,
                call,
                code,
                notes,
            } => {
                let latest_call = call.clone();
                self.records
                    .send(Record::Disposition(DispositionRow {
                        call,
                        agent: agent.clone(),
                        at: Utc::now(),
                        code,
                        notes,
                    }))
                    .ok();
                // Only the disposition of the call just finished ends wrap-up.
                let id = AgentId::from(agent.as_str());
                if matches!(self.acd.agent_state(&id), Some(AgentState::WrapUp { .. }))
                    && self.browsers.is_latest_call(&agent, &latest_call)
                {
                    self.feed(Event::WrapUpDone { agent: id });
                }
            }
        }
    }

    /// Forgets the offer `serial` of `agent` for `call`; true when it was
    /// withdrawn (cancelled, or replaced by a newer offer).
    fn take_offer(&mut self, call: &CallId, agent: &AgentId, serial: u64) -> bool {
        let key = (call.clone(), agent.clone());
        match self.offers.get(&key) {
            Some((current, token)) if *current == serial => {
                let cancelled = token.is_cancelled();
                self.offers.remove(&key);
                cancelled
            }
            _ => true,
        }
    }

    /// Registers a new offer; returns its serial and cancel token.
    fn new_offer(&mut self, call: &CallId, agent: &AgentId) -> (u64, CancellationToken) {
        self.next_offer += 1;
        let token = self.shutdown.child_token();
        if let Some((_, previous)) = self.offers.insert(
            (call.clone(), agent.clone()),
            (self.next_offer, token.clone()),
        ) {
            previous.cancel();
        }
        (self.next_offer, token)
    }

    fn perform_actions(&mut self) {
        // Bounded: the ACD emits a handful of actions per event.
        for _ in 0..10_000 {
            let Some(action) = self.acd.poll_action() else {
                return;
            };
            match action {
                Action::OfferCall { call, agents } => {
                    for agent in agents {
                        self.ring(call.clone(), agent);
                    }
                }
                Action::CancelOffer { call, agents } => {
                    for agent in agents {
                        if let Some((_, token)) = self.offers.get(&(call.clone(), agent)) {
                            token.cancel();
                        }
                    }
                }
                Action::Connect { call, agent } => self.connect(call, agent),
                Action::AnnouncePosition {
                    call,
                    position,
                    estimated_wait,
                } => {
                    if let Some(caller) = self.callers.get(&call) {
                        caller
                            .notices
                            .send(Notice::Position {
                                position,
                                estimated_wait,
                            })
                            .ok();
                    }
                }
                Action::Overflow { call, to } => {
                    let moved = match &to {
                        OverflowTarget::Queue(name) => self
                            .acd
                            .call_status(&call)
                            .is_some_and(|status| &status.queue == name),
                        _ => false,
                    };
                    info!(call = %call, ?to, moved, "call waited too long");
                    if moved {
                        if let (Some(caller), OverflowTarget::Queue(name)) =
                            (self.callers.get(&call), &to)
                        {
                            caller.notices.send(Notice::MovedTo(name.clone())).ok();
                        }
                    } else if let Some(caller) = self.callers.remove(&call) {
                        caller.notices.send(Notice::Overflow(to)).ok();
                    }
                }
                Action::PlaceCallback { call, agent } => self.place_callback(call, agent),
                Action::AgentStateChanged {
                    agent,
                    from,
                    to,
                    reason,
                } => {
                    info!(
                        agent = %agent,
                        from = state_name(&from),
                        to = state_name(&to),
                        reason = reason_name(reason),
                        "agent state"
                    );
                    self.browsers
                        .push_state(&agent.0, state_name(&to), state_detail(&to));
                    let at = Utc::now();
                    self.events
                        .send(DeskEvent::Agent {
                            agent: agent.to_string(),
                            from: state_name(&from).into(),
                            to: state_name(&to).into(),
                            reason: reason_name(reason).into(),
                            detail: state_detail(&to),
                            at,
                        })
                        .ok();
                    self.records
                        .send(Record::AgentEvent(AgentEventRow {
                            agent: agent.to_string(),
                            at,
                            from_state: state_name(&from).into(),
                            to_state: state_name(&to).into(),
                            reason: reason_name(reason).into(),
                            detail: state_detail(&to),
                        }))
                        .ok();
                    // A logout through the API that waited for the end of a
                    // call has taken effect: now the page may close.
                    if to == AgentState::LoggedOut
                        && reason == ChangeReason::Logout
                        && self.kept_logged_out.contains(&agent)
                    {
                        self.browsers.close_session(&agent.0, LOGGED_OUT_BY_API);
                    }
                    // A page kept for the call after a password change.
                    if !matches!(to, AgentState::OnCall { .. }) {
                        if let Some(session) = self.pages_to_close.remove(&agent) {
                            self.browsers
                                .close_session_if(&agent.0, session, PASSWORD_CHANGED);
                        }
                    }
                }
                Action::AgentRemoved { agent } => self.agent_gone(&agent),
            }
        }
        warn!("the ACD produced too many actions at once");
    }

    /// Rings one agent's phone with a waiting caller.
    fn ring(&mut self, call: CallId, agent: AgentId) {
        let Some(caller) = self.callers.get(&call) else {
            // A callback offer is placed by `place_callback`.
            return;
        };
        let caller_id = caller.caller_number.clone();
        let headers = caller.screen.clone();
        let Some(target) = self.agent_target(&agent) else {
            // The binding expired (or the page closed) between reconciliations.
            self.registered.remove(&agent);
            self.feed(Event::AgentRegistrationLost { agent });
            return;
        };
        let (serial, token) = self.new_offer(&call, &agent);
        let engine = self.engine.clone();
        let sip = self.sip.clone();
        let browsers = self.browsers.clone();
        let commands = self.commands.clone();
        info!(agent = %agent, call = %call, on = target.kind(), "ringing agent");
        tokio::spawn(
            async move {
                let offer = AgentOffer {
                    agent: agent.clone(),
                    call: call.clone(),
                    caller_id,
                    headers,
                };
                let result = ring_agent(&engine, &sip, browsers, target, offer, token)
                    .await
                    .map(Box::new);
                commands
                    .send(Command::OfferResult {
                        call,
                        agent,
                        serial,
                        result,
                    })
                    .ok();
            }
            .in_current_span(),
        );
    }

    fn record_connected(&self, call: &CallId, agent: &AgentId) {
        self.records
            .send(Record::Connected {
                call: call.to_string(),
                agent: agent.to_string(),
                at: Utc::now(),
            })
            .ok();
    }

    fn connect(&mut self, call: CallId, agent: AgentId) {
        if self.placing.contains(&call) {
            // A callback: its task dials the customer and bridges.
            self.record_connected(&call, &agent);
            return;
        }
        let Some((answered_by, party)) = self.answered.remove(&call) else {
            warn!(call = %call, agent = %agent, "connect without an answered leg");
            self.feed(Event::CallEnded { call });
            return;
        };
        if answered_by != agent {
            warn!(call = %call, "connect names another agent than the one who answered");
        }
        self.record_connected(&call, &agent);
        if matches!(*party, AgentLeg::Browser(_)) {
            self.browsers.connected(&agent.0, &call.0);
        }
        let Some(caller) = self.callers.remove(&call) else {
            party.hang_up_later("caller_gone");
            self.feed(Event::CallEnded { call });
            return;
        };
        info!(call = %call, agent = %agent, "connecting caller and agent");
        if let Err(mpsc::error::SendError(notice)) = caller.notices.send(Notice::Connect {
            agent: agent.to_string(),
            party,
        }) {
            // The caller's task is gone (hung up this very moment).
            if let Notice::Connect { party, .. } = notice {
                party.hang_up_later("caller_gone");
            }
            self.feed(Event::CallEnded { call });
        }
    }

    /// Holds a new callback and stores it, so a restart does not lose it.
    fn keep_callback(&mut self, call: CallId, info: CallbackInfo) {
        self.records
            .send(Record::Callback(info.row(
                &call.0,
                "waiting",
                info.requested_at,
            )))
            .ok();
        self.callbacks.insert(call, info);
    }

    /// A callback attempt is over: done when the customer talked to the
    /// agent; otherwise tried again after the queue's retry delay, up to its
    /// attempts.
    fn callback_attempted(&mut self, call: &str, mut info: CallbackInfo, result: &str) {
        if result == "callback_answered" {
            self.records
                .send(Record::CallbackAttempt {
                    call: call.to_string(),
                    attempts: info.attempts,
                    state: "completed",
                    next_attempt_at: Utc::now(),
                    result: result.to_string(),
                })
                .ok();
            return;
        }
        let (limit, retry) = self.queues.get(&info.queue).map_or((1, 0), |queue| {
            (queue.callback_attempts, queue.callback_retry_secs)
        });
        // Interrupted (the agent hung up first, or the engine stopped): the
        // customer was not called, so the attempt does not count and the
        // callback goes back at once.
        let retry = if result == "callback_interrupted" {
            0
        } else {
            info.attempts += 1;
            retry
        };
        if info.attempts >= limit {
            warn!(call, number = %Masked(&info.number), attempts = info.attempts, "callback given up: the customer was not reached");
            self.records
                .send(Record::CallbackAttempt {
                    call: call.to_string(),
                    attempts: info.attempts,
                    state: "failed",
                    next_attempt_at: Utc::now(),
                    result: result.to_string(),
                })
                .ok();
            return;
        }
        let next = Utc::now() + chrono::Duration::seconds(retry as i64);
        info!(call, number = %Masked(&info.number), attempts = info.attempts, retry_in_s = retry, "callback not connected; trying again later");
        self.records
            .send(Record::CallbackAttempt {
                call: call.to_string(),
                attempts: info.attempts,
                state: "waiting",
                next_attempt_at: next,
                result: result.to_string(),
            })
            .ok();
        schedule_callback(
            self.commands.clone(),
            info.row(call, "waiting", next),
            self.shutdown.clone(),
        );
    }

    /// A callback's turn: ring the reserved agent, then the customer, and
    /// bridge them. The agent counts as on the call from its answer.
    fn place_callback(&mut self, call: CallId, agent: AgentId) {
        let Some(info) = self.callbacks.get(&call).cloned() else {
            self.feed(Event::CallAbandoned { call });
            return;
        };
        let target = self.agent_target(&agent);
        let queue = self.queues.get(&info.queue).cloned();
        let trunk = queue
            .as_ref()
            .and_then(|queue| queue.callback_trunk.clone())
            .and_then(|name| self.trunks.iter().find(|trunk| trunk.name == name).cloned())
            .or_else(|| self.trunks.first().cloned());
        let Some(target) = target else {
            // The binding expired between reconciliations: route again.
            self.registered.remove(&agent);
            self.feed(Event::AgentRegistrationLost { agent });
            return;
        };
        let Some(trunk) = trunk else {
            warn!(call = %call, "callback cannot be placed: no agent contact or no trunk configured");
            if let Some(callback) = self.callbacks.remove(&call) {
                self.records
                    .send(Record::CallbackAttempt {
                        call: call.to_string(),
                        attempts: callback.attempts,
                        state: "failed",
                        next_attempt_at: Utc::now(),
                        result: "no trunk is configured".into(),
                    })
                    .ok();
            }
            self.feed(Event::CallAbandoned { call: call.clone() });
            self.records
                .send(Record::Left {
                    call: call.to_string(),
                    end: QueueCallEnd {
                        left_at: Utc::now(),
                        result: "callback_failed".into(),
                        wait_ms: 0,
                        talk_ms: None,
                        recording: None,
                    },
                })
                .ok();
            return;
        };
        let (serial, token) = self.new_offer(&call, &agent);
        let engine = self.engine.clone();
        let sip = self.sip.clone();
        let browsers = self.browsers.clone();
        let commands = self.commands.clone();
        let record = queue.as_ref().is_some_and(|queue| queue.record);
        let music_name = queue
            .as_ref()
            .map_or_else(|| "hold_music".to_string(), |queue| queue.music.clone());
        info!(call = %call, agent = %agent, number = %Masked(&info.number), on = target.kind(), "placing callback: ringing the agent first");
        tokio::spawn(
            async move {
                let offer = AgentOffer {
                    agent: agent.clone(),
                    call: call.clone(),
                    caller_id: info.number.clone(),
                    headers: info.screen.clone(),
                };
                let agent_party =
                    ring_agent(&engine, &sip, browsers, target, offer, token.clone()).await;
                let agent_party = match agent_party {
                    Ok(party) => party,
                    Err(reason) => {
                        commands
                            .send(Command::OfferResult {
                                call,
                                agent,
                                serial,
                                result: Err(reason),
                            })
                            .ok();
                        return;
                    }
                };
                run_callback(
                    engine,
                    sip,
                    commands,
                    (call, agent, serial),
                    agent_party,
                    info,
                    trunk,
                    (record, music_name),
                    token,
                )
                .await;
            }
            .in_current_span(),
        );
    }

    /// Where `agent` takes calls: the agent page when it is open, else the
    /// registered phone.
    fn agent_target(&self, agent: &AgentId) -> Option<AgentTarget> {
        if let Some(session) = self.browsers.session(&agent.0) {
            return Some(AgentTarget::Page(session));
        }
        self.registrar.contact_of(&agent.0).map(AgentTarget::Phone)
    }

    fn note_busy_agents(&mut self) {
        let now = Instant::now();
        let busy: Vec<AgentId> = self
            .acd
            .agents()
            .filter(|(_, state)| {
                matches!(state, AgentState::OnCall { .. } | AgentState::WrapUp { .. })
            })
            .map(|(agent, _)| agent.clone())
            .collect();
        self.busy_since.retain(|agent, _| busy.contains(agent));
        for agent in busy {
            self.busy_since.entry(agent).or_insert(now);
        }
    }

    fn publish(&mut self) {
        let agents = self
            .acd
            .agents()
            .map(|(id, state)| {
                let account = self.directory.get(&id.0);
                AgentView {
                    id: id.to_string(),
                    name: account
                        .as_ref()
                        .map(|account| account.name.clone())
                        .unwrap_or_default(),
                    state: state_name(state).into(),
                    detail: state_detail(state),
                    registered: self.registered.contains(id),
                    origin: account
                        .as_ref()
                        .map_or("api", |account| account.origin.name()),
                    skills: account
                        .as_ref()
                        .map(|account| account.skills.clone())
                        .unwrap_or_default(),
                    queues: account.map(|account| account.queues).unwrap_or_default(),
                    stays_logged_out: self.kept_logged_out.contains(id),
                }
            })
            .collect::<Vec<_>>();
        let queues: Vec<QueueView> = self
            .queues
            .keys()
            .map(|name| {
                let members: Vec<&AgentState> = self
                    .acd
                    .agents()
                    .filter(|(agent, _)| self.acd.serves(agent, name))
                    .map(|(_, state)| state)
                    .collect();
                QueueView {
                    busy_since: self
                        .acd
                        .agents()
                        .filter(|(agent, _)| self.acd.serves(agent, name))
                        .filter_map(|(agent, _)| self.busy_since.get(agent).copied())
                        .collect(),
                    name: name.clone(),
                    waiting: self.acd.waiting_calls(name).len(),
                    agents_logged_in: members.iter().filter(|s| s.is_logged_in()).count(),
                    agents_available: members
                        .iter()
                        .filter(|s| matches!(s, AgentState::Available { .. }))
                        .count(),
                }
            })
            .collect();
        let counts = serde_json::to_string(&queues).unwrap_or_default();
        if counts != self.published_queues {
            self.events
                .send(DeskEvent::Queues {
                    queues: queues.clone(),
                })
                .ok();
            self.published_queues = counts;
        }
        *self
            .snapshot
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = DeskSnapshot { agents, queues };
    }
}

/// The agent answered a callback: the ACD connects them, then the customer
/// is dialled through the trunk and the two are bridged.
#[allow(clippy::too_many_arguments)]
async fn run_callback(
    engine: Arc<CallEngineShared>,
    sip: Arc<SipServer>,
    commands: mpsc::UnboundedSender<Command>,
    (call, agent, serial): (CallId, AgentId, u64),
    mut agent_party: AgentLeg,
    info: CallbackInfo,
    trunk: TrunkConfig,
    (record, music_name): (bool, String),
    token: CancellationToken,
) {
    // The agent is on the call from its answer: the ACD says so before the
    // customer is dialled.
    let (reply, accepted) = tokio::sync::oneshot::channel();
    commands
        .send(Command::CallbackAnswered {
            call: call.clone(),
            agent: agent.clone(),
            serial,
            reply,
        })
        .ok();
    if !accepted.await.unwrap_or(false) {
        agent_party.hang_up_later("offer_withdrawn");
        return;
    }
    if let AgentLeg::Browser(page) = &agent_party {
        page.agents.connected(&page.agent, &page.call);
    }
    let id = super::new_call_id();
    let started_at = Utc::now();
    engine.call_log.call_started(NewCall {
        id: id.clone(),
        sip_call_id: format!("{id}@switchboard"),
        direction: "callback",
        caller: trunk_caller_id(&trunk),
        called: info.number.clone(),
        dialplan: None,
        started_at,
    });
    // Stored, so that after a crash the next start knows whether this
    // attempt reached the customer (and does not call them twice).
    commands
        .send(Command::CallbackPlacing {
            call: call.to_string(),
            attempt: id.clone(),
        })
        .ok();
    let customer = AgentRing::through_trunk(&trunk, &info.number);
    // The agent may hang up while the customer rings: then stop ringing.
    let ringing = ring(
        &engine,
        &sip,
        customer,
        token.clone(),
        Duration::from_secs(30),
    );
    tokio::pin!(ringing);
    let mut agent_gone = false;
    let result = loop {
        tokio::select! {
            result = &mut ringing => break result,
            _ = bridge::agent_left(&mut agent_party), if !agent_gone => {
                info!(call = %call, "the agent hung up while the customer was being rung");
                agent_gone = true;
                token.cancel();
            }
        }
    };
    let result = match result {
        Ok(customer) if agent_gone => {
            hang_up_later(customer);
            Err("agent_hangup".to_string())
        }
        Err(_) if agent_gone => Err("agent_hangup".to_string()),
        other => other,
    };
    let mut interrupted = false;
    let (end, talk_ms, recording) = match result {
        Ok(mut customer) => {
            let answered_at = Utc::now();
            engine.call_log.call_answered(&id, answered_at);
            let music: Vec<_> = engine
                .prompts
                .get("en", &music_name)
                .ok()
                .into_iter()
                .collect();
            // The agent may transfer the customer: attended to anyone, blind
            // to a number (not blind to a queue: the customer has no place
            // to wait there).
            let talked = match engine.desk.get() {
                Some(desk) => {
                    let options = TalkOptions {
                        desk,
                        id: &id,
                        number: &info.number,
                        screen: &info.screen,
                        music: &music,
                        record,
                        queue_transfers: false,
                        replaceable: false,
                    };
                    let log = |kind: &str, detail: &str| {
                        engine.call_log.event(
                            &id,
                            crate::store::CallEvent {
                                at: Utc::now(),
                                kind: kind.to_string(),
                                node: None,
                                detail: detail.to_string(),
                            },
                        )
                    };
                    talk::talk(
                        &engine,
                        &options,
                        customer.as_mut(),
                        agent.to_string(),
                        agent_party,
                        None,
                        &log,
                    )
                    .await
                }
                None => {
                    agent_party.hang_up("shutdown").await;
                    talk::Talked::Over {
                        hung_up_by: None,
                        cause: "shutdown".into(),
                        agent: agent.to_string(),
                        outside: false,
                        recording: None,
                    }
                }
            };
            let (hangup_by, cause, last_agent, recording) = match talked {
                talk::Talked::Over {
                    hung_up_by,
                    cause,
                    agent,
                    outside,
                    recording,
                } => {
                    let by = match hung_up_by {
                        Some(bridge::Side::Caller) => "callee",
                        Some(bridge::Side::Agent) if outside => "transferee",
                        Some(bridge::Side::Agent) => "agent",
                        None => "system",
                    };
                    (by, cause, agent, recording)
                }
                talk::Talked::TransferFailed { reason, recording } => {
                    // The customer is still on the line: nobody left to talk to.
                    customer.leg.hangup().await.ok();
                    let cause = format!("transfer failed: {reason}");
                    ("system", cause, agent.to_string(), recording)
                }
                // Neither can happen to a callback (no queue transfers, not
                // replaceable); end the customer's leg all the same.
                talk::Talked::ToQueue { .. } | talk::Talked::HandedOver { .. } => {
                    customer.leg.hangup().await.ok();
                    ("system", "transferred".into(), agent.to_string(), None)
                }
            };
            let talk_ms = (Utc::now() - answered_at).num_milliseconds().max(0);
            (
                CallEnd {
                    ended_at: Utc::now(),
                    answered_at: Some(answered_at),
                    hangup_by: hangup_by.into(),
                    hangup_cause: cause,
                    sip_status: Some(200),
                    outcome: Some("callback_completed".into()),
                    variables: BTreeMap::from([("agent".to_string(), last_agent)]),
                    recording_path: recording.clone(),
                    ..CallEnd::default()
                },
                Some(talk_ms),
                recording,
            )
        }
        Err(reason) => {
            // The agent hanging up, or the engine stopping, is not the
            // customer's failure to answer: such an attempt does not count.
            interrupted = reason == "agent_hangup" || engine.shutdown.is_cancelled();
            info!(call = %call, %reason, interrupted, "callback: the customer was not reached");
            agent_party.hang_up("callback_not_answered").await;
            (
                CallEnd {
                    ended_at: Utc::now(),
                    hangup_by: "system".into(),
                    hangup_cause: reason,
                    outcome: Some("callback_not_answered".into()),
                    ..CallEnd::default()
                },
                None,
                None,
            )
        }
    };
    let result = match (talk_ms, interrupted) {
        (Some(_), _) => "callback_answered",
        (None, true) => "callback_interrupted",
        (None, false) => "callback_failed",
    };
    engine.call_log.call_ended(&id, end);
    commands
        .send(Command::Left {
            call: call.to_string(),
            end: QueueCallEnd {
                left_at: Utc::now(),
                result: result.into(),
                wait_ms: 0,
                talk_ms,
                recording,
            },
        })
        .ok();
}

/// Where an agent takes calls.
enum AgentTarget {
    Page(Arc<super::browser_agents::Session>),
    /// The registered contact.
    Phone(String),
}

impl AgentTarget {
    fn kind(&self) -> &'static str {
        match self {
            AgentTarget::Page(_) => "page",
            AgentTarget::Phone(_) => "phone",
        }
    }
}

/// A call offered to an agent.
struct AgentOffer {
    agent: AgentId,
    call: CallId,
    caller_id: String,
    /// The screen pop (SIP headers; the page gets them as fields).
    headers: Vec<(String, String)>,
}

/// Rings an agent's page or phone until answered, `cancel`led, or two
/// minutes (the ACD's ring timeout cancels much sooner).
async fn ring_agent(
    engine: &CallEngineShared,
    sip: &SipServer,
    browsers: Arc<BrowserAgents>,
    target: AgentTarget,
    offer: AgentOffer,
    cancel: CancellationToken,
) -> Result<AgentLeg, String> {
    let limit = Duration::from_secs(120);
    match target {
        AgentTarget::Page(session) => {
            let page_offer =
                PageOffer::from_screen(&offer.call.0, &offer.caller_id, &offer.headers);
            let leg = browsers.ring(session, page_offer, cancel, limit).await?;
            Ok(AgentLeg::Browser(BrowserCall {
                leg,
                agent: offer.agent.0.clone(),
                call: offer.call.0.clone(),
                agents: browsers,
            }))
        }
        AgentTarget::Phone(contact) => {
            let request = AgentRing {
                target: contact,
                caller_id: offer.caller_id,
                headers: offer.headers,
                credential: None,
            };
            ring(engine, sip, request, cancel, limit)
                .await
                .map(|party| AgentLeg::Phone(Box::new(party)))
        }
    }
}

/// An INVITE to place: an agent's phone or, for a callback, the customer.
struct AgentRing {
    target: String,
    caller_id: String,
    headers: Vec<(String, String)>,
    credential: Option<crate::sip::TrunkCredential>,
}

impl AgentRing {
    /// A call to `number` out through `trunk` (a callback's customer, a
    /// transfer to a number).
    fn through_trunk(trunk: &TrunkConfig, number: &str) -> AgentRing {
        AgentRing {
            target: trunk.target_for(number),
            caller_id: trunk_caller_id(trunk),
            headers: Vec::new(),
            credential: trunk.credential(),
        }
    }
}

/// The caller id we present through `trunk`.
fn trunk_caller_id(trunk: &TrunkConfig) -> String {
    trunk
        .caller_id
        .clone()
        .unwrap_or_else(|| "switchboard".into())
}

/// Dials and waits for an answer; `cancel` (or `limit`) sends CANCEL. Never
/// leaves an answered leg behind on failure.
async fn ring(
    engine: &CallEngineShared,
    sip: &SipServer,
    request: AgentRing,
    cancel: CancellationToken,
    limit: Duration,
) -> Result<Party, String> {
    let super::LocalOffer {
        socket,
        local_port,
        session_id,
        sdp: offer,
    } = engine
        .local_offer()
        .await
        .ok_or_else(|| "no free RTP port".to_string())?;
    let caller_id = sip_user(&request.caller_id);
    let mut call = sip
        .dial(DialRequest {
            target: request.target,
            caller_id,
            display_name: None,
            sdp_offer: offer,
            credential: request.credential,
            headers: request.headers,
            call_id: None,
        })
        .map_err(|error| format!("INVITE not sent: {error}"))?;
    let give_up = tokio::time::sleep(limit);
    tokio::pin!(give_up);
    let mut cancelled = false;
    let answer = loop {
        tokio::select! {
            progress = call.next() => match progress {
                DialProgress::Ringing { .. } => {}
                DialProgress::Answered { sdp } => break sdp,
                DialProgress::Failed { status, reason } => {
                    return Err(if cancelled { "cancelled".into() } else { format!("{status} {reason}") });
                }
            },
            _ = cancel.cancelled(), if !cancelled => {
                cancelled = true;
                call.cancel().await.ok();
                give_up.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(32));
            }
            _ = &mut give_up => {
                if !cancelled {
                    cancelled = true;
                    call.cancel().await.ok();
                    give_up.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(32));
                } else {
                    return Err("no final response after CANCEL".into());
                }
            }
        }
    };
    let leg = call.into_leg();
    if cancelled {
        // Answered as we cancelled (the 200 crossed our CANCEL).
        tokio::time::timeout(Duration::from_secs(2), leg.hangup())
            .await
            .ok();
        return Err("cancelled".into());
    }
    let negotiated = match negotiate_body(&answer) {
        Ok(negotiated) => negotiated,
        Err((_, reason)) => {
            tokio::time::timeout(Duration::from_secs(2), leg.hangup())
                .await
                .ok();
            return Err(format!("unusable SDP answer: {reason}"));
        }
    };
    let media = MediaSession::new(socket, &negotiated, Instant::now());
    Ok(Party {
        leg,
        media,
        current: negotiated,
        local_port,
        session_id,
        session_version: 1,
    })
}

/// A From user part that is safe in a SIP URI.
fn sip_user(number: &str) -> String {
    let user: String = number
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "+-_.".contains(*c))
        .take(64)
        .collect();
    if user.is_empty() {
        "anonymous".into()
    } else {
        user
    }
}

/// Hangs up a SIP leg in the background (bounded).
fn hang_up_later(party: Party) {
    tokio::spawn(async move {
        tokio::time::timeout(Duration::from_secs(2), party.leg.hangup())
            .await
            .ok();
    });
}
