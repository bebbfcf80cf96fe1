//! The state every handler receives: the platform and the page templates.

use std::ops::Deref;
use std::sync::Arc;

use anyhow::Context as _;

use super::pages;
use crate::app::App;

/// Shared state of every handler: the platform, and the page templates of the surfaces.
#[derive(Clone)]
pub struct AppState {
    /// The platform.
    pub app: Arc<App>,
    /// Page templates.
    pub templates: Arc<pages::Templates>,
}

impl AppState {
    /// The state of a server over `app` (loads the templates, installs the metrics recorder).
    pub fn new(app: Arc<App>) -> anyhow::Result<Self> {
        let templates = Arc::new(pages::Templates::new().context("failed to load the page templates")?);
        // Installed before the first request so every request is counted.
        crate::telemetry::prometheus();
        Ok(Self { app, templates })
    }
}

impl Deref for AppState {
    type Target = App;

    fn deref(&self) -> &App {
        &self.app
    }
}
