//! A campaign's settings, as stored (JSON) and as given on the command line,
//! validated into the policy objects the dialer's decisions use.

use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::compliance::{CallingWindow, CompliancePolicy};
use super::pacing::PacingLimits;
use super::retry::RetryRules;

/// Everything about how a campaign dials, with defaults that are safe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CampaignSettings {
    /// Local calling hours in the callee's time zone; may only narrow the
    /// legal 08:00-21:00.
    pub calling_window: String,
    /// Allowed days ("mon".."sun"); empty = every day.
    pub days: Vec<String>,
    /// Local dates on which nobody is called.
    pub holidays: Vec<NaiveDate>,
    pub max_attempts: u32,
    pub max_attempts_per_number_per_day: u32,
    /// e.g. "busy=10m,no_answer=2h,machine=4h,failed=30m,abandoned=1h".
    pub retry: String,
    pub max_concurrent: u32,
    pub calls_per_second: f64,
    pub ring_timeout_secs: u64,
    /// Region for numbers written without a country code.
    pub default_region: String,
    /// Answering-machine detection on answer.
    pub amd: bool,
    /// Decide within this many ms of answer (Unknown counts as a person).
    pub amd_max_ms: u32,
    /// Dialplan to run after a machine's beep (a message); none = hang up.
    pub machine_dialplan: Option<String>,
    /// Who takes answered calls: `unattended` (the dialplan), or agents in
    /// `queue`, paced `progressive` (one lead per free agent) or
    /// `predictive` (dialling ahead within the abandonment cap).
    pub mode: DialMode,
    /// The agents' queue, for `progressive` and `predictive`.
    pub queue: Option<String>,
    /// Most abandoned calls, as a percentage of calls a person answered,
    /// over the campaign's last 1,000 such calls (the legal cap is 3 %).
    pub max_abandon_percent: f64,
    /// The prompt played to a person no agent could take within 2 s
    /// (who is calling, and how to opt out).
    pub safe_harbor: String,
    /// Stereo recording of agent calls (caller left, agent right); the
    /// queue's own setting applies when off.
    pub record: bool,
}

/// Who takes a campaign's answered calls, and how the dialer paces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DialMode {
    /// The campaign's dialplan runs; as many calls as the limits allow.
    #[default]
    Unattended,
    /// One call per available agent that has none on its way.
    Progressive,
    /// Ahead of agents, from measured answer rate and handle time.
    Predictive,
}

impl FromStr for DialMode {
    type Err = String;
    fn from_str(text: &str) -> Result<DialMode, String> {
        match text.trim() {
            "unattended" => Ok(DialMode::Unattended),
            "progressive" => Ok(DialMode::Progressive),
            "predictive" => Ok(DialMode::Predictive),
            other => Err(format!(
                "mode '{other}': use unattended, progressive or predictive"
            )),
        }
    }
}

/// How an agent-backed campaign hands answered calls to agents.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPolicy {
    pub mode: DialMode,
    pub queue: String,
    /// As a fraction (0.03 = 3 %).
    pub abandon_cap: f64,
    pub safe_harbor: String,
    pub record: bool,
}

/// How long a person who answers may wait for an agent before the call
/// counts as abandoned (the 2-second rule of the US Telemarketing Sales
/// Rule and Ofcom's guidance).
pub const CONNECT_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

impl Default for CampaignSettings {
    fn default() -> Self {
        CampaignSettings {
            calling_window: "08:00-21:00".into(),
            days: Vec::new(),
            holidays: Vec::new(),
            max_attempts: 3,
            max_attempts_per_number_per_day: 3,
            retry: "busy=10m,no_answer=2h,machine=4h,failed=30m,abandoned=1h".into(),
            max_concurrent: 5,
            calls_per_second: 1.0,
            ring_timeout_secs: 25,
            default_region: "US".into(),
            amd: true,
            amd_max_ms: 4000,
            machine_dialplan: None,
            mode: DialMode::Unattended,
            queue: None,
            max_abandon_percent: 3.0,
            safe_harbor: "safe_harbor".into(),
            record: false,
        }
    }
}

/// The settings turned into what the decisions need.
#[derive(Debug, Clone)]
pub struct CampaignPolicy {
    pub compliance: CompliancePolicy,
    pub retry: RetryRules,
    pub pacing: PacingLimits,
    pub ring_timeout: std::time::Duration,
    /// `None` when detection is off.
    pub amd: Option<crate::media::amd::AmdConfig>,
    /// `None` for unattended campaigns.
    pub agents: Option<AgentPolicy>,
}

impl CampaignSettings {
    /// Checks every setting; the error names the setting and the fix.
    pub fn policy(&self) -> Result<CampaignPolicy, String> {
        let window = CallingWindow::from_str(&self.calling_window).map_err(|error| {
            format!(
                "calling_window '{}': {error} (use e.g. 09:00-20:00)",
                self.calling_window
            )
        })?;
        let mut days = chrono::WeekdaySet::EMPTY;
        for day in &self.days {
            let weekday = chrono::Weekday::from_str(day)
                .map_err(|_| format!("days: '{day}' is not a day name (mon, tue, ...)"))?;
            days.insert(weekday);
        }
        let mut compliance = CompliancePolicy {
            campaign_window: Some(window),
            holidays: self.holidays.iter().copied().collect(),
            max_attempts_per_lead: self.max_attempts,
            max_attempts_per_number_per_24h: self.max_attempts_per_number_per_day,
            ..CompliancePolicy::default()
        };
        if !self.days.is_empty() {
            compliance.days = Some(days);
        }
        if compliance.effective_window().is_none() {
            return Err(format!(
                "calling_window {} does not overlap the legal window {}",
                self.calling_window, compliance.legal_window
            ));
        }
        let mut retry = RetryRules::from_str(&self.retry)
            .map_err(|error| format!("retry '{}': {error}", self.retry))?;
        retry.max_attempts = self.max_attempts;
        if self.max_attempts == 0 {
            return Err("max_attempts must be at least 1".into());
        }
        if self.max_concurrent == 0 {
            return Err("max_concurrent must be at least 1".into());
        }
        if !(self.calls_per_second.is_finite() && self.calls_per_second > 0.0) {
            return Err("calls_per_second must be above 0 (e.g. 0.5 or 2)".into());
        }
        if self.amd && !(1000..=10_000).contains(&self.amd_max_ms) {
            return Err("amd_max_ms must be between 1000 and 10000 (default 4000)".into());
        }
        if self.ring_timeout_secs == 0 || self.ring_timeout_secs > 300 {
            return Err("ring_timeout_secs must be between 1 and 300 (default 25)".into());
        }
        let agents = match (self.mode, &self.queue) {
            (DialMode::Unattended, None) => None,
            (DialMode::Unattended, Some(_)) => {
                return Err(
                    "queue is used only with mode progressive or predictive (set mode too)".into(),
                )
            }
            (_, None) => {
                return Err(format!(
                    "mode {:?} needs the agents' queue (queue = \"sales\")",
                    self.mode
                )
                .to_lowercase())
            }
            (mode, Some(queue)) => {
                if queue.trim().is_empty() {
                    return Err("queue must name an agent queue".into());
                }
                if !(self.max_abandon_percent > 0.0 && self.max_abandon_percent <= 3.0) {
                    return Err(format!(
                        "max_abandon_percent {} must be above 0 and at most 3 (the legal cap)",
                        self.max_abandon_percent
                    ));
                }
                if self.safe_harbor.trim().is_empty() {
                    return Err("safe_harbor must name a prompt (default safe_harbor)".into());
                }
                Some(AgentPolicy {
                    mode,
                    queue: queue.trim().to_string(),
                    abandon_cap: self.max_abandon_percent / 100.0,
                    safe_harbor: self.safe_harbor.trim().to_string(),
                    record: self.record,
                })
            }
        };
        Ok(CampaignPolicy {
            agents,
            compliance,
            retry,
            pacing: PacingLimits {
                max_concurrent: self.max_concurrent,
                max_new_per_second: self.calls_per_second,
            },
            ring_timeout: std::time::Duration::from_secs(self.ring_timeout_secs),
            amd: self.amd.then(|| crate::media::amd::AmdConfig {
                total_analysis_ms: self.amd_max_ms,
                ..crate::media::amd::AmdConfig::default()
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let policy = CampaignSettings::default().policy().unwrap();
        assert_eq!(policy.retry.max_attempts, 3);
    }

    #[test]
    fn bad_settings_name_the_setting() {
        let mut settings = CampaignSettings {
            calling_window: "22:00-23:00".into(),
            ..CampaignSettings::default()
        };
        assert!(settings.policy().unwrap_err().contains("does not overlap"));
        settings.calling_window = "9-5".into();
        assert!(settings.policy().unwrap_err().starts_with("calling_window"));
        settings.calling_window = "09:00-17:00".into();
        settings.days = vec!["funday".into()];
        assert!(settings.policy().unwrap_err().starts_with("days"));
        settings.days.clear();
        settings.retry = "busy=forever".into();
        assert!(settings.policy().unwrap_err().starts_with("retry"));
    }

    #[test]
    fn agent_modes_need_a_queue_and_a_legal_cap() {
        let mut settings = CampaignSettings {
            mode: DialMode::Predictive,
            ..CampaignSettings::default()
        };
        assert!(settings
            .policy()
            .unwrap_err()
            .contains("needs the agents' queue"));
        settings.queue = Some("sales".into());
        let agents = settings.policy().unwrap().agents.unwrap();
        assert_eq!(agents.queue, "sales");
        assert!((agents.abandon_cap - 0.03).abs() < 1e-9);
        settings.max_abandon_percent = 5.0;
        assert!(settings.policy().unwrap_err().contains("legal cap"));
        settings.max_abandon_percent = 0.0;
        assert!(settings.policy().is_err());
        settings.max_abandon_percent = 2.0;
        settings.mode = DialMode::Unattended;
        assert!(settings.policy().unwrap_err().contains("only with mode"));
        settings.queue = None;
        assert!(settings.policy().unwrap().agents.is_none());
        assert_eq!("progressive".parse::<DialMode>(), Ok(DialMode::Progressive));
        assert!("robot".parse::<DialMode>().is_err());
        // Settings stored before agent modes existed still read.
        let old: CampaignSettings = serde_json::from_str(r#"{"amd": false}"#).unwrap();
        assert_eq!(old.mode, DialMode::Unattended);
    }
}
