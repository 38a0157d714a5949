//! SIP signalling. The only module that names rsipstack types: the rest of the
//! engine sees [`IncomingInvite`], [`Leg`] and [`LegEvent`].
//!
//! What happens here: UDP and TCP listeners; datagram screening (bad requests get
//! their 4xx in [`screen`]); transactions and dialogs from rsipstack; OPTIONS
//! health checks; 481 for requests in unknown dialogs; 405/501 for methods we do
//! not take; and the hand-over of each new INVITE to a [`CallHandler`].

pub mod screen;

/// Public only so the fuzz targets in `fuzz/` can reach `parse_authorization`.
pub mod digest;
mod leg;
mod outbound;
mod registrar;
mod registration;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use async_trait::async_trait;
use rsipstack::dialog::dialog_layer::DialogLayer;
use rsipstack::sip::prelude::*;
use rsipstack::sip::{Header, Method, StatusCode};
use rsipstack::transaction::transaction::Transaction;
use rsipstack::transport::tcp_listener::TcpListenerConnection;
use rsipstack::transport::udp::UdpConnection;
use rsipstack::transport::TransportLayer;
use rsipstack::EndpointBuilder;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

pub use leg::{refer_target, replaces_call_id, Leg, LegEvent, Responder};
pub use outbound::{DialProgress, DialRequest, OutboundCall, TrunkCredential};
pub use registrar::{Binding, Registrar};
pub use registration::RegistrationState;

use crate::pii::Masked;

#[derive(Debug, thiserror::Error)]
pub enum SipError {
    #[error("cannot listen for SIP on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("SIP stack error: {0}")]
    Stack(String),
}

impl From<rsipstack::Error> for SipError {
    fn from(error: rsipstack::Error) -> Self {
        SipError::Stack(error.to_string())
    }
}

/// What the engine needs to know about a new call attempt.
#[derive(Debug, Clone)]
pub struct IncomingInvite {
    pub call_id: String,
    /// User part of the From URI (the caller's number), or the whole URI if none.
    pub caller: String,
    /// User part of the Request-URI (the number dialled).
    pub called: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// Why a new INVITE is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteRejection {
    pub status: u16,
    pub reason: String,
}

impl InviteRejection {
    pub fn new(status: u16, reason: impl Into<String>) -> Self {
        InviteRejection {
            status,
            reason: reason.into(),
        }
    }
}

/// The call layer's side of a new INVITE.
#[async_trait]
pub trait CallHandler: Send + Sync + 'static {
    /// Accepts (returning the prepared call) or refuses a new INVITE. Runs before
    /// any dialog exists, so a refusal costs nothing.
    async fn prepare(
        &self,
        invite: &IncomingInvite,
    ) -> Result<Box<dyn PreparedCall>, InviteRejection>;
}

/// A call the engine accepted; `start` hands it its SIP leg.
pub trait PreparedCall: Send {
    fn start(self: Box<Self>, leg: Leg);
}

pub struct SipServerConfig {
    pub listen: SocketAddr,
    pub advertised_address: IpAddr,
    pub user_agent: String,
    /// Agents' phones register here; `None` answers REGISTER with 405.
    pub registrar: Option<Arc<Registrar>>,
}

/// A running SIP endpoint.
pub struct SipServer {
    local_address: SocketAddr,
    cancel: CancellationToken,
    dialogs: Arc<DialogLayer>,
    contact: rsipstack::sip::Uri,
    endpoint: rsipstack::transaction::endpoint::EndpointInnerRef,
}

impl SipServer {
    /// Binds UDP and TCP on `config.listen` (port 0 picks a free port, the same
    /// for both) and starts answering.
    pub async fn start(
        config: SipServerConfig,
        handler: Arc<dyn CallHandler>,
        cancel: CancellationToken,
    ) -> Result<SipServer, SipError> {
        let udp_socket = tokio::net::UdpSocket::bind(config.listen)
            .await
            .map_err(|source| SipError::Bind {
                address: config.listen,
                source,
            })?;
        let local_address = udp_socket.local_addr().map_err(|source| SipError::Bind {
            address: config.listen,
            source,
        })?;
        // rsipstack binds TCP itself and only logs a failure; bind once here
        // first so a busy port is a clear start-up error instead.
        drop(
            std::net::TcpListener::bind(local_address).map_err(|source| SipError::Bind {
                address: local_address,
                source,
            })?,
        );
        let advertised = SocketAddr::new(config.advertised_address, local_address.port());

        let transport_layer = TransportLayer::new(cancel.child_token());
        let screening = Arc::new(ScreeningSocket {
            socket: udp_socket,
            user_agent: config.user_agent.clone(),
        });
        let udp =
            UdpConnection::from_socket(screening, Some(advertised), Some(cancel.child_token()))
                .await?;
        transport_layer.add_transport(udp.into());
        let tcp = TcpListenerConnection::new(local_address, Some(advertised)).await?;
        transport_layer.add_transport(tcp.into());

        let endpoint = EndpointBuilder::new()
            .with_user_agent(&config.user_agent)
            .with_transport_layer(transport_layer)
            .with_cancel_token(cancel.child_token())
            .build();
        let mut incoming = endpoint.incoming_transactions()?;
        let endpoint_inner = endpoint.inner.clone();
        let dialogs = Arc::new(DialogLayer::new(endpoint.inner.clone()));
        tokio::spawn(async move { endpoint.serve().await });

        let contact = contact_uri(advertised);
        let context = Arc::new(Context {
            dialogs: dialogs.clone(),
            handler,
            contact: contact.clone(),
            registrar: config.registrar.clone(),
        });
        tokio::spawn(async move {
            while let Some(transaction) = incoming.recv().await {
                let context = context.clone();
                tokio::spawn(async move { context.on_transaction(transaction).await });
            }
        });
        info!(%local_address, %advertised, "SIP listening on UDP and TCP");
        Ok(SipServer {
            local_address,
            cancel,
            dialogs,
            contact,
            endpoint: endpoint_inner,
        })
    }

    /// Registers with a trunk's registrar and keeps the registration fresh
    /// until `stop`; the receiver follows its state.
    pub fn register(
        &self,
        trunk_name: &str,
        registrar: &str,
        credential: TrunkCredential,
        expires_secs: u32,
        stop: CancellationToken,
    ) -> Result<tokio::sync::watch::Receiver<RegistrationState>, SipError> {
        let registrar = rsipstack::sip::Uri::try_from(registrar)
            .map_err(|error| SipError::Stack(format!("bad registrar URI {registrar}: {error}")))?;
        Ok(registration::keep_registered(
            self.endpoint.clone(),
            trunk_name.to_string(),
            registrar,
            credential,
            expires_secs,
            stop,
        ))
    }

    /// Places a call (an INVITE through a trunk). Progress and the answered
    /// leg come from the returned [`OutboundCall`].
    pub fn dial(&self, request: DialRequest) -> Result<OutboundCall, SipError> {
        outbound::dial(&self.dialogs, &self.contact, request)
    }

    pub fn local_address(&self) -> SocketAddr {
        self.local_address
    }

    pub fn stop(&self) {
        self.cancel.cancel();
    }
}

fn contact_uri(address: SocketAddr) -> rsipstack::sip::Uri {
    rsipstack::sip::Uri {
        scheme: Some(rsipstack::sip::Scheme::Sip),
        auth: Some(rsipstack::sip::Auth {
            user: "switchboard".into(),
            password: None,
        }),
        host_with_port: address.into(),
        ..Default::default()
    }
}

struct Context {
    dialogs: Arc<DialogLayer>,
    handler: Arc<dyn CallHandler>,
    contact: rsipstack::sip::Uri,
    registrar: Option<Arc<Registrar>>,
}

fn has_to_tag(request: &rsipstack::sip::Request) -> bool {
    request
        .to_header()
        .ok()
        .and_then(|to| to.tag().ok().flatten())
        .is_some()
}

fn user_of(uri: &rsipstack::sip::Uri) -> String {
    match &uri.auth {
        Some(auth) => auth.user.clone(),
        None => uri.to_string(),
    }
}

impl Context {
    async fn on_transaction(&self, mut transaction: Transaction) {
        let method = transaction.original.method;
        let in_dialog = has_to_tag(&transaction.original);
        let result = match (method, in_dialog) {
            (Method::Invite, false) => self.on_new_invite(transaction).await,
            (_, true) => self.on_in_dialog(transaction).await,
            (Method::Options, false) => {
                // Health checks: always 200 while we run (RFC 3261 §11.2).
                transaction
                    .reply_with(
                        StatusCode::OK,
                        vec![
                            Header::Allow(screen::ALLOW.into()),
                            Header::Accept("application/sdp".into()),
                        ],
                        None,
                    )
                    .await
                    .map_err(SipError::from)
            }
            (Method::Ack, false) => Ok(()),
            (Method::Register, false) if self.registrar.is_some() => match &self.registrar {
                Some(registrar) => registrar.handle(&mut transaction).await,
                None => Ok(()),
            },
            (
                Method::Bye | Method::Info | Method::Update | Method::PRack | Method::Notify,
                false,
            ) => {
                // Mid-dialog methods without a dialog (no To tag).
                transaction
                    .reply(StatusCode::CallTransactionDoesNotExist)
                    .await
                    .map_err(SipError::from)
            }
            (_, false) => {
                // REGISTER, SUBSCRIBE, MESSAGE, PUBLISH, REFER outside a dialog:
                // not something this engine takes (yet).
                transaction
                    .reply_with(
                        StatusCode::MethodNotAllowed,
                        vec![Header::Allow(screen::ALLOW.into())],
                        None,
                    )
                    .await
                    .map_err(SipError::from)
            }
        };
        if let Err(error) = result {
            debug!(%method, %error, "transaction ended with an error");
        }
    }

    async fn on_in_dialog(&self, mut transaction: Transaction) -> Result<(), SipError> {
        match self.dialogs.match_dialog(&transaction) {
            Some(mut dialog) => dialog
                .handle(&mut transaction)
                .await
                .map_err(SipError::from),
            None => {
                if transaction.original.method == Method::Ack {
                    return Ok(());
                }
                // RFC 3261 §12.2.2: a request in a dialog we do not know.
                transaction
                    .reply(StatusCode::CallTransactionDoesNotExist)
                    .await
                    .map_err(SipError::from)
            }
        }
    }

    async fn on_new_invite(&self, mut transaction: Transaction) -> Result<(), SipError> {
        let request = &transaction.original;
        let invite = IncomingInvite {
            call_id: request
                .call_id_header()
                .map(|h| h.value().to_string())
                .unwrap_or_default(),
            caller: request
                .from_header()
                .ok()
                .and_then(|h| h.uri().ok())
                .map(|uri| user_of(&uri))
                .unwrap_or_default(),
            called: user_of(&request.uri),
            content_type: request
                .header_value("Content-Type")
                .map(|value| value.trim().to_ascii_lowercase()),
            body: request.body.clone(),
        };
        debug!(call_id = %invite.call_id, caller = %Masked(&invite.caller), called = %Masked(&invite.called), "INVITE");
        let prepared = match self.handler.prepare(&invite).await {
            Ok(prepared) => prepared,
            Err(rejection) => {
                info!(call_id = %invite.call_id, status = rejection.status, reason = %rejection.reason, "INVITE refused");
                return reject(&mut transaction, &rejection).await;
            }
        };
        let (state_sender, state_receiver) = self.dialogs.new_dialog_state_channel();
        let dialog = self.dialogs.get_or_create_server_invite(
            &transaction,
            state_sender,
            None,
            Some(self.contact.clone()),
        )?;
        let leg = Leg::new(dialog.clone(), state_receiver, self.dialogs.clone());
        prepared.start(leg);
        let mut dialog = dialog;
        let result = dialog.handle(&mut transaction).await;
        if let Err(error) = result {
            warn!(call_id = %invite.call_id, %error, "INVITE transaction error");
        }
        Ok(())
    }
}

async fn reject(
    transaction: &mut Transaction,
    rejection: &InviteRejection,
) -> Result<(), SipError> {
    let mut headers = vec![Header::Other(
        "Warning".into(),
        format!("399 switchboard \"{}\"", rejection.reason.replace('"', "'")),
    )];
    if rejection.status == 405 || rejection.status == 501 {
        headers.push(Header::Allow(screen::ALLOW.into()));
    }
    if rejection.status == 415 {
        headers.push(Header::Accept("application/sdp".into()));
    }
    transaction
        .reply_with(StatusCode::from(rejection.status), headers, None)
        .await
        .map_err(SipError::from)
}

/// The UDP socket under rsipstack's transport: every datagram passes
/// [`screen::screen`] first, and the ones it refuses are answered here.
struct ScreeningSocket {
    socket: tokio::net::UdpSocket,
    user_agent: String,
}

#[async_trait]
impl rsipstack::platform::net::UdpSocket for ScreeningSocket {
    async fn recv_from(&self, buffer: &mut [u8]) -> rsipstack::Result<(usize, SocketAddr)> {
        loop {
            let (length, source) = self.socket.recv_from(buffer).await?;
            let packet = &buffer[..length];
            match screen::screen(packet) {
                screen::Verdict::Pass => return Ok((length, source)),
                screen::Verdict::Drop => {
                    debug!(%source, length, "dropped a datagram that is not a SIP request or response");
                }
                screen::Verdict::Reply(rejection) => {
                    warn!(%source, status = rejection.status, reason = %rejection.reason, "refused a malformed SIP request");
                    let response = rejection.to_bytes(&self.user_agent);
                    // Answer the source address (RFC 3581 style): the Via of a
                    // malformed request cannot be trusted.
                    if let Err(error) = self.socket.send_to(&response, source).await {
                        debug!(%source, %error, "could not send rejection");
                    }
                }
            }
        }
    }

    async fn send_to(&self, buffer: &[u8], address: SocketAddr) -> rsipstack::Result<usize> {
        Ok(self.socket.send_to(buffer, address).await?)
    }

    fn local_addr(&self) -> rsipstack::Result<SocketAddr> {
        Ok(self.socket.local_addr()?)
    }
}
