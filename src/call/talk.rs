//! A caller talking to agents, from the first agent's answer to the end of
//! the call, through every transfer on the way:
//! - attended: the caller is bridged to the party the agent consulted (a
//!   consulted agent's queue row closes when that bridge ends);
//! - blind to a number: the number is dialled through the trunk while the
//!   caller hears music, then the two are bridged;
//! - blind to a queue: handed back to the caller's task, which waits there.
//!
//! Used by callers who waited in a queue and by callbacks' customers.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::info;

use super::agents::{Attended, Command, DeskHandle, QueueCall, Transfer};
use super::bridge::{self, AgentLeg, BridgeEnd, BridgeOptions, PartyMut, Side};
use super::consult::ConsultContext;
use super::media::MediaEvent;
use super::{CallEngineShared, MediaSide};
use crate::media::prompts::Prompt;
use crate::pii::Masked;
use crate::sip::LegEvent;
use crate::store::QueueCallEnd;

/// Who the caller is and what the agents may do with the call.
pub(super) struct TalkOptions<'a> {
    pub desk: &'a DeskHandle,
    /// The call's id (recordings, consultation calls).
    pub id: &'a str,
    /// The caller's number, as agents see it.
    pub number: &'a str,
    /// The screen pop a consulted agent gets.
    pub screen: &'a [(String, String)],
    /// Played to the caller on hold and while a number rings.
    pub music: &'a [Arc<Prompt>],
    /// Record each agent's part as stereo WAV.
    pub record: bool,
    /// A blind transfer to a queue is allowed (the caller's task can wait
    /// there; a callback's cannot).
    pub queue_transfers: bool,
    /// Another call may take this call's agent: a phone's attended transfer
    /// replacing this caller, when the caller is that agent's phone.
    pub replaceable: bool,
}

/// How the talk ended.
pub(super) enum Talked {
    /// The call is over. `agent`: the last agent the caller talked to;
    /// `outside`: the last party was an outside number, not an agent.
    Over {
        hung_up_by: Option<Side>,
        cause: String,
        agent: String,
        outside: bool,
        recording: Option<String>,
    },
    /// An agent sent the caller to another queue (blind).
    ToQueue { queue: String },
    /// A blind transfer to a number failed: the caller is still on the line.
    TransferFailed {
        reason: String,
        recording: Option<String>,
    },
    /// This call was an agent's consultation: its agent went to the call
    /// that replaced it, and this caller's leg is hung up.
    HandedOver {
        agent: String,
        recording: Option<String>,
    },
}

/// A queue row closed after its agent talked for `talk`.
pub(super) fn answered(
    call: &QueueCall,
    talk: Duration,
    recording: Option<String>,
) -> QueueCallEnd {
    QueueCallEnd {
        left_at: chrono::Utc::now(),
        result: "answered".into(),
        wait_ms: call.entered.elapsed().saturating_sub(talk).as_millis() as i64,
        talk_ms: Some(talk.as_millis() as i64),
        recording,
    }
}

/// Where a bridged call's stereo recording goes: `queues/<call>.wav`, or
/// `<call>-2.wav`, ... for the next agent after a transfer (never over an
/// earlier one).
fn recording_path(engine: &CallEngineShared, id: &str) -> std::path::PathBuf {
    let dir = engine.settings.recordings_dir.join("queues");
    (1..100)
        .map(|n| match n {
            1 => dir.join(format!("{id}.wav")),
            n => dir.join(format!("{id}-{n}.wav")),
        })
        .find(|path| !path.exists())
        .unwrap_or_else(|| dir.join(format!("{id}-last.wav")))
}

/// Bridges `caller` to `agent` on `party`, then to whoever the agents
/// transfer the call to, until the call ends or leaves for a queue.
/// `queue_call`: the queue row the first agent's talk closes (`None` when
/// the caller's task closes it, as for a callback).
#[allow(clippy::too_many_arguments)]
pub(super) async fn talk(
    engine: &CallEngineShared,
    options: &TalkOptions<'_>,
    mut caller: PartyMut<'_>,
    agent: String,
    party: AgentLeg,
    queue_call: Option<QueueCall>,
    log: &(dyn Fn(&str, &str) + Sync),
) -> Talked {
    let desk = options.desk;
    let mut agent = agent;
    let mut party = party;
    let mut queue_call = queue_call;
    // False once the caller talks to an outside number (no more transfers).
    let mut with_agent = true;
    let mut first_recording: Option<String> = None;
    let end: BridgeEnd = loop {
        let recording = options.record.then(|| recording_path(engine, options.id));
        let registered = options.replaceable.then(|| {
            engine
                .replaceable
                .register(caller.leg.call_id(), options.number)
        });
        let (registration, hand_over) = match registered {
            Some((registration, requests)) => (Some(registration), Some(requests)),
            None => (None, None),
        };
        let bridge_options = BridgeOptions {
            recording,
            music: options.music.to_vec(),
            transfers: with_agent.then_some(desk),
            queue_transfers: options.queue_transfers,
            agent: with_agent.then_some(agent.as_str()),
            consult: with_agent.then_some(ConsultContext {
                desk,
                call_id: options.id,
                screen: options.screen,
                caller_number: options.number,
            }),
            hand_over,
        };
        let end = bridge::bridge(engine, caller.reborrow(), &mut party, bridge_options).await;
        drop(registration);
        if first_recording.is_none() {
            first_recording.clone_from(&end.recording);
        }
        if let Some(request) = end.handed_over {
            log(
                "transfer",
                &format!("agent {agent} was handed to another call (attended transfer)"),
            );
            let attended = Attended {
                agent: agent.clone(),
                queue_call: queue_call.take(),
                party,
            };
            if let Err(attended) = request.send(attended) {
                // The other call gave up waiting: nobody takes the agent.
                attended.party.hang_up_later("transfer_failed");
                if let Some(call) = attended.queue_call {
                    desk.send(Command::Left {
                        end: answered(&call, end.talk_time, None),
                        call: call.id,
                    });
                }
            }
            return Talked::HandedOver {
                agent,
                recording: first_recording,
            };
        }
        if let Some(call) = queue_call.take() {
            desk.send(Command::Left {
                call: call.id.clone(),
                end: answered(&call, end.talk_time, end.recording.clone()),
            });
        }
        match end.transfer {
            Some(Transfer::Attended(attended)) => {
                let Attended {
                    agent: next,
                    queue_call: next_call,
                    party: next_party,
                } = *attended;
                log(
                    "transfer",
                    &format!("agent {agent} transferred the call to {next} after consulting"),
                );
                info!(from = %agent, to = %next, "attended transfer: bridging the caller to the consulted party");
                with_agent = next_call.is_some();
                if with_agent {
                    agent = next;
                }
                party = next_party;
                queue_call = next_call;
            }
            _ => break end,
        }
    };
    let number = match end.transfer {
        Some(Transfer::Queue(queue)) => {
            log(
                "transfer",
                &format!("agent {agent} transferred the call to queue {queue}"),
            );
            return Talked::ToQueue { queue };
        }
        Some(Transfer::Number(number)) => number,
        Some(Transfer::Attended(_)) | None => {
            return Talked::Over {
                hung_up_by: end.hung_up_by,
                cause: end.cause,
                agent,
                outside: !with_agent,
                recording: first_recording,
            }
        }
    };
    log(
        "transfer",
        &format!("agent {agent} transferred the call to {number}"),
    );
    info!(agent = %agent, number = %Masked(&number), "transferring the caller to a number");
    let outside = match dial_with_music(engine, desk, &mut caller, &number, options.music).await {
        Ok(Some(outside)) => outside,
        // The caller hung up while it rang.
        Ok(None) => {
            return Talked::Over {
                hung_up_by: Some(Side::Caller),
                cause: "BYE".into(),
                agent,
                outside: false,
                recording: first_recording,
            }
        }
        Err(reason) => {
            log(
                "transfer",
                &format!("the transfer to {number} failed: {reason}"),
            );
            return Talked::TransferFailed {
                reason,
                recording: first_recording,
            };
        }
    };
    let mut outside = AgentLeg::Phone(Box::new(outside));
    let second = bridge::bridge(
        engine,
        caller,
        &mut outside,
        BridgeOptions {
            music: options.music.to_vec(),
            ..BridgeOptions::default()
        },
    )
    .await;
    Talked::Over {
        hung_up_by: second.hung_up_by,
        cause: second.cause,
        agent,
        outside: true,
        recording: first_recording,
    }
}

/// Dials `number` through the trunk while the caller hears music; the
/// answered party, `None` when the caller hung up meanwhile, or why the
/// number could not be reached.
async fn dial_with_music(
    engine: &CallEngineShared,
    desk: &DeskHandle,
    caller: &mut PartyMut<'_>,
    number: &str,
    music: &[Arc<Prompt>],
) -> Result<Option<super::bridge::Party>, String> {
    let cancel = engine.shutdown.child_token();
    let dial = desk.dial_out(engine, number, cancel.clone());
    tokio::pin!(dial);
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    caller.media.play(music.to_vec());
    let mut caller_gone = false;
    let dialled = loop {
        tokio::select! {
            result = &mut dial => break result,
            _ = ticker.tick() => {
                if let Some(MediaEvent::PlaybackFinished) = caller.media.on_tick(Instant::now()).await {
                    caller.media.play(music.to_vec());
                }
            }
            event = caller.leg.next_event(), if !caller_gone => match event {
                Some(LegEvent::RemoteHangup | LegEvent::Cancelled | LegEvent::Failed(_)) | None => {
                    caller_gone = true;
                    cancel.cancel();
                }
                Some(LegEvent::Info { responder, .. }) => responder.respond(200, None, None).await,
                Some(LegEvent::Reoffer { body, responder }) => {
                    let mut side = MediaSide {
                        media: &mut *caller.media,
                        current: &mut *caller.current,
                        local_port: caller.local_port,
                        session_id: caller.session_id,
                        session_version: &mut *caller.session_version,
                    };
                    side.reoffer(engine, &body, responder).await;
                }
                Some(LegEvent::Refer { responder, .. }) => responder.respond(501, None, None).await,
                Some(LegEvent::Other { responder, .. }) => responder.respond(200, None, None).await,
                Some(LegEvent::Confirmed { .. }) => {}
            },
        }
    };
    caller.media.stop_playback();
    match (dialled, caller_gone) {
        (Ok(outside), false) => Ok(Some(outside)),
        (Ok(outside), true) => {
            AgentLeg::Phone(Box::new(outside)).hang_up_later("caller_gone");
            Ok(None)
        }
        (Err(_), true) => Ok(None),
        (Err(reason), false) => Err(reason),
    }
}
