//! One SIP call leg as the call layer sees it: commands out (ring, answer,
//! hang up, transfer) and [`LegEvent`]s in. Wraps an rsipstack server dialog.

use std::sync::Arc;

use rsipstack::dialog::dialog::{
    DialogState, DialogStateReceiver, TerminatedReason, TransactionHandle,
};
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invite_dialog::InviteDialog;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::key::TransactionRole;

use super::SipError;

/// Something the caller's side did.
#[derive(Debug)]
pub enum LegEvent {
    /// The dialog is confirmed (media may flow both ways). On a call we
    /// answered, `body` is the ACK's (the SDP answer to a delayed offer); on a
    /// call we placed, it is the 200's SDP answer.
    Confirmed { body: Vec<u8> },
    /// The caller gave up before we answered (the stack already sent 487).
    Cancelled,
    /// The caller hung up (BYE).
    RemoteHangup,
    /// The dialog ended for another reason (no ACK, transport failure, ...).
    Failed(String),
    /// SIP INFO inside the call (DTMF relay, for instance).
    Info {
        content_type: String,
        body: Vec<u8>,
        responder: Responder,
    },
    /// A re-INVITE or UPDATE with a new offer (hold, resume, new address).
    Reoffer { body: Vec<u8>, responder: Responder },
    /// A transfer request (RFC 3515 REFER): `target` is the Refer-To URI.
    Refer {
        target: String,
        responder: Responder,
    },
    /// Some other in-dialog request the call may answer.
    Other {
        method: String,
        responder: Responder,
    },
}

/// Answers one in-dialog request.
#[derive(Debug)]
pub struct Responder {
    handle: TransactionHandle,
}

impl Responder {
    pub async fn respond(self, status: u16, content_type: Option<&str>, body: Option<Vec<u8>>) {
        let headers = content_type.map(|value| vec![Header::ContentType(value.into())]);
        if self
            .handle
            .respond(StatusCode::from(status), headers, body)
            .await
            .is_err()
        {
            tracing::debug!(status, "in-dialog request ended before we answered");
        }
    }
}

pub struct Leg {
    pub(super) dialog: InviteDialog,
    pub(super) states: DialogStateReceiver,
    dialogs: Arc<DialogLayer>,
    confirmed: bool,
}

impl Leg {
    pub(super) fn new(
        dialog: InviteDialog,
        states: DialogStateReceiver,
        dialogs: Arc<DialogLayer>,
    ) -> Leg {
        Leg {
            dialog,
            states,
            dialogs,
            confirmed: false,
        }
    }

    /// The dialog's SIP Call-ID (what a `Replaces` header names).
    pub fn call_id(&self) -> String {
        self.dialog.id().call_id
    }

    /// 180 Ringing.
    pub fn ringing(&self) -> Result<(), SipError> {
        Ok(self.dialog.ringing(None, None)?)
    }

    /// 200 OK with our SDP answer.
    pub fn answer(&self, sdp: &str) -> Result<(), SipError> {
        Ok(self.dialog.accept(
            Some(vec![Header::ContentType("application/sdp".into())]),
            Some(sdp.as_bytes().to_vec()),
        )?)
    }

    /// A final error response before answering.
    pub fn reject(&self, status: u16, reason: &str) -> Result<(), SipError> {
        Ok(self
            .dialog
            .reject(Some(StatusCode::from(status)), Some(reason.to_string()))?)
    }

    /// BYE.
    pub async fn hangup(&self) -> Result<(), SipError> {
        Ok(self.dialog.bye().await?)
    }

    /// Blind transfer (RFC 3515 REFER). Returns the status the caller's UA gave
    /// the REFER: 202 means it accepted and will call the target itself.
    pub async fn refer(&self, target: &str) -> Result<u16, SipError> {
        let uri = rsipstack::sip::Uri::try_from(target)
            .map_err(|error| SipError::Stack(format!("bad transfer target {target}: {error}")))?;
        let response = self.dialog.refer(uri, None, None).await?;
        Ok(response
            .map(|response| u16::from(response.status_code))
            .unwrap_or(0))
    }

    /// Tells the side that sent us a REFER how the transfer went (RFC 3515
    /// §2.4.5: a NOTIFY with a sipfrag status line; the implicit
    /// subscription ends with it). Bounded to 2 s.
    pub async fn notify_transfer(&self, status: u16) {
        let sent = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            self.dialog
                .notify_refer(StatusCode::from(status), "terminated;reason=noresource"),
        )
        .await;
        if !matches!(sent, Ok(Ok(_))) {
            tracing::debug!(status, "the transfer NOTIFY was not answered");
        }
    }

    /// The next thing the caller's side did; `None` once the dialog is gone.
    pub async fn next_event(&mut self) -> Option<LegEvent> {
        loop {
            let state = self.states.recv().await?;
            match state {
                DialogState::Confirmed(_, response) => {
                    // The stack re-announces Confirmed after every in-dialog
                    // request; only the first one (the ACK) is news.
                    if !self.confirmed {
                        self.confirmed = true;
                        // Our own INVITE: the answer is in the 200. Theirs:
                        // a delayed offer's answer is in the ACK.
                        let body = if self.dialog.role() == TransactionRole::Client {
                            response.body
                        } else {
                            self.dialog
                                .last_remote_ack()
                                .map(|ack| ack.body)
                                .unwrap_or_default()
                        };
                        return Some(LegEvent::Confirmed { body });
                    }
                }
                DialogState::Terminated(_, reason) => {
                    return Some(match reason {
                        TerminatedReason::UacCancel => LegEvent::Cancelled,
                        TerminatedReason::UacBye => LegEvent::RemoteHangup,
                        TerminatedReason::UasBye => LegEvent::Failed("local hangup".into()),
                        TerminatedReason::Timeout => {
                            LegEvent::Failed("no ACK for our answer".into())
                        }
                        other => LegEvent::Failed(format!("{other:?}")),
                    });
                }
                DialogState::Info(_, request, handle) => {
                    let content_type = request
                        .header_value("Content-Type")
                        .map(|value| value.trim().to_ascii_lowercase())
                        .unwrap_or_default();
                    return Some(LegEvent::Info {
                        content_type,
                        body: request.body.clone(),
                        responder: Responder { handle },
                    });
                }
                DialogState::Updated(_, request, handle) => {
                    if matches!(request.method, Method::Invite | Method::Update) {
                        return Some(LegEvent::Reoffer {
                            body: request.body.clone(),
                            responder: Responder { handle },
                        });
                    }
                    return Some(LegEvent::Other {
                        method: request.method.to_string(),
                        responder: Responder { handle },
                    });
                }
                DialogState::Refer(_, request, handle) => {
                    let target = request
                        .header_value("Refer-To")
                        .or_else(|| request.header_value("r"))
                        .map(|value| refer_target(&value))
                        .unwrap_or_default();
                    return Some(LegEvent::Refer {
                        target,
                        responder: Responder { handle },
                    });
                }
                DialogState::Options(_, request, handle)
                | DialogState::Message(_, request, handle)
                | DialogState::Notify(_, request, handle)
                | DialogState::Publish(_, request, handle) => {
                    return Some(LegEvent::Other {
                        method: request.method.to_string(),
                        responder: Responder { handle },
                    });
                }
                DialogState::Calling(_)
                | DialogState::Trying(_)
                | DialogState::Early(..)
                | DialogState::WaitAck(..) => {}
            }
        }
    }
}

impl Drop for Leg {
    fn drop(&mut self) {
        self.dialogs.remove_dialog(&self.dialog.id());
    }
}

/// The URI of a Refer-To value: `<sip:sales@host;transport=udp>;x=y` or a
/// bare URI, without the angle brackets and header parameters.
pub fn refer_target(value: &str) -> String {
    let value = value.trim();
    let uri = match (value.find('<'), value.find('>')) {
        (Some(start), Some(end)) if start < end => &value[start + 1..end],
        _ => value.split(';').next().unwrap_or(value),
    };
    uri.trim().to_string()
}

/// The Call-ID a transfer target's `Replaces` names (RFC 3891, as a
/// Refer-To URI header: `sip:bob@host?Replaces=abc%40host%3Bto-tag%3D1...`):
/// the dialog the referred party is to take the place of.
pub fn replaces_call_id(target: &str) -> Option<String> {
    let (_, headers) = target.split_once('?')?;
    let value = headers.split('&').find_map(|header| {
        let (name, value) = header.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("Replaces")
            .then_some(value)
    })?;
    let decoded = percent_decode(value);
    let call_id = decoded.split(';').next()?.trim();
    (!call_id.is_empty() && call_id.len() <= 256).then(|| call_id.to_string())
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%')
            .then(|| bytes.get(index + 1..index + 3))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::{refer_target, replaces_call_id};

    #[test]
    fn replaces_names_the_dialog_to_take_over() {
        let target = refer_target(
            "<sip:sales@127.0.0.1:5060?Replaces=consult-1%40host%3Bto-tag%3Dabc%3Bfrom-tag%3Ddef>",
        );
        assert_eq!(replaces_call_id(&target).as_deref(), Some("consult-1@host"));
        assert_eq!(
            replaces_call_id("sip:x@h?Subject=hi&replaces=abc;to-tag=1").as_deref(),
            Some("abc")
        );
        assert_eq!(replaces_call_id("sip:sales@host"), None);
        assert_eq!(replaces_call_id("sip:sales@host?Replaces="), None);
        assert_eq!(
            replaces_call_id("sip:x@h?Replaces=%4").as_deref(),
            Some("%4")
        );
    }

    #[test]
    fn refer_to_values_give_their_uri() {
        assert_eq!(
            refer_target("<sip:sales@127.0.0.1:5060;transport=udp>;foo=bar"),
            "sip:sales@127.0.0.1:5060;transport=udp"
        );
        assert_eq!(
            refer_target(" sip:+15551234@x;user=phone "),
            "sip:+15551234@x"
        );
        assert_eq!(refer_target("\"Sales\" <sip:sales@x>"), "sip:sales@x");
    }
}
