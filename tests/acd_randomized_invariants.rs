//! Drives thousands of random events with random time jumps and checks the
//! ACD's invariants after every step.

mod acd_common;
use acd_common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use switchboard::acd::{
    Acd, AcdConfig, Action, AgentConfig, AgentId, AgentState, CallId, CallInfo, CallPhase, Event,
    OverflowTarget, QueueConfig, Strategy,
};

/// xorshift64* — deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            None
        } else {
            items.get(self.below(items.len() as u64) as usize)
        }
    }
}

const QUEUES: [&str; 4] = ["sales", "support", "vip", "all"];

fn build() -> Acd {
    let mut acd = Acd::new(AcdConfig::default());
    acd.add_queue(
        QueueConfig::new("sales", Strategy::LongestIdle)
            .overflow_after(secs(60), OverflowTarget::Queue("support".into()))
            .announce_every(secs(20)),
    )
    .unwrap();
    acd.add_queue(
        QueueConfig::new("support", Strategy::SkillsWithPriority)
            .require_skill("tech", 2)
            .overflow_after(secs(90), OverflowTarget::Voicemail)
            .announce_every(secs(30))
            .pause_on_no_answer(false),
    )
    .unwrap();
    acd.add_queue(
        QueueConfig::new("vip", Strategy::RingAll)
            .ring_timeout(secs(8))
            .wrap_up(secs(0))
            .overflow_after(secs(45), OverflowTarget::CallbackOffer),
    )
    .unwrap();
    acd.add_queue(QueueConfig::new("all", Strategy::RoundRobin).wrap_up(secs(3)))
        .unwrap();
    for i in 0..8u8 {
        acd.add_agent(agent_config(i)).unwrap();
    }
    acd
}

/// Agent `a{i}` as first added.
fn agent_config(i: u8) -> AgentConfig {
    let id = format!("a{i}");
    let mut cfg = AgentConfig::new(id.as_str(), id.as_str())
        .queue("all")
        .skill("tech", 1 + i % 10);
    if i.is_multiple_of(2) {
        cfg = cfg.queue("sales");
    }
    if i % 3 != 1 {
        cfg = cfg.queue("support");
    }
    if i < 4 {
        cfg = cfg.queue("vip").skill("german", 3 + i);
    }
    if i == 7 {
        cfg = cfg.pause_on_no_answer(false).ring_timeout(secs(5));
    }
    cfg
}

/// Agents are deleted, added back and changed (queues, skills) now and then,
/// as the REST API does.
fn change_agents(rng: &mut Rng, acd: &mut Acd, now: Duration) {
    let i = rng.below(8) as u8;
    let id = a(&format!("a{i}"));
    let present = acd.agent_state(&id).is_some();
    match rng.below(100) {
        0..=1 if present => {
            acd.remove_agent(&id, now).unwrap();
        }
        2..=4 if !present => acd.add_agent(agent_config(i)).unwrap(),
        5..=6 if present => {
            let mut cfg = agent_config(i);
            let keep: Vec<String> = cfg
                .queues
                .iter()
                .filter(|_| rng.chance(60))
                .cloned()
                .collect();
            cfg.queues = keep;
            if rng.chance(50) {
                cfg = cfg.queue(QUEUES[rng.below(QUEUES.len() as u64) as usize]);
            }
            cfg = cfg.skill("tech", 1 + rng.below(10) as u8);
            acd.update_agent(cfg, now).unwrap();
        }
        _ => {}
    }
}

struct Model {
    /// Calls the ACD must still know about.
    live: BTreeSet<CallId>,
    /// Calls that are over (ended, abandoned, overflowed out).
    gone: BTreeSet<CallId>,
    /// Calls that were ever connected.
    connected_once: BTreeSet<CallId>,
    /// Agent state as told by `AgentStateChanged`.
    told: BTreeMap<AgentId, AgentState>,
    /// How often each kind of thing happened (coverage check).
    stats: BTreeMap<&'static str, usize>,
}

impl Model {
    fn absorb(&mut self, acd: &mut Acd, known_queues: &[&str]) {
        while let Some(action) = acd.poll_action() {
            let kind = match &action {
                Action::OfferCall { agents, .. } if agents.len() > 1 => "ring-all offer",
                Action::OfferCall { .. } => "offer",
                Action::CancelOffer { .. } => "cancel",
                Action::Connect { .. } => "connect",
                Action::AnnouncePosition { .. } => "announce",
                Action::Overflow { .. } => "overflow",
                Action::PlaceCallback { .. } => "callback placed",
                Action::AgentRemoved { .. } => "removed",
                Action::AgentStateChanged { to, .. } => match to {
                    AgentState::Paused { reason } if reason == "no answer" => "paused no answer",
                    AgentState::WrapUp { .. } => "wrap-up",
                    AgentState::LoggedOut => "logged out",
                    _ => "state change",
                },
            };
            *self.stats.entry(kind).or_default() += 1;
            match action {
                Action::Connect { call, agent } => {
                    assert!(
                        self.connected_once.insert(call.clone()),
                        "{call} connected twice (second to {agent})"
                    );
                }
                Action::Overflow { call, to } => {
                    let stays = matches!(&to, OverflowTarget::Queue(q) if known_queues.contains(&q.as_str()));
                    if !stays {
                        self.live.remove(&call);
                        self.gone.insert(call);
                    }
                }
                Action::AgentStateChanged {
                    agent, from, to, ..
                } => {
                    let prev = self
                        .told
                        .insert(agent.clone(), to)
                        .unwrap_or(AgentState::LoggedOut);
                    assert_eq!(prev, from, "state log of {agent} is not continuous");
                }
                Action::OfferCall { agents, .. } => assert!(!agents.is_empty()),
                Action::CancelOffer { agents, .. } => assert!(!agents.is_empty()),
                Action::AnnouncePosition { position, .. } => assert!(position >= 1),
                Action::PlaceCallback { .. } => {}
                Action::AgentRemoved { agent } => {
                    assert!(
                        self.told
                            .get(&agent)
                            .is_none_or(|state| *state == AgentState::LoggedOut),
                        "{agent} removed while logged in"
                    );
                    assert!(
                        acd.agent_state(&agent).is_none(),
                        "{agent} still in the ACD after AgentRemoved"
                    );
                }
            }
        }
    }
}

fn check(acd: &Acd, model: &Model, now: Duration, after_timeout: bool) {
    let mut on_call: BTreeMap<CallId, AgentId> = BTreeMap::new();
    for (id, st) in acd.agents() {
        let told = model.told.get(id).cloned().unwrap_or(AgentState::LoggedOut);
        assert_eq!(&told, st, "agent {id}: state log disagrees with state");
        match st {
            AgentState::OnCall { call } => {
                assert!(!model.gone.contains(call), "{id} on ended call {call}");
                assert!(
                    on_call.insert(call.clone(), id.clone()).is_none(),
                    "{call} connected to two agents"
                );
                let status = acd.call_status(call).expect("on-call call known");
                assert_eq!(status.phase, CallPhase::Connected { agent: id.clone() });
            }
            AgentState::Ringing { call, until } => {
                if after_timeout {
                    assert!(*until > now, "{id} ringing past its deadline");
                }
                let status = acd.call_status(call).expect("ringing call known");
                match status.phase {
                    CallPhase::Offered { agents } => assert!(agents.contains(id)),
                    other => panic!("{id} ringing for {call} in phase {other:?}"),
                }
            }
            AgentState::WrapUp { until } if after_timeout => {
                assert!(*until > now, "{id} in wrap-up past its deadline")
            }
            _ => {}
        }
    }
    let known: BTreeSet<CallId> = acd.call_ids().cloned().collect();
    assert_eq!(known, model.live, "calls lost or leaked");
    for call in &known {
        let status = acd.call_status(call).expect("listed call has a status");
        match status.phase {
            CallPhase::Waiting { position } => {
                let line = acd.waiting_calls(&status.queue);
                assert_eq!(line.iter().position(|x| x == call), Some(position - 1));
            }
            CallPhase::Offered { agents } => {
                assert!(!agents.is_empty(), "{call} offered to nobody");
                for ag in agents {
                    assert!(
                        matches!(acd.agent_state(&ag), Some(AgentState::Ringing { call: c2, .. }) if c2 == call),
                        "{call} offered to {ag} who is not ringing for it"
                    );
                }
            }
            CallPhase::Connected { agent } => {
                assert_eq!(on_call.get(call), Some(&agent));
            }
        }
    }
    if after_timeout {
        if let Some(t) = acd.poll_timeout() {
            assert!(
                t > now,
                "deadline {t:?} still due after handle_timeout({now:?})"
            );
        }
    }
}

fn random_event(rng: &mut Rng, acd: &Acd, next_call: &mut u64, model: &Model) -> Event {
    let agents: Vec<AgentId> = acd.agents().map(|(id, _)| id.clone()).collect();
    let ringing: Vec<(AgentId, CallId)> = acd
        .agents()
        .filter_map(|(id, st)| match st {
            AgentState::Ringing { call, .. } => Some((id.clone(), call.clone())),
            _ => None,
        })
        .collect();
    let calls: Vec<CallId> = acd.call_ids().cloned().collect();
    let gone: Vec<CallId> = model.gone.iter().cloned().collect();
    let agent = rng.pick(&agents).cloned().unwrap_or_else(|| a("a0"));
    let any_call = |rng: &mut Rng| -> CallId {
        if rng.chance(80) {
            if let Some(c) = rng.pick(&calls) {
                return c.clone();
            }
        }
        if rng.chance(50) {
            if let Some(c) = rng.pick(&gone) {
                return c.clone();
            }
        }
        c("ghost")
    };
    match rng.below(15) {
        0 | 1 => Event::AgentLogin { agent },
        2 => Event::AgentLogout { agent },
        3 => Event::AgentPause {
            agent,
            reason: "break".into(),
        },
        4 => Event::AgentUnpause { agent },
        5 | 6 => match rng.pick(&ringing) {
            Some((ag, call)) if rng.chance(90) => Event::AgentAnswered {
                agent: ag.clone(),
                call: call.clone(),
            },
            _ => Event::AgentAnswered {
                agent,
                call: any_call(rng),
            },
        },
        7 => match rng.pick(&ringing) {
            Some((ag, call)) => Event::AgentRejectedOrNoAnswer {
                agent: ag.clone(),
                call: call.clone(),
            },
            None => Event::AgentRejectedOrNoAnswer {
                agent,
                call: any_call(rng),
            },
        },
        8 | 9 => Event::CallEnded {
            call: any_call(rng),
        },
        10 => Event::AgentRegistrationLost { agent },
        11 | 12 => {
            *next_call += 1;
            let queue = QUEUES[rng.below(QUEUES.len() as u64) as usize];
            let mut info = CallInfo::new(format!("c{next_call}"), queue)
                .priority(if rng.chance(15) { 3 } else { 0 });
            if rng.chance(20) {
                info = info.skill("tech", 1 + rng.below(8) as u8);
            }
            if rng.chance(10) {
                info = info.callback();
            }
            Event::CallEnqueued(info)
        }
        13 => {
            if rng.chance(50) {
                Event::CallAbandoned {
                    call: any_call(rng),
                }
            } else {
                Event::CallbackRequested {
                    call: any_call(rng),
                }
            }
        }
        _ => Event::WrapUpDone { agent },
    }
}

fn run(seed: u64, steps: usize, stats: &mut BTreeMap<&'static str, usize>) {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut acd = build();
    let mut model = Model {
        live: BTreeSet::new(),
        gone: BTreeSet::new(),
        connected_once: BTreeSet::new(),
        told: BTreeMap::new(),
        stats: BTreeMap::new(),
    };
    let mut now = Duration::ZERO;
    let mut next_call = 0;
    for _ in 0..steps {
        // Random time jump, sometimes none, sometimes large.
        now += match rng.below(10) {
            0..=3 => Duration::ZERO,
            4..=7 => Duration::from_millis(rng.below(5_000)),
            8 => Duration::from_millis(rng.below(30_000)),
            _ => Duration::from_secs(rng.below(120)),
        };
        if rng.chance(60) {
            // The driver honours deadlines: process everything due.
            acd.handle_timeout(now);
            model.absorb(&mut acd, &QUEUES);
            check(&acd, &model, now, true);
        }
        change_agents(&mut rng, &mut acd, now);
        model.absorb(&mut acd, &QUEUES);
        check(&acd, &model, now, false);
        let event = random_event(&mut rng, &acd, &mut next_call, &model);
        let result = acd.handle(event.clone(), now);
        if result.is_ok() {
            match &event {
                Event::CallEnqueued(info) => {
                    model.live.insert(info.id.clone());
                }
                Event::CallEnded { call } | Event::CallAbandoned { call } => {
                    model.live.remove(call);
                    model.gone.insert(call.clone());
                }
                _ => {}
            }
        }
        model.absorb(&mut acd, &QUEUES);
        check(&acd, &model, now, false);
    }
    for (k, v) in model.stats {
        *stats.entry(k).or_default() += v;
    }
}

#[test]
fn random_events_never_break_invariants() {
    let mut stats = BTreeMap::new();
    for seed in 1..=20 {
        run(seed, 2_500, &mut stats);
    }
    // The random walk must actually reach the interesting paths.
    for kind in [
        "offer",
        "ring-all offer",
        "cancel",
        "connect",
        "announce",
        "overflow",
        "callback placed",
        "paused no answer",
        "wrap-up",
        "logged out",
        "removed",
    ] {
        assert!(
            stats.get(kind).copied().unwrap_or(0) > 0,
            "never saw {kind}: {stats:?}"
        );
    }
    eprintln!("{stats:?}");
}
