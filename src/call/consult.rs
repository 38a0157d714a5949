//! Attended transfer: the agent talks to the next party before handing the
//! caller over.
//!
//! - **On the agent page**, "Consult" puts the caller on hold (music) and
//!   calls a queue (its agents get the caller's screen pop) or a phone
//!   number through the trunk. The agent talks to whoever answers, then
//!   completes the transfer (the caller is bridged to them, the agent goes
//!   to wrap-up) or cancels (the consulted party is hung up and the agent is
//!   back with the caller). [`Consult`] is that second call, driven by the
//!   bridge.
//! - **On a SIP phone**, the phone holds the caller itself, calls the target
//!   through the engine (a route whose dialplan transfers to a queue), then
//!   sends REFER with `Replaces` naming that second call (RFC 3891, RFC 5589
//!   §7): the caller takes the phone's place in it. [`Replaceable`] finds
//!   that call and takes its agent from it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use tracing::info;

use super::agents::{Attended, Command, DeskHandle, Notice, QueueCall, Transfer, Waiting};
use super::bridge::{leg_input, AgentLeg, LegInput, Party};
use super::CallEngineShared;
use crate::pii::Masked;
use crate::store::QueueCallEnd;

/// A request to hand a bridged call's agent over to another call.
pub(crate) type HandOver = oneshot::Sender<Attended>;

/// How long a REFER with `Replaces` waits for the replaced call to hand its
/// agent over.
const HAND_OVER_WITHIN: Duration = Duration::from_secs(5);

/// Consult calls go ahead of ordinary callers (an agent is holding a
/// customer while they wait).
const CONSULT_PRIORITY: u8 = 9;

/// Bridged calls whose caller side may be replaced, by the caller leg's SIP
/// Call-ID (the SIP-phone path).
#[derive(Default)]
pub(crate) struct Replaceable {
    calls: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    /// Who placed the call (its From user): only that agent may replace it.
    owner: String,
    requests: mpsc::UnboundedSender<HandOver>,
}

impl Entry {
    fn is(&self, requests: &mpsc::UnboundedSender<HandOver>) -> bool {
        self.requests.same_channel(requests)
    }
}

/// Keeps a call replaceable until dropped.
pub(crate) struct Registration<'a> {
    registry: &'a Replaceable,
    call_id: String,
    requests: mpsc::UnboundedSender<HandOver>,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        // Only its own entry: another call may have registered the same
        // Call-ID since.
        let mut calls = lock(&self.registry.calls);
        if calls
            .get(&self.call_id)
            .is_some_and(|entry| entry.is(&self.requests))
        {
            calls.remove(&self.call_id);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Replaceable {
    /// Makes the call with SIP Call-ID `call_id`, placed by `owner`,
    /// replaceable; hand-over requests arrive on the receiver.
    pub fn register(
        &self,
        call_id: String,
        owner: &str,
    ) -> (Registration<'_>, mpsc::UnboundedReceiver<HandOver>) {
        let (requests, receiver) = mpsc::unbounded_channel();
        lock(&self.calls).insert(
            call_id.clone(),
            Entry {
                owner: owner.to_string(),
                requests: requests.clone(),
            },
        );
        (
            Registration {
                registry: self,
                call_id,
                requests,
            },
            receiver,
        )
    }

    /// Takes the agent of the call `call_id` for `agent`, who placed it.
    pub async fn take(&self, call_id: &str, agent: &str) -> Result<Attended, String> {
        let requests = {
            let calls = lock(&self.calls);
            let entry = calls
                .get(call_id)
                .ok_or("the call to replace is not connected to an agent")?;
            if entry.owner != agent {
                return Err(format!("the call to replace was not placed by {agent}"));
            }
            entry.requests.clone()
        };
        let (reply, answer) = oneshot::channel();
        requests
            .send(reply)
            .map_err(|_| "the call to replace has ended".to_string())?;
        match tokio::time::timeout(HAND_OVER_WITHIN, answer).await {
            Ok(Ok(attended)) => Ok(attended),
            _ => Err("the call to replace ended before handing over".into()),
        }
    }
}

/// What the bridge needs to start a consultation from the agent page.
pub(crate) struct ConsultContext<'a> {
    pub desk: &'a DeskHandle,
    /// The caller's call id (consult calls are `<id>.consult<N>`).
    pub call_id: &'a str,
    /// The caller's screen pop, shown to the consulted agent.
    pub screen: &'a [(String, String)],
    pub caller_number: &'a str,
}

enum Stage {
    /// Waiting in a queue for one of its agents.
    Queued {
        call: String,
        queue: String,
        entered: Instant,
        notices: mpsc::UnboundedReceiver<Notice>,
    },
    /// Ringing an outside number (in a task of its own).
    Dialling(tokio::task::JoinHandle<Result<Party, String>>),
    /// Someone answered: the agent talks to them.
    Connected {
        attended: Box<Attended>,
        since: Instant,
    },
    /// Over (failed or handed on); only [`Consult::finish`] is left.
    Done,
}

/// What the consultation did.
pub(crate) enum ConsultInput {
    /// The consulted party answered.
    Answered,
    /// Nobody answered, or the call failed: the agent is back with the caller.
    Failed(String),
    /// Media or signalling from the consulted party.
    Leg(LegInput),
}

/// The agent's second call, while the caller holds.
pub(crate) struct Consult {
    /// The queue's name or the masked number, for the page and the log.
    pub target: String,
    desk: DeskHandle,
    cancel: CancellationToken,
    stage: Stage,
}

impl Consult {
    /// Starts calling `target` (a queue's name or a phone number).
    pub fn start(
        engine: &CallEngineShared,
        context: &ConsultContext<'_>,
        target: &str,
    ) -> Result<Consult, String> {
        let desk = context.desk.clone();
        let cancel = engine.shutdown.child_token();
        let (label, stage) = match desk.transfer_target(target)? {
            Transfer::Queue(queue) => {
                // Unique across every consultation of the call (each agent
                // the caller reaches may consult again).
                let call = format!("{}.consult-{:08x}", context.call_id, rand::random::<u32>());
                let (notices, receiver) = mpsc::unbounded_channel();
                let mut screen = context.screen.to_vec();
                for (name, value) in &mut screen {
                    if name == "X-Switchboard-Queue" {
                        value.clone_from(&queue);
                    }
                }
                screen.push(("X-Switchboard-Consult".into(), "yes".into()));
                let sent = desk.send(Command::Enqueue {
                    call: call.clone(),
                    queue: queue.clone(),
                    priority: CONSULT_PRIORITY,
                    callback: false,
                    caller: Waiting {
                        notices,
                        screen,
                        caller_number: context.caller_number.to_string(),
                        entered_at: Utc::now(),
                    },
                });
                if !sent {
                    return Err("the agent desk has stopped".into());
                }
                (
                    queue.clone(),
                    Stage::Queued {
                        call,
                        queue,
                        entered: Instant::now(),
                        notices: receiver,
                    },
                )
            }
            Transfer::Number(number) => {
                let label = Masked(&number).to_string();
                let dial = desk.dial_out_in_background(number, cancel.clone());
                (label, Stage::Dialling(dial))
            }
            Transfer::Attended(_) => return Err("not a consultation target".into()),
        };
        Ok(Consult {
            target: label,
            desk,
            cancel,
            stage,
        })
    }

    /// The consulted party's leg, once answered.
    pub fn party(&mut self) -> Option<&mut AgentLeg> {
        match &mut self.stage {
            Stage::Connected { attended, .. } => Some(&mut attended.party),
            _ => None,
        }
    }

    /// The next thing the consultation does (never resolves once over).
    pub async fn next(&mut self, buffer: &mut [u8]) -> ConsultInput {
        let mut answered = match &mut self.stage {
            Stage::Queued {
                call,
                queue,
                entered,
                notices,
            } => loop {
                let failure = match notices.recv().await {
                    Some(Notice::Connect { agent, party }) => {
                        break Attended {
                            agent,
                            queue_call: Some(QueueCall {
                                id: call.clone(),
                                entered: *entered,
                            }),
                            party: *party,
                        };
                    }
                    Some(Notice::Position { .. } | Notice::MovedTo(_)) => continue,
                    Some(Notice::Overflow(_)) => {
                        ("timed_out", format!("nobody in {queue} answered in time"))
                    }
                    Some(Notice::Unavailable(reason)) => ("unavailable", reason),
                    None => ("unavailable", "the agent desk stopped".to_string()),
                };
                let (result, reason) = failure;
                self.desk.send(Command::Left {
                    call: call.clone(),
                    end: left(result, entered.elapsed(), None),
                });
                self.stage = Stage::Done;
                return ConsultInput::Failed(reason);
            },
            Stage::Dialling(dial) => match dial.await {
                Ok(Ok(party)) => Attended {
                    agent: self.target.clone(),
                    queue_call: None,
                    party: AgentLeg::Phone(Box::new(party)),
                },
                Ok(Err(reason)) => {
                    self.stage = Stage::Done;
                    return ConsultInput::Failed(reason);
                }
                Err(_) => {
                    self.stage = Stage::Done;
                    return ConsultInput::Failed("the call could not be placed".into());
                }
            },
            Stage::Connected { attended, .. } => {
                return ConsultInput::Leg(leg_input(&mut attended.party, buffer).await)
            }
            Stage::Done => std::future::pending().await,
        };
        info!(target = %self.target, agent = %answered.agent, "consultation answered");
        // Its audio is relayed to the agent (decoded, not just received).
        match &mut answered.party {
            AgentLeg::Phone(party) => party.media.start_relay(),
            AgentLeg::Browser(call) => call.leg.start_bridge(),
        }
        self.stage = Stage::Connected {
            attended: Box::new(answered),
            since: Instant::now(),
        };
        ConsultInput::Answered
    }

    /// Completes the transfer: the consulted party, for the caller (`None`
    /// while nobody has answered; the consultation goes on).
    pub fn take_answered(&mut self) -> Option<Box<Attended>> {
        match std::mem::replace(&mut self.stage, Stage::Done) {
            Stage::Connected {
                mut attended,
                since,
            } => {
                // The consulted agent's queue row counts the wait until they
                // answered, not the consultation that followed.
                if let Some(call) = attended.queue_call.as_mut() {
                    call.entered += since.elapsed();
                }
                Some(attended)
            }
            stage => {
                self.stage = stage;
                None
            }
        }
    }

    /// Ends the consultation without a transfer: stops waiting or ringing,
    /// or hangs up the consulted party. Never waits: the bridge goes on at
    /// once (the caller hears the agent again).
    pub fn finish(self, cause: &'static str) {
        self.cancel.cancel();
        match self.stage {
            Stage::Queued {
                call,
                entered,
                mut notices,
                ..
            } => {
                self.desk.send(Command::Left {
                    call: call.clone(),
                    end: left("abandoned", entered.elapsed(), None),
                });
                // An agent may have answered just now: do not leave them in
                // a silent call.
                notices.close();
                while let Ok(notice) = notices.try_recv() {
                    if let Notice::Connect { agent, party } = notice {
                        info!(agent = %agent, "consulted agent answered as the consultation ended");
                        party.hang_up_later("consult_cancelled");
                        self.desk.send(Command::Left {
                            call: call.clone(),
                            end: left("abandoned", entered.elapsed(), None),
                        });
                    }
                }
            }
            Stage::Dialling(dial) => {
                // Cancelled: the ring gives up; an answer that crossed the
                // CANCEL is hung up.
                tokio::spawn(async move {
                    if let Ok(Ok(party)) = dial.await {
                        AgentLeg::Phone(Box::new(party)).hang_up(cause).await;
                    }
                });
            }
            Stage::Connected { attended, since } => {
                let queue_call = attended.queue_call.clone();
                attended.party.hang_up_later(cause);
                if let Some(queue_call) = &queue_call {
                    self.desk.send(Command::Left {
                        call: queue_call.id.clone(),
                        end: left(
                            "answered",
                            queue_call.entered.elapsed().saturating_sub(since.elapsed()),
                            Some(since.elapsed()),
                        ),
                    });
                }
            }
            Stage::Done => {}
        }
    }
}

/// A queue row's end.
fn left(result: &str, wait: Duration, talk: Option<Duration>) -> QueueCallEnd {
    QueueCallEnd {
        left_at: Utc::now(),
        result: result.to_string(),
        wait_ms: wait.as_millis() as i64,
        talk_ms: talk.map(|talk| talk.as_millis() as i64),
        recording: None,
    }
}

/// The consultation's next input, or never when there is none.
pub(crate) async fn next_input(consult: &mut Option<Consult>, buffer: &mut [u8]) -> ConsultInput {
    match consult {
        Some(consult) => consult.next(buffer).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn only_the_agent_who_placed_a_call_may_replace_it() {
        let registry = Replaceable::default();
        let unknown = registry.take("nope@host", "alice").await.err().unwrap();
        assert!(unknown.contains("not connected"), "{unknown}");

        let (registration, requests) = registry.register("c1@host".into(), "alice");
        let stranger = registry.take("c1@host", "mallory").await.err().unwrap();
        assert!(stranger.contains("not placed by mallory"), "{stranger}");

        // The call ended without handing over (its request channel closed).
        drop(requests);
        let ended = registry.take("c1@host", "alice").await.err().unwrap();
        assert!(ended.contains("has ended"), "{ended}");

        // A second call with the same Call-ID: the first one ending does not
        // unregister it.
        let (second, _second_requests) = registry.register("c1@host".into(), "alice");
        drop(registration);
        assert!(lock(&registry.calls).contains_key("c1@host"));
        // Once the bridge is over the call is no longer replaceable.
        drop(second);
        assert!(registry.take("c1@host", "alice").await.is_err());
        assert!(lock(&registry.calls).is_empty());
    }

    #[tokio::test]
    async fn a_request_the_call_drops_is_refused_not_hung() {
        let registry = Replaceable::default();
        let (_registration, mut requests) = registry.register("c2@host".into(), "alice");
        // The call takes the request but ends before answering it.
        let answering = tokio::spawn(async move {
            let request = requests.recv().await;
            drop(request);
        });
        let refused = registry.take("c2@host", "alice").await.err().unwrap();
        assert!(refused.contains("before handing over"), "{refused}");
        answering.await.unwrap();
    }
}
