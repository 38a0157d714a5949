//! Calls the engine places (campaigns; later agents): an INVITE through a
//! SIP trunk, its progress (ringing, early media), and the [`Leg`] it becomes
//! once answered. Digest challenges (401/407) are answered by the stack with
//! the trunk's credentials.

use std::sync::Arc;

use rsipstack::dialog::authenticate::Credential;
use rsipstack::dialog::dialog::DialogState;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::dialog::invitation::{InviteAsyncResult, InviteOption};
use rsipstack::sip::Header;

use super::{Leg, SipError};

/// Digest credentials for a trunk.
#[derive(Debug, Clone)]
pub struct TrunkCredential {
    pub username: String,
    pub password: String,
    pub realm: Option<String>,
}

/// One outbound call attempt.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// Where the INVITE goes: `sip:+15551234567@trunk.example.com:5060`.
    pub target: String,
    /// User part of our From (the caller ID shown to the callee).
    pub caller_id: String,
    pub display_name: Option<String>,
    pub sdp_offer: String,
    pub credential: Option<TrunkCredential>,
    /// Extra headers, e.g. ("X-Campaign", "spring-sale").
    pub headers: Vec<(String, String)>,
    /// The Call-ID to use (so the call log can name it before the INVITE goes).
    pub call_id: Option<String>,
}

/// How an outbound INVITE is going.
#[derive(Debug)]
pub enum DialProgress {
    /// 180/183; `early_media` is the SDP of a 183 Session Progress, if any.
    Ringing {
        status: u16,
        early_media: Option<Vec<u8>>,
    },
    /// 2xx: the answer SDP. Take the [`Leg`] with [`OutboundCall::into_leg`].
    Answered { sdp: Vec<u8> },
    /// A final non-2xx response, or no response at all (status 408).
    Failed { status: u16, reason: String },
}

pub struct OutboundCall {
    leg: Leg,
    result: Option<tokio::task::JoinHandle<InviteAsyncResult>>,
}

pub(super) fn dial(
    dialogs: &Arc<DialogLayer>,
    contact: &rsipstack::sip::Uri,
    request: DialRequest,
) -> Result<OutboundCall, SipError> {
    let callee = rsipstack::sip::Uri::try_from(request.target.as_str())
        // The URI holds the number called: keep it out of the error (and logs).
        .map_err(|error| SipError::Stack(format!("bad target URI: {error}")))?;
    let mut caller = contact.clone();
    caller.auth = Some(rsipstack::sip::Auth {
        user: request.caller_id.clone(),
        password: None,
    });
    let headers: Vec<Header> = request
        .headers
        .iter()
        .map(|(name, value)| Header::Other(name.clone(), value.clone()))
        .collect();
    let option = InviteOption {
        caller_display_name: request.display_name.clone(),
        caller,
        callee,
        contact: contact.clone(),
        content_type: Some("application/sdp".into()),
        offer: Some(request.sdp_offer.into_bytes()),
        credential: request.credential.map(|credential| Credential {
            username: credential.username,
            password: credential.password,
            realm: credential.realm,
            ..Default::default()
        }),
        headers: (!headers.is_empty()).then_some(headers),
        call_id: request.call_id,
        ..Default::default()
    };
    let (state_sender, state_receiver) = dialogs.new_dialog_state_channel();
    let (dialog, result) = dialogs.do_invite_async(option, state_sender)?;
    Ok(OutboundCall {
        leg: Leg::new(dialog, state_receiver, dialogs.clone()),
        result: Some(result),
    })
}

impl OutboundCall {
    /// The SIP Call-ID of this attempt.
    pub fn call_id(&self) -> String {
        self.leg.dialog.id().call_id.clone()
    }

    /// Waits for the next step. After `Answered` or `Failed` it keeps
    /// returning `Failed` (the attempt is over).
    pub async fn next(&mut self) -> DialProgress {
        loop {
            let Some(result) = self.result.as_mut() else {
                return DialProgress::Failed {
                    status: 0,
                    reason: "attempt already finished".into(),
                };
            };
            tokio::select! {
                state = self.leg.states.recv() => match state {
                    Some(DialogState::Early(_, response)) => {
                        let status = u16::from(response.status_code.clone());
                        let early_media = (!response.body.is_empty()).then(|| response.body.clone());
                        return DialProgress::Ringing { status, early_media };
                    }
                    Some(_) => {}
                    // The stack dropped its side; the result says how it ended.
                    None => {
                        let outcome = match self.result.take() {
                            Some(handle) => handle.await,
                            None => continue,
                        };
                        return finished(outcome);
                    }
                },
                outcome = &mut *result => {
                    self.result = None;
                    return finished(outcome);
                }
            }
        }
    }

    /// Gives up while it rings (ring timeout): CANCEL (RFC 3261 §9.1).
    pub async fn cancel(&self) -> Result<(), SipError> {
        Ok(self.leg.dialog.cancel().await?)
    }

    /// The answered call's leg, for the conversation that follows.
    pub fn into_leg(self) -> Leg {
        self.leg
    }
}

fn finished(outcome: Result<InviteAsyncResult, tokio::task::JoinError>) -> DialProgress {
    match outcome {
        Ok(Ok((_, Some(response)))) => {
            let status = u16::from(response.status_code.clone());
            if (200..300).contains(&status) {
                DialProgress::Answered {
                    sdp: response.body.clone(),
                }
            } else {
                DialProgress::Failed {
                    status,
                    reason: response.status_code.to_string(),
                }
            }
        }
        // No final response at all: Timer B expired (RFC 3261 §17.1.1.2).
        Ok(Ok((_, None))) => DialProgress::Failed {
            status: 408,
            reason: "no response".into(),
        },
        Ok(Err(error)) => DialProgress::Failed {
            status: 408,
            reason: error.to_string(),
        },
        Err(error) => DialProgress::Failed {
            status: 500,
            reason: format!("dial task failed: {error}"),
        },
    }
}
