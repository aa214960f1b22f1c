//! Progress of long replays: a bar with rate and time left on standard
//! error, drawn only when standard error is a terminal (quiet in pipes,
//! logs and tests).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;

/// Reports how far a replay has got; cheap to call on every record.
pub struct Progress {
    bar: Option<ProgressBar>,
    every: u64,
}

impl Progress {
    /// A bar over `total` records, shown only on a terminal.
    pub fn new(what: &str, total: u64) -> Progress {
        if !std::io::stderr().is_terminal() {
            return Progress::hidden();
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(8));
        let style = ProgressStyle::with_template(
            "{msg} [{bar:30}] {human_pos}/{human_len} events, {rate} events/s, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{}", state.per_sec().round() as u64);
        })
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(what.to_owned());
        Progress { bar: Some(bar), every: 4096 }
    }

    /// Draws nothing.
    pub fn hidden() -> Progress {
        Progress { bar: None, every: u64::MAX }
    }

    /// The replay reached `position` (counted from `start`).
    #[inline]
    pub fn at(&self, done: u64) {
        if done.is_multiple_of(self.every)
            && let Some(bar) = &self.bar
        {
            bar.set_position(done);
        }
    }

    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
