//! The loaded dialplans, by name, and their reloading.
//!
//! Every `*.toml` under the dialplans folder is one plan, named by its
//! `[dialplan] name` (default: the file stem). Reloads happen on SIGHUP and
//! when a file changes; new calls get the new plan while calls in progress
//! keep the `Arc` of the plan they started on. A file whose new version has
//! errors keeps its old version running, and the errors are logged.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::dialplan::{self, Dialplan, DialplanError, PromptCatalog};
use crate::media::prompts::PromptLibrary;

/// Validates prompts by loading them: a file that exists but is not a readable
/// WAV is as much a load error as a missing one.
pub struct LoadingCatalog<'a>(pub &'a PromptLibrary);

impl PromptCatalog for LoadingCatalog<'_> {
    fn has_prompt(&self, language: &str, name: &str) -> bool {
        match self.0.get(language, name) {
            Ok(_) => true,
            Err(error) => {
                tracing::debug!(%error, "prompt check failed");
                false
            }
        }
    }
}

/// Every problem found while loading a folder of dialplans.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub loaded: Vec<String>,
    pub errors: Vec<DialplanError>,
}

pub struct PlanRegistry {
    dir: PathBuf,
    prompts: Arc<PromptLibrary>,
    plans: RwLock<HashMap<String, Arc<Dialplan>>>,
    /// Modification times of the files as last loaded, to notice changes.
    seen: RwLock<HashMap<PathBuf, SystemTime>>,
    /// Which plan each file last provided, to retire plans whose file is gone.
    sources: RwLock<HashMap<PathBuf, String>>,
}

/// The dialplan files in a folder, sorted so loading order is stable.
pub fn plan_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml") && path.is_file())
        .collect();
    files.sort();
    Ok(files)
}

impl PlanRegistry {
    pub fn new(dir: impl Into<PathBuf>, prompts: Arc<PromptLibrary>) -> PlanRegistry {
        PlanRegistry {
            dir: dir.into(),
            prompts,
            plans: RwLock::new(HashMap::new()),
            seen: RwLock::new(HashMap::new()),
            sources: RwLock::new(HashMap::new()),
        }
    }

    pub fn get(&self, name: &str) -> Option<Arc<Dialplan>> {
        self.plans.read().ok()?.get(name).cloned()
    }

    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .plans
            .read()
            .map(|plans| plans.keys().cloned().collect())
            .unwrap_or_default();
        names.sort();
        names
    }

    /// Loads (or reloads) every file in the folder. Good files replace their
    /// previous version; bad ones leave it in place.
    pub fn load_all(&self) -> LoadReport {
        let mut report = LoadReport::default();
        let files = match plan_files(&self.dir) {
            Ok(files) => files,
            Err(error) => {
                report.errors.push(DialplanError {
                    file: self.dir.display().to_string(),
                    node: None,
                    reason: format!("cannot read the dialplans folder: {error}"),
                });
                return report;
            }
        };
        let catalog = LoadingCatalog(&self.prompts);
        let mut seen = HashMap::new();
        for file in files {
            if let Ok(modified) = std::fs::metadata(&file).and_then(|m| m.modified()) {
                seen.insert(file.clone(), modified);
            }
            match dialplan::load_file(&file, &catalog) {
                Ok(plan) => {
                    let name = plan.name().to_string();
                    if let Ok(mut plans) = self.plans.write() {
                        plans.insert(name.clone(), Arc::new(plan));
                    }
                    if let Ok(mut sources) = self.sources.write() {
                        sources.insert(file.clone(), name.clone());
                    }
                    report.loaded.push(name);
                }
                Err(errors) => report.errors.extend(errors),
            }
        }
        // A plan whose file was deleted stops taking new calls (calls on it
        // keep their copy).
        if let (Ok(mut sources), Ok(mut plans)) = (self.sources.write(), self.plans.write()) {
            let gone: Vec<PathBuf> = sources
                .keys()
                .filter(|file| !seen.contains_key(*file))
                .cloned()
                .collect();
            for file in gone {
                if let Some(name) = sources.remove(&file) {
                    if !sources.values().any(|other| other == &name) {
                        plans.remove(&name);
                        tracing::info!(plan = %name, file = %file.display(), "dialplan file removed; plan retired");
                    }
                }
            }
        }
        if let Ok(mut guard) = self.seen.write() {
            *guard = seen;
        }
        report
    }

    /// True if any file was added, removed or modified since the last load.
    fn changed_on_disk(&self) -> bool {
        let Ok(files) = plan_files(&self.dir) else {
            return false;
        };
        let Ok(seen) = self.seen.read() else {
            return false;
        };
        if files.len() != seen.len() {
            return true;
        }
        files.iter().any(|file| {
            let modified = std::fs::metadata(file).and_then(|m| m.modified()).ok();
            modified != seen.get(file).copied()
        })
    }

    /// Reloads and logs the outcome.
    pub fn reload_and_log(&self, why: &str) {
        let report = self.load_all();
        for problem in &report.errors {
            error!(%problem, "dialplan not (re)loaded; the previous version stays in service");
        }
        info!(why, loaded = ?report.loaded, errors = report.errors.len(), "dialplans reloaded");
    }

    /// Reloading reads files and decodes WAVs: keep it off the workers that
    /// send the calls' RTP.
    async fn reload_off_the_runtime(self: Arc<Self>, why: &'static str) {
        tokio::task::spawn_blocking(move || self.reload_and_log(why))
            .await
            .ok();
    }

    /// Watches for SIGHUP and file changes until `stop`.
    pub fn watch(self: Arc<Self>, poll_every: Duration, stop: CancellationToken) {
        tokio::spawn(async move {
            #[cfg(unix)]
            let mut hangups =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
                    Ok(signal) => Some(signal),
                    Err(error) => {
                        warn!(%error, "cannot listen for SIGHUP; reload on file change only");
                        None
                    }
                };
            let mut ticker = tokio::time::interval(poll_every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                #[cfg(unix)]
                let hangup = async {
                    match hangups.as_mut() {
                        Some(signal) => {
                            signal.recv().await;
                        }
                        None => std::future::pending::<()>().await,
                    }
                };
                #[cfg(not(unix))]
                let hangup = std::future::pending::<()>();
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = hangup => self.clone().reload_off_the_runtime("SIGHUP").await,
                    _ = ticker.tick() => {
                        if self.changed_on_disk() {
                            self.clone().reload_off_the_runtime("file changed").await;
                        }
                    }
                }
            }
        });
    }
}
