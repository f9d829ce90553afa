//! Progress on standard error for long work.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::time::Duration;

/// A spinner that names the current stage. It appears only when the work is large
/// enough to take over a second (judged from the input size) and `--quiet` is off.
pub struct Progress(Option<ProgressBar>);

/// Inputs above this size take over a second to process.
const LARGE_INPUT: u64 = 32 * 1024 * 1024;

impl Progress {
    pub fn new(quiet: bool, input_bytes: u64) -> Self {
        if quiet || input_bytes < LARGE_INPUT {
            return Progress(None);
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// A spinner for work whose size is not known in advance (an import), unless
    /// `quiet`.
    pub fn spinner(quiet: bool) -> Self {
        Progress::new(quiet, LARGE_INPUT)
    }

    /// Names the current step.
    pub fn say(&self, message: String) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    /// Prints a line above the spinner (or plainly when there is none).
    pub fn println(&self, line: String) {
        match &self.0 {
            // A spinner not drawn (standard error is not a terminal) prints nothing.
            Some(bar) if !bar.is_hidden() => bar.println(line),
            _ => eprintln!("{line}"),
        }
    }

    pub fn stage(&self, message: &'static str) {
        if let Some(bar) = &self.0 {
            bar.set_message(message);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}
