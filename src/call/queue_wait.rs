//! A caller's time in an agent queue: music on hold, position and
//! estimated-wait announcements, the callback key, and the bridge to the
//! agent who answers. The dialplan hands the call over with a `transfer`
//! node naming a queue and gets it back with a [`QueueOutcome`].

use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::mpsc;
use tracing::{debug, info};

use super::agents::{Command, Notice, QueueCall, Waiting};
use super::bridge::{PartyMut, Side};
use super::media::{MediaEvent, MediaSession};
use super::talk::{self, TalkOptions, Talked};
use super::{dtmf_from_info, CallEngineShared, Ending, InfoDigit, MediaSide};
use crate::dialplan::numbers::number_prompts;
use crate::dialplan::{QueueOutcome, Session};
use crate::media::prompts::Prompt;
use crate::media::sdp::Negotiated;
use crate::sip::{Leg, LegEvent};
use crate::store::QueueCallEnd;

/// The caller's side, borrowed from its call task.
pub(super) struct Caller<'a> {
    pub id: &'a str,
    pub leg: &'a mut Leg,
    pub media: &'a mut MediaSession,
    pub socket: &'a tokio::net::UdpSocket,
    pub current: &'a mut Negotiated,
    pub local_port: u16,
    pub session_id: u64,
    pub session_version: &'a mut u64,
    /// The caller's number, as the agent should see it.
    pub number: &'a str,
}

/// How one call waits, beyond its queue's settings.
#[derive(Clone, Debug)]
pub(crate) struct WaitOptions {
    /// Leave the queue (timed out, result `abandoned`) after this long
    /// without an agent: agent-backed campaign calls get 2 s.
    pub max_wait: Option<Duration>,
    /// Record the bridged call even when the queue does not.
    pub record: bool,
    /// Offer "press N for a callback" (the queue's setting still applies).
    pub offer_callback: bool,
    /// Settled when an agent takes the call (the dialer counts calls
    /// still waiting for one).
    pub on_connect: Option<std::sync::Arc<super::PendingAgent>>,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            max_wait: None,
            record: false,
            offer_callback: true,
            on_connect: None,
        }
    }
}

/// How the wait ended.
pub(super) enum WaitEnd {
    /// Back to the dialplan.
    Outcome(QueueOutcome),
    /// An agent sent the caller to another queue: wait there.
    Transferred { queue: String },
    /// The call is over (caller hung up, talked to an agent, shutdown).
    Over {
        ending: Ending,
        outcome: Option<QueueOutcome>,
        recording: Option<String>,
    },
}

/// What is playing to the waiting caller.
#[derive(PartialEq)]
enum Playing {
    Music,
    Announcement,
    CallbackOffer,
}

/// Keeps `text` safe as a SIP header value: no line breaks or controls, and
/// bounded length.
fn header_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect()
}

fn header_name_part(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(40)
        .collect()
}

/// The screen pop for SIP phones: the caller's data as headers on the
/// agent's INVITE, plus a link to the call in the API.
pub(super) fn screen_pop(
    engine: &CallEngineShared,
    id: &str,
    queue: &str,
    number: &str,
    session: &Session,
) -> Vec<(String, String)> {
    let mut headers = vec![
        ("X-Switchboard-Call".to_string(), header_value(id)),
        ("X-Switchboard-Caller".to_string(), header_value(number)),
        ("X-Switchboard-Queue".to_string(), header_value(queue)),
        (
            "X-Switchboard-Path".to_string(),
            header_value(&session.path().join(">")),
        ),
        (
            "X-Switchboard-Digits".to_string(),
            header_value(session.digits()),
        ),
    ];
    for (name, value) in session.variables().iter().take(30) {
        let name = header_name_part(name);
        if !name.is_empty() {
            headers.push((format!("X-Switchboard-Var-{name}"), header_value(value)));
        }
    }
    headers.extend(call_link(engine, id));
    headers
}

/// The `Call-Info` link to a call in this run's API, when it has one.
pub(super) fn call_link(engine: &CallEngineShared, id: &str) -> Option<(String, String)> {
    let base = engine.settings.api_base.as_ref()?;
    Some((
        "Call-Info".to_string(),
        format!("<{base}/api/calls/{id}>;purpose=info"),
    ))
}

/// A campaign call must reach an agent within 2 s of the person's answer,
/// so the agent's phone is asked to answer at once: `Answer-Mode: Auto`
/// (RFC 5373) and `Call-Info: ...;answer-after=0` (the form Snom, Yealink
/// and Polycom phones read). A phone that knows neither rings as usual.
pub(super) fn auto_answer_headers(engine: std::net::IpAddr) -> [(String, String); 2] {
    let host = match engine {
        std::net::IpAddr::V6(address) => format!("[{address}]"),
        std::net::IpAddr::V4(address) => address.to_string(),
    };
    [
        ("Answer-Mode".to_string(), "Auto".to_string()),
        (
            "Call-Info".to_string(),
            format!("<sip:{host}>;answer-after=0"),
        ),
    ]
}

/// Announcement prompts: "you are number N in line; your estimated wait is
/// about M minutes".
fn position_prompts(language: &str, position: usize, wait: Duration) -> Vec<(String, String)> {
    let mut names = vec!["queue_position".to_string()];
    names.extend(number_prompts(&position.to_string(), language));
    names.push("queue_in_line".to_string());
    let minutes = wait.as_secs().div_ceil(60).max(1);
    names.push("queue_wait".to_string());
    names.extend(number_prompts(&minutes.to_string(), language));
    names.push(if minutes == 1 { "minute" } else { "minutes" }.to_string());
    names
        .into_iter()
        .map(|name| (language.to_string(), name))
        .collect()
}

/// Waits in `queue` until an agent answers (then bridges), the caller
/// leaves, asks for a callback, or the queue gives up on the call.
pub(super) async fn wait_in_queue(
    engine: &CallEngineShared,
    caller: Caller<'_>,
    queue_name: &str,
    session: &Session,
    log: &(dyn Fn(&str, &str) + Sync),
    options: &WaitOptions,
) -> WaitEnd {
    let Some(desk) = engine.desk.get() else {
        return WaitEnd::Outcome(QueueOutcome::Unavailable(
            "agent queues are not configured".into(),
        ));
    };
    let Some(settings) = desk.queue(queue_name).cloned() else {
        return WaitEnd::Outcome(QueueOutcome::Unavailable(format!(
            "no queue is named '{queue_name}'"
        )));
    };
    let language = session
        .variables()
        .get("language")
        .cloned()
        .unwrap_or_else(|| "en".into());
    let priority = session
        .variables()
        .get("priority")
        .and_then(|p| p.trim().parse::<u8>().ok())
        .unwrap_or(0);
    let screen = screen_pop(engine, caller.id, queue_name, caller.number, session);
    // The first agent's phone only (not a consulted agent's).
    let mut offer_screen = screen.clone();
    if options.on_connect.is_some() {
        offer_screen.extend(auto_answer_headers(engine.settings.advertised_address));
    }
    let (notices, mut notice_receiver) = mpsc::unbounded_channel();
    let entered = Instant::now();
    let entered_at = Utc::now();
    let waiting = Waiting {
        notices: notices.clone(),
        screen: offer_screen,
        caller_number: caller.number.to_string(),
        entered_at,
    };
    if !desk.send(Command::Enqueue {
        call: caller.id.to_string(),
        queue: queue_name.to_string(),
        priority,
        callback: false,
        caller: waiting,
    }) {
        return WaitEnd::Outcome(QueueOutcome::Unavailable("the agent desk stopped".into()));
    }
    drop(notices);
    log("queue", &format!("waiting in {queue_name}"));

    let Caller {
        id,
        leg,
        media,
        socket,
        current,
        local_port,
        session_id,
        session_version,
        number,
    } = caller;
    let prompt = |name: &str| engine.prompts.get(&language, name).ok();
    let music: Vec<std::sync::Arc<Prompt>> = prompt(&settings.music).into_iter().collect();
    let can_call_back = dialable(number);
    let callback_hint: Vec<std::sync::Arc<Prompt>> =
        if settings.callback && can_call_back && options.offer_callback {
            [
                "queue_callback_option".to_string(),
                digit_prompt(settings.callback_digit),
            ]
            .iter()
            .filter_map(|name| prompt(name))
            .collect()
        } else {
            Vec::new()
        };
    let mut playing = Playing::Music;
    media.play(callback_hint.iter().chain(music.iter()).cloned().collect());
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut buffer = vec![0u8; 2048];
    let mut events = Vec::new();
    // After an overflow to a callback offer: when the offer lapses.
    let mut offer_deadline: Option<tokio::time::Instant> = None;
    let give_up_at = options
        .max_wait
        .map(|limit| tokio::time::Instant::now() + limit);
    let left = |result: &str| QueueCallEnd {
        left_at: Utc::now(),
        result: result.to_string(),
        wait_ms: entered.elapsed().as_millis() as i64,
        talk_ms: None,
        recording: None,
    };
    let send_left = |result: &str| {
        desk.send(Command::Left {
            call: id.to_string(),
            end: left(result),
        });
    };

    let end = async {
    loop {
        let mut digit: Option<char> = None;
        let offer_lapsed = async {
            match offer_deadline {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let out_of_time = async {
            match give_up_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = ticker.tick() => {
                let now = Instant::now();
                if let Some(MediaEvent::PlaybackFinished) = media.on_tick(now).await {
                    match playing {
                        Playing::CallbackOffer => {
                            offer_deadline.get_or_insert_with(|| tokio::time::Instant::now() + Duration::from_secs(8));
                        }
                        _ => {
                            playing = Playing::Music;
                            media.play(music.clone());
                        }
                    }
                }
                if media.expects_media() && now.duration_since(media.last_packet_at) > engine.settings.media_timeout {
                    info!("no RTP from the waiting caller; hanging up");
                    leg.hangup().await.ok();
                    send_left("abandoned");
                    return WaitEnd::Over { ending: Ending { hangup_by: "engine", cause: "media_timeout".into() }, outcome: None, recording: None };
                }
            }
            received = socket.recv_from(&mut buffer) => {
                if let Ok((length, source)) = received {
                    events.clear();
                    media.on_datagram(&buffer[..length], source, Instant::now(), &mut events);
                    digit = events.iter().find_map(|event| match event {
                        MediaEvent::Digit(d) => Some(*d),
                        _ => None,
                    });
                }
            }
            event = leg.next_event() => match event {
                Some(LegEvent::RemoteHangup) | Some(LegEvent::Cancelled) | Some(LegEvent::Failed(_)) | None => {
                    info!(waited_s = entered.elapsed().as_secs(), "caller hung up while waiting");
                    send_left("abandoned");
                    return WaitEnd::Over { ending: Ending { hangup_by: "caller", cause: "BYE".into() }, outcome: None, recording: None };
                }
                Some(LegEvent::Confirmed { .. }) => {}
                Some(LegEvent::Reoffer { body, responder }) => {
                    let mut side = MediaSide { media, current, local_port, session_id, session_version };
                    side.reoffer(engine, &body, responder).await;
                }
                Some(LegEvent::Info { content_type, body, responder }) => match dtmf_from_info(&content_type, &body) {
                    InfoDigit::Digit(d) => {
                        responder.respond(200, None, None).await;
                        digit = Some(d);
                    }
                    InfoDigit::NotDtmf => responder.respond(415, None, None).await,
                    InfoDigit::Malformed => responder.respond(400, None, None).await,
                },
                Some(LegEvent::Refer { responder, .. }) => responder.respond(501, None, None).await,
                Some(LegEvent::Other { method, responder }) => {
                    let status = if matches!(method.as_str(), "OPTIONS" | "NOTIFY") { 200 } else { 501 };
                    responder.respond(status, None, None).await;
                }
            },
            notice = notice_receiver.recv() => match notice {
                Some(Notice::Position { position, estimated_wait }) => {
                    if playing == Playing::Music {
                        debug!(position, wait_s = estimated_wait.as_secs(), "announcing position");
                        let prompts: Vec<_> = position_prompts(&language, position, estimated_wait)
                            .iter()
                            .filter_map(|(language, name)| engine.prompts.get(language, name).ok())
                            .chain(callback_hint.iter().cloned())
                            .collect();
                        media.stop_playback();
                        media.play(prompts);
                        playing = Playing::Announcement;
                    }
                }
                Some(Notice::MovedTo(queue)) => log("queue", &format!("moved to {queue}")),
                Some(Notice::Connect { agent, party }) => {
                    if let Some(pending) = &options.on_connect {
                        pending.settle();
                    }
                    log("queue", &format!("connected to agent {agent}"));
                    info!(agent = %agent, waited_ms = entered.elapsed().as_millis() as u64, "bridging caller to agent");
                    let talk_options = TalkOptions {
                        desk,
                        id,
                        number,
                        screen: &screen,
                        music: &music,
                        record: settings.record || options.record,
                        queue_transfers: true,
                        replaceable: true,
                    };
                    let caller_side = PartyMut { leg, media, current, local_port, session_id, session_version };
                    let first_call = QueueCall { id: id.to_string(), entered };
                    let talked = talk::talk(engine, &talk_options, caller_side, agent, *party, Some(first_call), log).await;
                    return match talked {
                        Talked::ToQueue { queue, .. } => WaitEnd::Transferred { queue },
                        Talked::Over { hung_up_by, cause, agent, outside, recording } => {
                            let hangup_by = match hung_up_by {
                                Some(Side::Caller) => "caller",
                                Some(Side::Agent) if outside => "callee",
                                Some(Side::Agent) => "agent",
                                None => "engine",
                            };
                            WaitEnd::Over { ending: Ending { hangup_by, cause }, outcome: Some(QueueOutcome::Connected { agent }), recording }
                        }
                        Talked::HandedOver { agent, recording } => WaitEnd::Over {
                            ending: Ending { hangup_by: "engine", cause: "replaced".into() },
                            outcome: Some(QueueOutcome::Connected { agent }),
                            recording,
                        },
                        Talked::TransferFailed { reason, .. } => {
                            WaitEnd::Outcome(QueueOutcome::Unavailable(format!("transfer failed: {reason}")))
                        }
                    };
                }
                Some(Notice::Overflow(crate::acd::OverflowTarget::CallbackOffer)) if can_call_back => {
                    send_left("timed_out");
                    log("queue", "waited too long: callback offered");
                    let offer: Vec<_> = ["queue_callback_offer".to_string(), digit_prompt(settings.callback_digit)]
                        .iter()
                        .filter_map(|name| prompt(name))
                        .collect();
                    media.stop_playback();
                    media.play(offer);
                    playing = Playing::CallbackOffer;
                }
                Some(Notice::Overflow(_)) => {
                    send_left("timed_out");
                    return WaitEnd::Outcome(QueueOutcome::TimedOut);
                }
                Some(Notice::Unavailable(reason)) => {
                    send_left("unavailable");
                    return WaitEnd::Outcome(QueueOutcome::Unavailable(reason));
                }
                None => {
                    // The desk stopped (shutdown) or dropped the call.
                    send_left("unavailable");
                    return WaitEnd::Outcome(QueueOutcome::Unavailable("the agent desk stopped".into()));
                }
            },
            _ = offer_lapsed => {
                info!("callback offer not taken");
                return WaitEnd::Outcome(QueueOutcome::TimedOut);
            }
            _ = out_of_time => {
                info!(waited_ms = entered.elapsed().as_millis() as u64, "no agent took the call in time");
                log("queue", &format!("no agent within {} ms", options.max_wait.unwrap_or_default().as_millis()));
                send_left("abandoned");
                return WaitEnd::Outcome(QueueOutcome::TimedOut);
            }
            _ = engine.shutdown.cancelled() => {
                // Said first: the desk waits only a moment for it, and the
                // caller's answer to our BYE may take longer.
                send_left("shutdown");
                tokio::time::timeout(Duration::from_secs(2), leg.hangup()).await.ok();
                return WaitEnd::Over { ending: Ending { hangup_by: "system", cause: "shutdown".into() }, outcome: None, recording: None };
            }
        }
        let Some(digit) = digit else { continue };
        let wants_callback = digit == settings.callback_digit
            && can_call_back
            && options.offer_callback
            && (settings.callback || playing == Playing::CallbackOffer);
        if !wants_callback {
            debug!(%digit, "digit ignored while waiting");
            continue;
        }
        media.stop_playback();
        if playing == Playing::CallbackOffer {
            // The call already left the queue: it goes back in as a callback.
            desk.send(Command::Enqueue {
                call: id.to_string(),
                queue: queue_name.to_string(),
                priority,
                callback: true,
                caller: Waiting {
                    notices: mpsc::unbounded_channel().0,
                    screen: screen.clone(),
                    caller_number: number.to_string(),
                    entered_at,
                },
            });
        } else {
            desk.send(Command::Callback {
                call: id.to_string(),
                number: number.to_string(),
            });
        }
        info!(
            waited_s = entered.elapsed().as_secs(),
            "caller asked for a callback"
        );
        return WaitEnd::Outcome(QueueOutcome::CallbackRequested);
    }
    }
    .await;
    // An agent may have answered just as the caller left (hung up, asked for
    // a callback, ...): that agent must not sit in a silent call.
    notice_receiver.close();
    while let Ok(notice) = notice_receiver.try_recv() {
        if let Notice::Connect { agent, party } = notice {
            info!(agent = %agent, "an agent answered as the caller left; hanging up the agent");
            party.hang_up_later("caller_gone");
            desk.send(Command::Left {
                call: id.to_string(),
                end: left("abandoned"),
            });
        }
    }
    end
}

/// Only a plain phone number can be called back: a caller's From user is
/// not checked by anyone, and it goes into the trunk's Request-URI.
fn dialable(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The prompt that says one phone key.
fn digit_prompt(digit: char) -> String {
    match digit {
        '*' => "digit_star".into(),
        '#' => "digit_pound".into(),
        d => format!("digit_{d}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_answer_names_the_engine_by_address() {
        let [mode, info] = auto_answer_headers("10.0.0.5".parse().unwrap());
        assert_eq!(mode, ("Answer-Mode".into(), "Auto".into()));
        assert_eq!(info.1, "<sip:10.0.0.5>;answer-after=0");
        let [_, info] = auto_answer_headers("2001:db8::1".parse().unwrap());
        assert_eq!(info.1, "<sip:[2001:db8::1]>;answer-after=0");
    }

    #[test]
    fn only_plain_numbers_are_called_back() {
        assert!(dialable("+15551234567"));
        assert!(dialable("5551234"));
        assert!(!dialable("anonymous"));
        assert!(!dialable("+1900;premium"));
        assert!(!dialable("12"));
    }

    #[test]
    fn header_values_cannot_break_the_message() {
        assert_eq!(header_value("a\r\nVia: evil"), "a  Via: evil");
        assert_eq!(header_value(&"x".repeat(500)).len(), 200);
        assert_eq!(header_name_part("acct no.\r\n"), "acctno");
    }

    #[test]
    fn position_announcement_rounds_wait_up_to_minutes() {
        let names: Vec<String> = position_prompts("en", 3, Duration::from_secs(61))
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(
            names,
            [
                "queue_position",
                "num_3",
                "queue_in_line",
                "queue_wait",
                "num_2",
                "minutes"
            ]
        );
        let names: Vec<String> = position_prompts("en", 1, Duration::from_secs(5))
            .into_iter()
            .map(|(_, name)| name)
            .collect();
        assert_eq!(names.last().map(String::as_str), Some("minute"));
    }
}
