//! Engine configuration: read once at start from an optional TOML file, then
//! overridden by command-line flags. Every setting has a default that runs the
//! demo hotline, and every error names the file, the key and the fix.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("config {key}: {message}")]
    Invalid { key: String, message: String },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub sip: SipConfig,
    pub rtp: RtpConfig,
    pub database: DatabaseConfig,
    pub paths: PathsConfig,
    /// Called number (user part of the Request-URI) → dialplan name.
    /// `"*"` matches any number not listed.
    pub routes: BTreeMap<String, String>,
    pub log: LogConfig,
    /// SIP trunks outbound calls go through.
    pub trunks: Vec<TrunkConfig>,
    pub http: HttpConfig,
    /// Agents: their SIP phones register with the engine.
    pub agents: Vec<AgentConfig>,
    /// Agent queues. A queue an agent names but that is not listed here
    /// gets the defaults.
    pub queues: Vec<QueueSettings>,
    /// Media for browser agents (WebRTC).
    pub webrtc: WebRtcConfig,
}

/// How the engine reaches browser agents' WebRTC softphones (`[webrtc]`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebRtcConfig {
    /// Local addresses offered to browsers as ICE candidates. Empty: every
    /// address of this machine's interfaces except loopback.
    pub ice_addresses: Vec<std::net::IpAddr>,
    /// Browsers' candidates outside these networks (CIDR, e.g.
    /// `"10.0.0.0/8"`) are ignored: media only goes where agents are. Empty:
    /// any address.
    pub allowed_peer_networks: Vec<String>,
    /// The address browsers see this machine at, when it is behind NAT
    /// (advertised instead of the local addresses).
    pub public_ip: Option<std::net::IpAddr>,
    /// STUN/TURN servers handed to the agent page (`stun:host:port`).
    pub ice_servers: Vec<String>,
    /// UDP ports for WebRTC media; 0 and 0: any free port.
    pub port_min: u16,
    pub port_max: u16,
}

/// A network in CIDR form (`127.0.0.0/8`, `::1/128`, or a bare address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: std::net::IpAddr,
    prefix: u8,
}

impl Network {
    pub fn parse(text: &str) -> Result<Network, String> {
        let (address, prefix) = match text.trim().split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text.trim(), None),
        };
        let address: std::net::IpAddr = address
            .parse()
            .map_err(|_| format!("'{text}' is not an address or a network like 10.0.0.0/8"))?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|prefix| *prefix <= max)
                .ok_or_else(|| format!("'{text}': the prefix length must be 0..{max}"))?,
            None => max,
        };
        Ok(Network { address, prefix })
    }

    pub fn contains(&self, address: std::net::IpAddr) -> bool {
        use std::net::IpAddr;
        match (self.address, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// How a queue picks the agent to ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueStrategy {
    LongestIdle,
    RoundRobin,
    RingAll,
    FewestCalls,
    Skills,
}

/// An agent queue (`[[queues]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSettings {
    pub name: String,
    #[serde(default = "default_strategy")]
    pub strategy: QueueStrategy,
    /// Seconds an agent's phone rings before the next agent is tried.
    #[serde(default = "default_queue_ring_timeout")]
    pub ring_timeout_secs: u64,
    /// After-call work time, in seconds.
    #[serde(default = "default_wrap_up")]
    pub wrap_up_secs: u64,
    /// Pause an agent who lets an offered call ring out.
    #[serde(default = "default_true")]
    pub pause_on_no_answer: bool,
    /// Longest wait before the call overflows (to `overflow`).
    pub max_wait_secs: Option<u64>,
    /// `"voicemail"` (the dialplan's `on_timeout` node), `"callback"`
    /// (offer a callback) or `"queue:NAME"`. Default `"voicemail"`.
    pub overflow: Option<String>,
    /// Announce position and estimated wait this often (seconds; 0 = never).
    #[serde(default = "default_announce")]
    pub announce_every_secs: u64,
    /// Callers may press `callback_digit` while waiting to be called back.
    #[serde(default)]
    pub callback: bool,
    #[serde(default = "default_callback_digit")]
    pub callback_digit: char,
    /// Trunk callbacks are dialled through (default: the first trunk).
    pub callback_trunk: Option<String>,
    /// Attempts to reach a customer who asked for a callback (1-10,
    /// default 3): a callback whose customer does not answer is tried again.
    #[serde(default = "default_callback_attempts")]
    pub callback_attempts: u32,
    /// Seconds between those attempts (default 600).
    #[serde(default = "default_callback_retry")]
    pub callback_retry_secs: u64,
    /// Skill every agent needs, as `"name"` or `"name:level"`.
    pub required_skill: Option<String>,
    /// Record bridged calls as stereo WAV (caller left, agent right).
    #[serde(default)]
    pub record: bool,
    /// Prompt played (looped) while the caller waits.
    #[serde(default = "default_music")]
    pub music: String,
    /// Dispositions an agent chooses from after a call (agent page).
    #[serde(default = "default_dispositions")]
    pub dispositions: Vec<String>,
}

fn default_dispositions() -> Vec<String> {
    ["resolved", "follow_up", "escalated", "wrong_number"]
        .into_iter()
        .map(String::from)
        .collect()
}

fn default_strategy() -> QueueStrategy {
    QueueStrategy::LongestIdle
}
fn default_queue_ring_timeout() -> u64 {
    15
}
fn default_wrap_up() -> u64 {
    10
}
fn default_true() -> bool {
    true
}
fn default_announce() -> u64 {
    30
}
fn default_callback_digit() -> char {
    '1'
}
fn default_music() -> String {
    "hold_music".into()
}
fn default_callback_attempts() -> u32 {
    3
}
fn default_callback_retry() -> u64 {
    600
}

/// A disposition code: 1-40 letters, digits, `_` or `-`.
pub fn valid_disposition(code: &str) -> bool {
    (1..=40).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl QueueSettings {
    /// A queue with every default.
    pub fn named(name: &str) -> QueueSettings {
        QueueSettings {
            name: name.to_string(),
            strategy: default_strategy(),
            ring_timeout_secs: default_queue_ring_timeout(),
            wrap_up_secs: default_wrap_up(),
            pause_on_no_answer: true,
            max_wait_secs: None,
            overflow: None,
            announce_every_secs: default_announce(),
            callback: false,
            callback_digit: default_callback_digit(),
            callback_trunk: None,
            callback_attempts: default_callback_attempts(),
            callback_retry_secs: default_callback_retry(),
            required_skill: None,
            record: false,
            music: default_music(),
            dispositions: default_dispositions(),
        }
    }

    /// The overflow target, checked.
    pub fn overflow_target(&self) -> Result<crate::acd::OverflowTarget, String> {
        use crate::acd::OverflowTarget;
        match self.overflow.as_deref().unwrap_or("voicemail") {
            "voicemail" => Ok(OverflowTarget::Voicemail),
            "callback" => Ok(OverflowTarget::CallbackOffer),
            other => match other.strip_prefix("queue:") {
                Some(name) if !name.is_empty() => Ok(OverflowTarget::Queue(name.to_string())),
                _ => Err(format!(
                    "'{other}' is not \"voicemail\", \"callback\" or \"queue:NAME\""
                )),
            },
        }
    }

    /// The required skill as (name, level), checked.
    pub fn skill(&self) -> Result<Option<(String, u8)>, String> {
        let Some(text) = &self.required_skill else {
            return Ok(None);
        };
        let (name, level) = match text.split_once(':') {
            Some((name, level)) => (
                name.trim(),
                level
                    .trim()
                    .parse::<u8>()
                    .map_err(|_| format!("'{text}': the level after ':' must be 1..10"))?,
            ),
            None => (text.trim(), 1),
        };
        if name.is_empty() || !(1..=10).contains(&level) {
            return Err(format!(
                "'{text}': use \"skill\" or \"skill:level\" (level 1..10)"
            ));
        }
        Ok(Some((name.to_string(), level)))
    }
}

/// An agent who takes calls on a SIP phone.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    /// Also the SIP user name the phone registers with.
    pub id: String,
    pub name: String,
    pub password: String,
    /// Skill name → level 1..10.
    #[serde(default)]
    pub skills: BTreeMap<String, u8>,
    #[serde(default)]
    pub queues: Vec<String>,
}

impl std::fmt::Debug for AgentConfig {
    // Never print the password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("skills", &self.skills)
            .field("queues", &self.queues)
            .finish_non_exhaustive()
    }
}

/// The REST API (`crate::http`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    pub enabled: bool,
    /// Loopback by default: the API has no user accounts, only an optional
    /// shared token, so exposing it is a deliberate choice.
    pub listen: SocketAddr,
    /// When set, every request except `/api/health` must carry
    /// `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            enabled: true,
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080),
            token: None,
        }
    }
}

// Written by hand so that the token never reaches a log or an error message.
impl std::fmt::Debug for HttpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpConfig")
            .field("enabled", &self.enabled)
            .field("listen", &self.listen)
            .field("token", &self.token.as_ref().map(|_| "(set)"))
            .finish()
    }
}

/// A SIP trunk: where outbound INVITEs go and how to authenticate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkConfig {
    pub name: String,
    /// The trunk's address, e.g. `sip:trunk.example.com:5060`; the number
    /// called becomes the user part of the Request-URI.
    pub uri: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub realm: Option<String>,
    /// Caller ID when the campaign sets none.
    pub caller_id: Option<String>,
    #[serde(default = "default_trunk_concurrency")]
    pub max_concurrent: u32,
    #[serde(default = "default_trunk_rate")]
    pub max_calls_per_second: f64,
    /// REGISTER with the trunk (needs username and password).
    #[serde(default)]
    pub register: bool,
    /// Registration lifetime asked for; re-registered at 3/4 of what is granted.
    #[serde(default = "default_register_expires")]
    pub register_expires_secs: u32,
    /// Trunk to try when this one answers 503 or not at all.
    pub failover: Option<String>,
}

fn default_register_expires() -> u32 {
    600
}

fn default_trunk_concurrency() -> u32 {
    10
}

fn default_trunk_rate() -> f64 {
    1.0
}

impl TrunkConfig {
    pub fn credential(&self) -> Option<crate::sip::TrunkCredential> {
        let (username, password) = self.username.clone().zip(self.password.clone())?;
        Some(crate::sip::TrunkCredential {
            username,
            password,
            realm: self.realm.clone(),
        })
    }

    /// The Request-URI for calling `number` through this trunk.
    pub fn target_for(&self, number: &str) -> String {
        let (scheme, rest) = match self.uri.split_once(':') {
            Some((scheme, rest)) if scheme == "sip" || scheme == "sips" => (scheme, rest),
            _ => ("sip", self.uri.as_str()),
        };
        // Drop any user part the trunk URI carries; the number takes its place.
        let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
        format!("{scheme}:{number}@{host}")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SipConfig {
    /// Address SIP listens on, for both UDP and TCP.
    pub listen: SocketAddr,
    /// Address put in Contact headers and SDP: set it to the public address
    /// when the engine runs behind NAT. Defaults to the listen address, or to the
    /// first non-loopback interface address when listening on 0.0.0.0.
    pub advertised_address: Option<IpAddr>,
    /// How long an incoming call rings before the engine answers, in ms.
    pub answer_delay_ms: u64,
    /// User-Agent/Server header value.
    pub user_agent: String,
    /// Digest realm for agents registering with the engine.
    pub realm: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RtpConfig {
    pub port_min: u16,
    pub port_max: u16,
    /// Hang up calls whose caller sends no RTP for this long (not while on hold).
    pub media_timeout_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    pub url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PathsConfig {
    pub dialplans: PathBuf,
    pub prompts: PathBuf,
    pub recordings: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// tracing filter, e.g. "info" or "switchboard=debug,rsipstack=info".
    pub level: String,
    /// Phone numbers are masked in logs unless this is true.
    pub show_phone_numbers: bool,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 5060),
            advertised_address: None,
            answer_delay_ms: 0,
            user_agent: format!("Switchboard/{}", env!("CARGO_PKG_VERSION")),
            realm: "switchboard".into(),
        }
    }
}

impl Default for RtpConfig {
    fn default() -> Self {
        RtpConfig {
            port_min: 10000,
            port_max: 20000,
            media_timeout_secs: 30,
        }
    }
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: "sqlite://switchboard.db".into(),
        }
    }
}

impl Default for PathsConfig {
    fn default() -> Self {
        PathsConfig {
            dialplans: "dialplans".into(),
            prompts: "prompts".into(),
            recordings: "recordings".into(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            level: "info,rsipstack=warn".into(),
            show_phone_numbers: false,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        // The shipped demo: extension 100 reaches the hotline dialplan.
        let mut routes = BTreeMap::new();
        routes.insert("100".to_string(), "hotline".to_string());
        routes.insert("hotline".to_string(), "hotline".to_string());
        Config {
            sip: SipConfig::default(),
            rtp: RtpConfig::default(),
            database: DatabaseConfig::default(),
            paths: PathsConfig::default(),
            routes,
            log: LogConfig::default(),
            trunks: Vec::new(),
            agents: Vec::new(),
            queues: Vec::new(),
            http: HttpConfig::default(),
            webrtc: WebRtcConfig::default(),
        }
    }
}

impl Config {
    /// Every queue: the configured ones, then those only agents name.
    pub fn all_queues(&self) -> Vec<QueueSettings> {
        let mut queues = self.queues.clone();
        for agent in &self.agents {
            for name in &agent.queues {
                if !queues.iter().any(|queue| &queue.name == name) {
                    queues.push(QueueSettings::named(name));
                }
            }
        }
        queues
    }

    fn queue_names(&self) -> Vec<String> {
        self.all_queues()
            .into_iter()
            .map(|queue| queue.name)
            .collect()
    }

    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(path, &text)
    }

    pub fn from_toml(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|error| ConfigError::Parse {
            path: path.to_path_buf(),
            message: error.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.rtp.port_min == 0 || self.rtp.port_min > self.rtp.port_max {
            return Err(ConfigError::Invalid {
                key: "rtp.port_min/rtp.port_max".into(),
                message: format!(
                    "range {}-{} is empty or starts at 0; use e.g. 10000-20000",
                    self.rtp.port_min, self.rtp.port_max
                ),
            });
        }
        if self.rtp.media_timeout_secs == 0 {
            return Err(ConfigError::Invalid {
                key: "rtp.media_timeout_secs".into(),
                message: "must be at least 1 second (default 30)".into(),
            });
        }
        let mut names = std::collections::BTreeSet::new();
        for trunk in &self.trunks {
            if !names.insert(trunk.name.as_str()) {
                return Err(ConfigError::Invalid {
                    key: format!("trunks '{}'", trunk.name),
                    message: "two trunks have this name; names must be unique".into(),
                });
            }
            if !(trunk.uri.starts_with("sip:") || trunk.uri.starts_with("sips:")) {
                return Err(ConfigError::Invalid {
                    key: format!("trunks '{}'.uri", trunk.name),
                    message: format!(
                        "'{}' is not a sip: URI; use e.g. sip:trunk.example.com:5060",
                        trunk.uri
                    ),
                });
            }
            if trunk.register && trunk.username.is_none() {
                return Err(ConfigError::Invalid {
                    key: format!("trunks '{}'.register", trunk.name),
                    message: "registering needs username and password".into(),
                });
            }
            if let Some(failover) = &trunk.failover {
                if failover == &trunk.name || !self.trunks.iter().any(|t| &t.name == failover) {
                    return Err(ConfigError::Invalid {
                        key: format!("trunks '{}'.failover", trunk.name),
                        message: format!("'{failover}' is not another configured trunk"),
                    });
                }
            }
            if trunk.username.is_some() != trunk.password.is_some() {
                return Err(ConfigError::Invalid {
                    key: format!("trunks '{}'", trunk.name),
                    message: "set both username and password, or neither".into(),
                });
            }
            // Written so that NaN is refused too.
            let rate_ok =
                trunk.max_calls_per_second.is_finite() && trunk.max_calls_per_second > 0.0;
            if trunk.max_concurrent == 0 || !rate_ok {
                return Err(ConfigError::Invalid {
                    key: format!(
                        "trunks '{}'.max_concurrent/max_calls_per_second",
                        trunk.name
                    ),
                    message: "must be above zero".into(),
                });
            }
        }
        if let Some(token) = &self.http.token {
            if token.trim().is_empty() {
                return Err(ConfigError::Invalid {
                    key: "http.token".into(),
                    message: "is empty; remove it (no authentication) or set a long random value"
                        .into(),
                });
            }
        }
        // The same rules as agents created through the REST API.
        let mut agent_ids = std::collections::BTreeSet::new();
        for agent in &self.agents {
            use crate::directory::{check_id, check_name, check_password, check_skills};
            let checked = check_id(&agent.id)
                .and_then(|()| check_name(&agent.name))
                .and_then(|()| check_password(&agent.password))
                .and_then(|()| check_skills(&agent.skills));
            if let Err(error) = checked {
                return Err(ConfigError::Invalid {
                    key: format!("agents '{}'.{}", agent.id, error.field),
                    message: error.message,
                });
            }
            if !agent_ids.insert(agent.id.as_str()) {
                return Err(ConfigError::Invalid {
                    key: format!("agents '{}'", agent.id),
                    message: "two agents have this id".into(),
                });
            }
        }
        let mut queue_names = std::collections::BTreeSet::new();
        for queue in &self.queues {
            let key = format!("queues '{}'", queue.name);
            if queue.name.trim().is_empty() || !queue_names.insert(queue.name.as_str()) {
                return Err(ConfigError::Invalid {
                    key,
                    message: "every queue needs a name of its own".into(),
                });
            }
            if queue.ring_timeout_secs == 0 || queue.max_wait_secs == Some(0) {
                return Err(ConfigError::Invalid {
                    key,
                    message: "ring_timeout_secs and max_wait_secs must be above zero".into(),
                });
            }
            let target = queue
                .overflow_target()
                .map_err(|message| ConfigError::Invalid {
                    key: format!("{key}.overflow"),
                    message,
                })?;
            if let crate::acd::OverflowTarget::Queue(next) = &target {
                if next == &queue.name {
                    return Err(ConfigError::Invalid {
                        key: format!("{key}.overflow"),
                        message: "a queue cannot overflow into itself".into(),
                    });
                }
            }
            queue.skill().map_err(|message| ConfigError::Invalid {
                key: format!("{key}.required_skill"),
                message,
            })?;
            if !queue.callback_digit.is_ascii_digit() && !"*#".contains(queue.callback_digit) {
                return Err(ConfigError::Invalid {
                    key: format!("{key}.callback_digit"),
                    message: "must be a phone key: 0-9, * or #".into(),
                });
            }
            if queue.dispositions.is_empty()
                || queue
                    .dispositions
                    .iter()
                    .any(|code| !valid_disposition(code))
            {
                return Err(ConfigError::Invalid {
                    key: format!("{key}.dispositions"),
                    message: "list one or more codes of 1-40 letters, digits, '_' or '-'".into(),
                });
            }
            if !(1..=10).contains(&queue.callback_attempts) {
                return Err(ConfigError::Invalid {
                    key: format!("{key}.callback_attempts"),
                    message: "must be 1 to 10".into(),
                });
            }
            if !(1..=7 * 86_400).contains(&queue.callback_retry_secs) {
                return Err(ConfigError::Invalid {
                    key: format!("{key}.callback_retry_secs"),
                    message: "must be 1 second to 7 days".into(),
                });
            }
            if let Some(trunk) = &queue.callback_trunk {
                if !self.trunks.iter().any(|t| &t.name == trunk) {
                    return Err(ConfigError::Invalid {
                        key: format!("{key}.callback_trunk"),
                        message: format!("no trunk is named '{trunk}'"),
                    });
                }
            }
        }
        for queue in &self.queues {
            if let Ok(crate::acd::OverflowTarget::Queue(next)) = queue.overflow_target() {
                if !self.queue_names().contains(&next) {
                    return Err(ConfigError::Invalid {
                        key: format!("queues '{}'.overflow", queue.name),
                        message: format!("no queue is named '{next}'"),
                    });
                }
            }
        }
        for (index, network) in self.webrtc.allowed_peer_networks.iter().enumerate() {
            Network::parse(network).map_err(|message| ConfigError::Invalid {
                key: format!("webrtc.allowed_peer_networks[{index}]"),
                message,
            })?;
        }
        if (self.webrtc.port_min == 0) != (self.webrtc.port_max == 0)
            || self.webrtc.port_min > self.webrtc.port_max
        {
            return Err(ConfigError::Invalid {
                key: "webrtc.port_min/webrtc.port_max".into(),
                message: "set both (a range like 40000-40999) or neither".into(),
            });
        }
        if self.routes.is_empty() {
            return Err(ConfigError::Invalid {
                key: "routes".into(),
                message: "no numbers are routed to a dialplan; add e.g. `\"100\" = \"hotline\"`"
                    .into(),
            });
        }
        Ok(())
    }

    /// The dialplan for a called number, if any.
    pub fn route(&self, number: &str) -> Option<&str> {
        route(&self.routes, number)
    }

    /// The address to put in SDP and Contact.
    pub fn advertised_address(&self) -> IpAddr {
        if let Some(address) = self.sip.advertised_address {
            return address;
        }
        if !self.sip.listen.ip().is_unspecified() {
            return self.sip.listen.ip();
        }
        first_interface_address().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST))
    }
}

/// The dialplan routed to `number`: an exact match, else the `"*"` route.
pub fn route<'a>(routes: &'a BTreeMap<String, String>, number: &str) -> Option<&'a str> {
    routes
        .get(number)
        .or_else(|| routes.get("*"))
        .map(String::as_str)
}

/// The first non-loopback IPv4 address of this machine's interfaces.
fn first_interface_address() -> Option<IpAddr> {
    if_addrs::get_if_addrs()
        .ok()?
        .into_iter()
        .map(|interface| interface.ip())
        .find(|address| address.is_ipv4() && !address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_match_addresses_in_them() {
        let loopback = Network::parse("127.0.0.0/8").unwrap();
        assert!(loopback.contains("127.0.0.1".parse().unwrap()));
        assert!(loopback.contains("127.255.0.9".parse().unwrap()));
        assert!(!loopback.contains("128.0.0.1".parse().unwrap()));
        assert!(!loopback.contains("::1".parse().unwrap()));
        let host = Network::parse("192.0.2.7").unwrap();
        assert!(host.contains("192.0.2.7".parse().unwrap()));
        assert!(!host.contains("192.0.2.8".parse().unwrap()));
        let any = Network::parse("0.0.0.0/0").unwrap();
        assert!(any.contains("203.0.113.1".parse().unwrap()));
        let v6 = Network::parse("fd00::/8").unwrap();
        assert!(v6.contains("fd12::1".parse().unwrap()));
        assert!(!v6.contains("fe80::1".parse().unwrap()));
        assert!(Network::parse("10.0.0.0/33").is_err());
        assert!(Network::parse("nonsense/8").is_err());
    }

    #[test]
    fn webrtc_and_disposition_settings_are_checked() {
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[webrtc]\nallowed_peer_networks = [\"10.0.0.0/99\"]\n",
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("webrtc.allowed_peer_networks[0]"),
            "{error}"
        );
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[[queues]]\nname = \"sales\"\ndispositions = [\"ok\", \"bad code\"]\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("queues 'sales'.dispositions"),
            "{error}"
        );
        let error =
            Config::from_toml(Path::new("x.toml"), "[webrtc]\nport_min = 40000\n").unwrap_err();
        assert!(error.to_string().contains("webrtc.port_min"), "{error}");
    }

    #[test]
    fn defaults_route_the_demo_number() {
        let config = Config::default();
        assert_eq!(config.route("100"), Some("hotline"));
        assert_eq!(config.route("555"), None);
    }

    #[test]
    fn unknown_key_names_the_file_and_key() {
        let error = Config::from_toml(Path::new("x.toml"), "[sip]\nlisten_port = 5\n").unwrap_err();
        let text = error.to_string();
        assert!(
            text.contains("x.toml") && text.contains("listen_port"),
            "{text}"
        );
    }

    #[test]
    fn trunk_targets_put_the_number_in_the_user_part() {
        let config = Config::from_toml(
            Path::new("x.toml"),
            "[[trunks]]\nname = \"main\"\nuri = \"sip:gw@trunk.example.com:5080;transport=udp\"\n",
        )
        .unwrap();
        assert_eq!(
            config.trunks[0].target_for("+15551234567"),
            "sip:+15551234567@trunk.example.com:5080;transport=udp"
        );
    }

    #[test]
    fn trunk_without_password_is_refused() {
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[[trunks]]\nname = \"a\"\nuri = \"sip:h\"\nusername = \"u\"\n",
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("username and password"),
            "{error}"
        );
    }

    #[test]
    fn http_defaults_to_loopback_and_hides_the_token() {
        let config = Config::default();
        assert!(config.http.enabled);
        assert!(config.http.listen.ip().is_loopback());
        let config = Config::from_toml(
            Path::new("x.toml"),
            "[http]\nlisten = \"0.0.0.0:9000\"\ntoken = \"s3cret\"\n",
        )
        .unwrap();
        assert_eq!(config.http.listen.port(), 9000);
        assert!(!format!("{config:?}").contains("s3cret"));
        let error = Config::from_toml(Path::new("x.toml"), "[http]\ntoken = \"\"\n").unwrap_err();
        assert!(error.to_string().contains("http.token"), "{error}");
    }

    #[test]
    fn agents_follow_the_same_rules_as_the_api() {
        let agent = |fields: &str| {
            Config::from_toml(
                Path::new("x.toml"),
                &format!("[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"long enough\"\n{fields}"),
            )
        };
        assert!(agent("skills = { spanish = 10 }").is_ok());
        let error = agent("skills = { spanish = 11 }").unwrap_err().to_string();
        assert!(error.contains("agents 'alice'.skills"), "{error}");
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[[agents]]\nid = \"alice\"\nname = \"Alice\"\npassword = \"short\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("agents 'alice'.password"), "{error}");
        assert!(!error.contains("short"), "{error}");
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[[agents]]\nid = \"al ice\"\nname = \"Alice\"\npassword = \"long enough\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("agents 'al ice'.id"), "{error}");
    }

    #[test]
    fn bad_rtp_range_is_refused() {
        let error = Config::from_toml(
            Path::new("x.toml"),
            "[rtp]\nport_min = 300\nport_max = 200\n",
        )
        .unwrap_err();
        assert!(error.to_string().contains("rtp.port_min"));
    }
}
