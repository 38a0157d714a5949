//! Runs outbound campaigns: the thin driver between the dialer's pure
//! decisions, the database and the SIP trunk.
//!
//! The command line (or API) sets a campaign's state in the database; the
//! supervisor here notices campaigns that are `running` and drives each with a
//! runner: lease due leads → compliance check → commit the attempt → dial →
//! record the outcome and the lead's next step. Trunk limits are shared by all
//! campaigns using the trunk.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::call::{
    AgentConnect, AgentDesk, AmdOptions, CallEngine, OriginateRequest, PendingAgent,
};
use crate::config::TrunkConfig;
use crate::dialer::campaign::{
    AgentPolicy, CampaignPolicy, CampaignSettings, DialMode, CONNECT_WITHIN,
};
use crate::dialer::compliance::{check, Decision, LeadFacts, NeverReason};
use crate::dialer::pacing::{
    plan_new_calls, DialingMode, ModeStats, Pacer, PacingLimits, PowerUnattended, Predictive,
    Progressive,
};
use crate::dialer::predictive::{self, PredictiveConfig, PredictivePacer};
use crate::dialer::retry::{next_step, NextStep};
use crate::dialer::{outcome_for_final_status, Outcome};
use crate::dialplan::Dialplan;
use crate::media::amd::Verdict;
use crate::pii::Masked;
use crate::sip::SipServer;
use crate::store::{AttemptResult, CampaignRecord, LeadRecord, Store};

/// How long a lease lasts before another dialer may take the lead (a safety
/// net; a running attempt keeps its lead through its attempt row).
const LEASE_FOR: chrono::Duration = chrono::Duration::minutes(10);

struct TrunkState {
    pacer: Pacer,
    active: u32,
}

pub struct CampaignSupervisor {
    store: Store,
    calls: Arc<CallEngine>,
    sip: Arc<SipServer>,
    trunks: HashMap<String, TrunkConfig>,
    trunk_states: Mutex<HashMap<String, TrunkState>>,
    shutdown: CancellationToken,
    owner: String,
    epoch: Instant,
    /// Attempts dialling or not yet recorded; shutdown waits for them.
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// Per campaign: its pacer and live calls. They outlive a runner, so a
    /// pause and resume (a new runner) still sees the calls still up.
    counters: Mutex<HashMap<String, CampaignCounters>>,
    /// The agent desk, for agent-backed campaigns (set once it starts).
    desk: Arc<std::sync::OnceLock<AgentDesk>>,
    /// Per agent queue: campaign calls with no agent yet, shared by every
    /// campaign on the queue so two campaigns do not both dial for the same
    /// free agent.
    queue_waiting: Mutex<HashMap<String, QueueCounters>>,
}

#[derive(Clone, Default)]
struct QueueCounters {
    waiting: Arc<std::sync::atomic::AtomicU32>,
    answered: Arc<std::sync::atomic::AtomicU32>,
}

#[derive(Clone)]
struct CampaignCounters {
    pacer: Arc<Mutex<Pacer>>,
    active: Arc<std::sync::atomic::AtomicU32>,
    /// Calls with no agent yet (dialling, ringing, answered and waiting),
    /// per queue.
    waiting_for_agent: Arc<std::sync::atomic::AtomicU32>,
    /// Of those, the ones a person answered and who wait now, per queue.
    answered_waiting: Arc<std::sync::atomic::AtomicU32>,
    /// What the predictive pacer has measured (answer rate, handle time,
    /// abandonment), kept across pauses.
    predictive: Arc<Mutex<PredictivePacer>>,
}

/// An agent-backed campaign's run: where answered calls go and what the
/// pacing measures.
struct AgentRun {
    policy: AgentPolicy,
    plan: Arc<Dialplan>,
    waiting_for_agent: Arc<std::sync::atomic::AtomicU32>,
    answered_waiting: Arc<std::sync::atomic::AtomicU32>,
    predictive: Arc<Mutex<PredictivePacer>>,
    /// The queue's wrap-up, added to talk time for the handle time.
    wrap_up: Duration,
}

impl CampaignSupervisor {
    pub fn new(
        store: Store,
        calls: Arc<CallEngine>,
        sip: Arc<SipServer>,
        trunks: &[TrunkConfig],
        desk: Arc<std::sync::OnceLock<AgentDesk>>,
        shutdown: CancellationToken,
    ) -> Arc<CampaignSupervisor> {
        let epoch = Instant::now();
        let opt_out_store = store.clone();
        calls.on_opt_out(Arc::new(move |number: &str| {
            let store = opt_out_store.clone();
            let number = number.to_string();
            tokio::spawn(async move {
                match store.dnc_add(&number, "opt_out", Utc::now()).await {
                    Ok(_) => info!(number = %Masked(&number), "opted out: on the do-not-call list"),
                    Err(error) => {
                        error!(%error, "could not add an opted-out number to the do-not-call list")
                    }
                }
            });
        }));
        let trunk_states = trunks
            .iter()
            .map(|trunk| {
                let limits = PacingLimits {
                    max_concurrent: trunk.max_concurrent,
                    max_new_per_second: trunk.max_calls_per_second,
                };
                (
                    trunk.name.clone(),
                    TrunkState {
                        pacer: Pacer::new(limits, Duration::ZERO),
                        active: 0,
                    },
                )
            })
            .collect();
        Arc::new(CampaignSupervisor {
            store,
            calls,
            sip,
            trunks: trunks.iter().map(|t| (t.name.clone(), t.clone())).collect(),
            trunk_states: Mutex::new(trunk_states),
            shutdown,
            owner: format!("node-{}", std::process::id()),
            epoch,
            in_flight: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            counters: Mutex::new(HashMap::new()),
            desk,
            queue_waiting: Mutex::new(HashMap::new()),
        })
    }

    /// Attempts in progress (dialling, talking, or being recorded).
    pub fn attempts_in_flight(&self) -> usize {
        self.in_flight.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Watches the campaigns table and runs every campaign set to `running`.
    pub fn start(self: &Arc<Self>) {
        let supervisor = self.clone();
        tokio::spawn(async move {
            let mut running: HashSet<String> = HashSet::new();
            let (done_sender, mut done) = tokio::sync::mpsc::unbounded_channel::<String>();
            loop {
                match supervisor.store.campaigns().await {
                    Ok(campaigns) => {
                        for campaign in campaigns {
                            if campaign.state == "running" && running.insert(campaign.id.clone()) {
                                let runner = supervisor.clone();
                                let done_sender = done_sender.clone();
                                tokio::spawn(async move {
                                    let id = campaign.id.clone();
                                    runner.run(campaign).await;
                                    done_sender.send(id).ok();
                                });
                            }
                        }
                    }
                    Err(error) => warn!(%error, "cannot read campaigns"),
                }
                tokio::select! {
                    _ = supervisor.shutdown.cancelled() => return,
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                }
                while let Ok(id) = done.try_recv() {
                    running.remove(&id);
                }
            }
        });
    }

    /// Pauses a campaign that cannot run (the caller logged why).
    async fn pause(&self, campaign_id: &str) {
        if let Err(error) = self
            .store
            .set_campaign_state(campaign_id, "paused", Utc::now())
            .await
        {
            error!(%error, "could not pause the campaign");
        }
    }

    fn now_tick(&self) -> Duration {
        self.epoch.elapsed()
    }

    /// Drives one campaign until it is paused, stopped, finished or the engine stops.
    async fn run(self: Arc<Self>, campaign: CampaignRecord) {
        let settings: CampaignSettings = match serde_json::from_str(&campaign.settings) {
            Ok(settings) => settings,
            Err(error) => {
                error!(campaign = %campaign.name, %error, "campaign settings unreadable; pausing it");
                self.pause(&campaign.id).await;
                return;
            }
        };
        let policy = match settings.policy() {
            Ok(policy) => Arc::new(policy),
            Err(reason) => {
                error!(campaign = %campaign.name, %reason, "campaign settings invalid; pausing it");
                self.pause(&campaign.id).await;
                return;
            }
        };
        let Some(trunk) = self.trunks.get(&campaign.trunk).cloned() else {
            error!(campaign = %campaign.name, trunk = %campaign.trunk, "campaign uses a trunk that is not configured; pausing it");
            self.pause(&campaign.id).await;
            return;
        };
        let agent_plan = match &policy.agents {
            None => None,
            Some(agents) => match self
                .calls
                .agent_dialplan(&agents.queue, &agents.safe_harbor)
            {
                Ok(plan) => Some(plan),
                Err(reason) => {
                    error!(campaign = %campaign.name, %reason, "agent-backed campaign cannot reach its agents; pausing it");
                    self.pause(&campaign.id).await;
                    return;
                }
            },
        };
        info!(campaign = %campaign.name, mode = ?settings.mode, queue = settings.queue.as_deref().unwrap_or("-"), "campaign running");
        let campaign = Arc::new(campaign);
        let queue_counters = match &policy.agents {
            Some(agents) => self
                .queue_waiting
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .entry(agents.queue.clone())
                .or_default()
                .clone(),
            None => QueueCounters::default(),
        };
        let CampaignCounters {
            pacer,
            active,
            waiting_for_agent,
            answered_waiting,
            predictive,
        } = self
            .counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(campaign.id.clone())
            .or_insert_with(|| CampaignCounters {
                pacer: Arc::new(Mutex::new(Pacer::new(policy.pacing, self.now_tick()))),
                active: Arc::new(std::sync::atomic::AtomicU32::new(0)),
                waiting_for_agent: queue_counters.waiting.clone(),
                answered_waiting: queue_counters.answered.clone(),
                predictive: Arc::new(Mutex::new(PredictivePacer::new(PredictiveConfig {
                    abandon_cap: policy.agents.as_ref().map_or(0.03, |a| a.abandon_cap),
                    ..PredictiveConfig::default()
                }))),
            })
            .clone();
        let agent_run = match (&policy.agents, agent_plan) {
            (Some(agents), Some(plan)) => {
                let wrap_up = self
                    .desk
                    .get()
                    .and_then(|desk| desk.queue_wrap_up(&agents.queue))
                    .unwrap_or_default();
                Some(Arc::new(AgentRun {
                    policy: agents.clone(),
                    plan,
                    waiting_for_agent: waiting_for_agent.clone(),
                    answered_waiting: answered_waiting.clone(),
                    predictive: predictive.clone(),
                    wrap_up,
                }))
            }
            _ => None,
        };
        loop {
            if self.shutdown.is_cancelled() {
                break;
            }
            match self.store.campaign(&campaign.id).await {
                Ok(Some(current)) if current.state == "running" => {}
                Ok(_) => break,
                Err(error) => {
                    // A passing database hiccup must not end the campaign.
                    warn!(%error, "cannot read the campaign; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
            }
            let active_now = active.load(std::sync::atomic::Ordering::SeqCst);
            let now = self.now_tick();
            // Agents as the desk sees them: available, and how long each busy
            // one has been busy.
            let (available_agents, busy_for, queue_waiting) = match (&agent_run, self.desk.get()) {
                (Some(run), Some(desk)) => desk
                    .snapshot()
                    .queues
                    .iter()
                    .find(|queue| queue.name == run.policy.queue)
                    .map(|queue| {
                        let busy: Vec<Duration> = queue
                            .busy_since
                            .iter()
                            .map(|since| since.elapsed())
                            .collect();
                        (
                            u32::try_from(queue.agents_available).unwrap_or(u32::MAX),
                            busy,
                            u32::try_from(queue.waiting).unwrap_or(u32::MAX),
                        )
                    })
                    .unwrap_or_default(),
                _ => (0, Vec::new(), 0),
            };
            // Callers already in the queue (ours who answered, and any
            // inbound ones) take the next free agents first.
            let answered_now = answered_waiting.load(std::sync::atomic::Ordering::SeqCst);
            let queued = queue_waiting.max(answered_now);
            let stats = ModeStats {
                active_calls: active_now,
                available_agents,
                max_concurrent: policy.pacing.max_concurrent,
                leads_ready: u32::MAX,
                calls_waiting_for_agent: waiting_for_agent
                    .load(std::sync::atomic::Ordering::SeqCst),
            };
            // A copy (a few KB, ten times a second): a lock guard cannot live
            // in this task across the awaits below.
            let predictive_pacer = predictive.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let busy_free_in: Vec<Duration> = busy_for
                .iter()
                .map(|elapsed| {
                    predictive_pacer
                        .expected_remaining(*elapsed)
                        .unwrap_or(Duration::MAX)
                })
                .collect();
            let predictive_mode = Predictive {
                pacer: &predictive_pacer,
                now,
                busy_free_in: &busy_free_in,
                queued,
                answered_waiting: answered_now,
            };
            let mode: &dyn DialingMode = match agent_run.as_ref().map(|run| run.policy.mode) {
                None | Some(DialMode::Unattended) => &PowerUnattended,
                Some(DialMode::Progressive) => &Progressive,
                Some(DialMode::Predictive) => &predictive_mode,
            };
            let start_count = {
                let mut trunks = self.trunk_states.lock().unwrap_or_else(|p| p.into_inner());
                let Some(trunk_state) = trunks.get_mut(&trunk.name) else {
                    break;
                };
                let plan = plan_new_calls(
                    mode,
                    &stats,
                    &mut pacer.lock().unwrap_or_else(|p| p.into_inner()),
                    &mut trunk_state.pacer,
                    trunk_state.active,
                    now,
                );
                plan.count
            };
            if start_count > 0 {
                let now = Utc::now();
                let leads = match self
                    .store
                    .lease_due_leads(&campaign.id, &self.owner, start_count, now, now + LEASE_FOR)
                    .await
                {
                    Ok(leads) => leads,
                    Err(error) => {
                        warn!(%error, "cannot lease leads");
                        Vec::new()
                    }
                };
                if leads.is_empty() && active.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                    match self.store.campaign_has_work(&campaign.id).await {
                        Ok(false) => {
                            info!(campaign = %campaign.name, "every lead is done; campaign finished");
                            self.store
                                .set_campaign_state(&campaign.id, "finished", Utc::now())
                                .await
                                .ok();
                            break;
                        }
                        Ok(true) => {}
                        Err(error) => warn!(%error, "cannot check campaign progress"),
                    }
                }
                let mut leads = leads.into_iter();
                for lead in leads.by_ref() {
                    // Stopping or paused meanwhile: hand back the rest of the batch.
                    if self.shutdown.is_cancelled() || !self.still_running(&campaign.id).await {
                        self.return_lead(&lead).await;
                        break;
                    }
                    self.clone()
                        .consider(
                            &campaign,
                            &policy,
                            &trunk,
                            lead,
                            &pacer,
                            &active,
                            agent_run.as_ref(),
                        )
                        .await;
                }
                for lead in leads {
                    self.return_lead(&lead).await;
                }
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
        }
        info!(campaign = %campaign.name, "campaign runner stopped");
    }

    /// One leased lead: check the rules, then dial, wait or give up on it.
    #[allow(clippy::too_many_arguments)]
    async fn consider(
        self: Arc<Self>,
        campaign: &Arc<CampaignRecord>,
        policy: &Arc<CampaignPolicy>,
        trunk: &TrunkConfig,
        lead: LeadRecord,
        pacer: &Mutex<Pacer>,
        active: &Arc<std::sync::atomic::AtomicU32>,
        agent_run: Option<&Arc<AgentRun>>,
    ) {
        let now = Utc::now();
        let on_dnc = self.store.dnc_contains(&lead.number).await.unwrap_or(true);
        let history = match self
            .store
            .number_attempts_since(&lead.number, now - chrono::Duration::hours(24))
            .await
        {
            Ok(history) => history,
            Err(error) => {
                // Without the history the per-number limit cannot be checked:
                // wait rather than guess.
                warn!(%error, "cannot read the number's attempt history; lead waits");
                self.return_lead(&lead).await;
                return;
            }
        };
        let zones: Vec<chrono_tz::Tz> = lead
            .timezones
            .split(',')
            .filter_map(|zone| chrono_tz::Tz::from_str(zone.trim()).ok())
            .collect();
        let lead_id = lead.id.to_string();
        let decision = check(
            &policy.compliance,
            &LeadFacts {
                lead_id: &lead_id,
                number: &lead.number,
                timezones: &zones,
                on_dnc,
                attempts_made: u32::try_from(lead.attempts).unwrap_or(u32::MAX),
                number_attempts: &history,
            },
            now,
        );
        let waiting_state = if lead.attempts > 0 {
            "retry_scheduled"
        } else {
            "pending"
        };
        match decision {
            Decision::Dial(permit) => {
                let attempt_id = format!(
                    "{:016x}{:08x}",
                    rand::random::<u64>(),
                    rand::random::<u32>()
                );
                let reasons = permit.reasons().join("; ");
                // Reserve the trunk in the same step as checking it, so two
                // campaigns on one trunk never both take its last slot.
                if !self.try_acquire_trunk(&trunk.name) {
                    self.return_lead(&lead).await;
                    return;
                }
                if let Err(error) = self
                    .store
                    .start_attempt(&attempt_id, &lead, &trunk.name, &reasons, now)
                    .await
                {
                    // Not recorded, so not dialled: the lead goes back.
                    error!(%error, "cannot record the attempt; not dialling");
                    self.release_trunk(&trunk.name);
                    self.return_lead(&lead).await;
                    return;
                }
                pacer
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .started(self.now_tick(), 1);
                active.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                self.in_flight
                    .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                // Counted before the next pacing decision, not when the task runs.
                let agents = agent_run.map(|run| {
                    (
                        run.clone(),
                        PendingAgent::new(
                            run.waiting_for_agent.clone(),
                            run.answered_waiting.clone(),
                        ),
                    )
                });
                let (supervisor, campaign, policy, trunk, active) = (
                    self.clone(),
                    campaign.clone(),
                    policy.clone(),
                    trunk.clone(),
                    active.clone(),
                );
                tokio::spawn(async move {
                    supervisor
                        .attempt(&campaign, &policy, &trunk, lead, &attempt_id, agents)
                        .await;
                    active.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    supervisor.release_trunk(&trunk.name);
                    supervisor
                        .in_flight
                        .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                });
            }
            Decision::Wait(reason, at) => {
                self.store
                    .release_lead(
                        lead.id,
                        waiting_state,
                        Some(at),
                        "waiting",
                        &reason.to_string(),
                        now,
                    )
                    .await
                    .ok();
            }
            Decision::Never(reason) => {
                let state = match reason {
                    NeverReason::DoNotCall => "do_not_call",
                    NeverReason::LeadAttemptsExhausted { .. } => "exhausted",
                    _ => "done",
                };
                info!(lead = lead.id, number = %Masked(&lead.number), %reason, "lead skipped");
                self.store
                    .release_lead(lead.id, state, None, "skipped", &reason.to_string(), now)
                    .await
                    .ok();
            }
        }
    }

    /// Takes one call's worth of `trunk` now if its limits allow (no waiting).
    fn try_acquire_trunk(&self, trunk: &str) -> bool {
        let mut trunks = self.trunk_states.lock().unwrap_or_else(|p| p.into_inner());
        let Some(state) = trunks.get_mut(trunk) else {
            return false;
        };
        let now = self.now_tick();
        let active = state.active;
        if state.pacer.available(now, active) == 0 {
            return false;
        }
        state.pacer.started(now, 1);
        state.active += 1;
        true
    }

    async fn still_running(&self, campaign_id: &str) -> bool {
        matches!(self.store.campaign(campaign_id).await, Ok(Some(c)) if c.state == "running")
    }

    /// Hands a leased lead back, due as before, retrying a failed write: a
    /// lead left leased would never be dialled again.
    async fn return_lead(&self, lead: &LeadRecord) {
        let state = if lead.attempts > 0 {
            "retry_scheduled"
        } else {
            "pending"
        };
        for attempt in 0..5u64 {
            match self.store.return_lead(lead.id, state).await {
                Ok(()) => return,
                Err(error) => {
                    warn!(%error, lead = lead.id, "cannot hand the lead back; retrying");
                    tokio::time::sleep(Duration::from_millis(200 * (attempt + 1))).await;
                }
            }
        }
        error!(
            lead = lead.id,
            "lead left leased; it returns at the next engine start"
        );
    }

    /// Waits until `trunk` may take one more call under its limits and counts
    /// it; false if the engine is stopping.
    async fn acquire_trunk(&self, trunk: &str) -> bool {
        loop {
            if !self.trunks.contains_key(trunk) {
                return false;
            }
            if self.try_acquire_trunk(trunk) {
                return true;
            }
            tokio::select! {
                _ = self.shutdown.cancelled() => return false,
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
        }
    }

    fn release_trunk(&self, trunk: &str) {
        let mut trunks = self.trunk_states.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(state) = trunks.get_mut(trunk) {
            state.active = state.active.saturating_sub(1);
        }
    }

    /// Feeds one attempt to the predictive pacer: answer rate and delay,
    /// handle time, and whether a person who answered reached an agent.
    fn measure_for_pacing(
        &self,
        run: &AgentRun,
        report: &crate::call::AttemptReport,
        machine: bool,
        reached_agent: bool,
        stopped_by_us: bool,
    ) {
        if stopped_by_us {
            return;
        }
        let now = self.now_tick();
        let since_dial =
            |at: chrono::DateTime<Utc>| (at - report.started_at).to_std().unwrap_or_default();
        let mut pacer = run.predictive.lock().unwrap_or_else(|p| p.into_inner());
        let Some(answered_at) = report.answered_at else {
            pacer.record_attempt_result(
                now,
                predictive::AttemptResult::NotAnswered {
                    after: since_dial(report.end.ended_at),
                },
            );
            return;
        };
        let after = since_dial(answered_at);
        if machine {
            pacer.record_attempt_result(now, predictive::AttemptResult::Machine { after });
            return;
        }
        pacer.record_attempt_result(now, predictive::AttemptResult::Answered { after });
        if reached_agent {
            pacer.record_answered_connected(now);
            let talk = (report.end.ended_at - answered_at)
                .to_std()
                .unwrap_or_default();
            pacer.record_handle_time(talk + run.wrap_up);
        } else {
            // A person answered and no agent took the call within the limit
            // (or they hung up first): abandoned, whatever they heard.
            pacer.record_abandon(now);
        }
        let stats = pacer.stats();
        info!(
            abandon_rate = format!("{:.2}%", stats.abandon_rate * 100.0),
            answered = stats.answered_in_window,
            abandoned = stats.abandons_in_window,
            answer_rate = format!("{:.2}", stats.human_answer_rate),
            "campaign pacing figures"
        );
    }

    /// Dials one lead and records how it went.
    async fn attempt(
        &self,
        campaign: &CampaignRecord,
        policy: &CampaignPolicy,
        trunk: &TrunkConfig,
        lead: LeadRecord,
        attempt_id: &str,
        agents: Option<(Arc<AgentRun>, Arc<PendingAgent>)>,
    ) {
        let mut variables: BTreeMap<String, String> =
            serde_json::from_str::<BTreeMap<String, serde_json::Value>>(&lead.fields)
                .unwrap_or_default()
                .into_iter()
                .map(|(key, value)| {
                    let text = match value {
                        serde_json::Value::String(text) => text,
                        other => other.to_string(),
                    };
                    (key, text)
                })
                .collect();
        if let Some(name) = &lead.name {
            variables.insert("lead_name".into(), name.clone());
        }
        variables.insert("campaign".into(), campaign.name.clone());
        let campaign_machine_plan = serde_json::from_str::<CampaignSettings>(&campaign.settings)
            .ok()
            .and_then(|settings| settings.machine_dialplan);
        // Through the campaign's trunk, then its failover trunks when a trunk
        // is down (503) or silent (408, or the INVITE could not be sent).
        let mut trunk = trunk.clone();
        let mut hops = 0;
        let report = loop {
            let report = self
                .calls
                .originate(
                    &self.sip,
                    OriginateRequest {
                        target: trunk.target_for(&lead.number),
                        number: lead.number.clone(),
                        caller_id: campaign.caller_id.clone(),
                        credential: trunk.credential(),
                        plan_name: campaign.dialplan.clone(),
                        variables: variables.clone(),
                        ring_timeout: policy.ring_timeout,
                        headers: vec![("X-Campaign".into(), campaign.name.clone())],
                        amd: policy.amd.clone().map(|config| AmdOptions {
                            config,
                            machine_plan: campaign_machine_plan.clone(),
                            beep_wait: Duration::from_secs(20),
                        }),
                        agents: agents.as_ref().map(|(run, pending)| AgentConnect {
                            plan: run.plan.clone(),
                            within: CONNECT_WITHIN,
                            record: run.policy.record,
                            pending: pending.clone(),
                        }),
                    },
                )
                .await;
            // Only a trunk that is down (503), silent (no response at all) or
            // unreachable fails over; a call that rang reached the person.
            let trunk_failed = report.ringing_at.is_none()
                && (matches!(report.final_status, 0 | 503)
                    || (report.final_status == 408 && report.end.hangup_cause == "no response"));
            let next = trunk
                .failover
                .as_ref()
                .and_then(|name| self.trunks.get(name));
            match next {
                Some(next) if trunk_failed && hops < 3 => {
                    warn!(from = %trunk.name, to = %next.name, status = report.final_status, "trunk failed; trying its failover trunk");
                    // The backup trunk's own limits hold for failed-over calls too.
                    if !self.acquire_trunk(&next.name).await {
                        break report;
                    }
                    if hops > 0 {
                        self.release_trunk(&trunk.name);
                    }
                    trunk = next.clone();
                    hops += 1;
                }
                _ => {
                    if hops > 0 {
                        self.release_trunk(&trunk.name);
                    }
                    break report;
                }
            }
        };
        let machine = report
            .amd
            .as_ref()
            .is_some_and(|amd| amd.verdict == Verdict::Machine);
        // Ended by our own shutdown: the lead deserves another try.
        let stopped_by_us = report.end.hangup_cause == "shutdown";
        let mut abandoned = false;
        if let Some((run, pending)) = &agents {
            let reached_agent = pending.is_settled();
            pending.settle();
            self.measure_for_pacing(run, &report, machine, reached_agent, stopped_by_us);
            abandoned = report.answered_at.is_some() && !machine && !reached_agent;
        }
        let outcome = if stopped_by_us {
            Outcome::Failed
        } else if machine {
            Outcome::Machine
        } else if abandoned {
            // No agent in time, whether the person heard the safe-harbor
            // message or hung up first: the same count the pacer keeps.
            Outcome::Abandoned
        } else if report.answered_at.is_some() {
            // The dialplan's outcome label, when it names a dialer outcome
            // ("opted_out", "transferred", ...); otherwise a person answered.
            match report.end.outcome.as_deref().map(Outcome::from_str) {
                Some(Ok(outcome)) => outcome,
                // Talked to an agent (queue node or agent-backed campaign).
                Some(Err(_)) if report.end.outcome.as_deref() == Some("agent") => {
                    Outcome::Transferred
                }
                Some(Err(_)) if report.end.outcome.as_deref() == Some("caller_hangup") => {
                    Outcome::HumanAnswered
                }
                _ => Outcome::Completed,
            }
        } else {
            outcome_for_final_status(report.final_status)
        };
        let attempts_made = u32::try_from(lead.attempts + 1).unwrap_or(u32::MAX);
        let now = Utc::now();
        let step = next_step(&policy.retry, outcome, attempts_made, now);
        if matches!(step, NextStep::DoNotCall) {
            // An opt-out goes on the list before anything else can dial the number.
            if let Err(error) = self
                .store
                .dnc_add(&lead.number, &format!("opt_out:{}", campaign.name), now)
                .await
            {
                error!(%error, "could not add an opted-out number to the do-not-call list");
            }
        }
        let next_attempt_at = match step {
            NextStep::RetryAt(at) => Some(at),
            _ => None,
        };
        let result = AttemptResult {
            call_id: Some(report.id.clone()),
            ringing_at: report.ringing_at,
            answered_at: report.answered_at,
            ended_at: now,
            sip_status: (report.final_status != 0).then_some(report.final_status),
            outcome: outcome.as_str().to_string(),
            amd_result: report
                .amd
                .as_ref()
                .map(|amd| format!("{:?}", amd.verdict).to_lowercase()),
            amd_confidence: report.amd.as_ref().map(|amd| amd.confidence),
            amd_reasons: report.amd.as_ref().map(|amd| amd.reasons.join("; ")),
            path: Some(report.end.path.join(">")),
            digits: Some(report.end.digits.clone()),
            lead_state: step.lead_state().as_str().to_string(),
            next_attempt_at,
        };
        info!(campaign = %campaign.name, lead = lead.id, number = %Masked(&lead.number), outcome = outcome.as_str(), next = step.lead_state().as_str(), "attempt ended");
        if let Err(error) = self
            .store
            .finish_attempt(attempt_id, lead.id, &result)
            .await
        {
            error!(%error, attempt = attempt_id, outcome = %result.outcome, "could not record the attempt's outcome");
        }
    }
}
