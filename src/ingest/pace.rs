//! When the rating writer goes through the rating inbox: the configured [`InboxMode`] and, in
//! `auto`, the [`Pace`] of arrivals against projection.

use std::time::Duration;

use super::writer::PROJECT_CHUNK;

/// Where the rating writer commits ratings (`rating_inbox` in the configuration file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InboxMode {
    /// Straight into ratings, rollups and cases while the writer keeps up; through the inbox
    /// under load.
    #[default]
    Auto,
    /// Always through the inbox, projected as soon as the writer is idle.
    Always,
    /// Never through the inbox: every 2xx comes after the rating's case exists, however slow.
    Never,
}

impl InboxMode {
    /// The mode's name in the configuration.
    pub fn as_str(self) -> &'static str {
        match self {
            InboxMode::Auto => "auto",
            InboxMode::Always => "always",
            InboxMode::Never => "never",
        }
    }
}

impl std::str::FromStr for InboxMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(InboxMode::Auto),
            "always" => Ok(InboxMode::Always),
            "never" => Ok(InboxMode::Never),
            other => Err(format!("rating_inbox: {other:?} is not one of auto, always, never")),
        }
    }
}

/// How fast ratings arrive and how fast the writer projects them, to tell load from quiet.
#[derive(Debug)]
pub(super) struct Pace {
    /// Ratings taken by the writer in the last [`Pace::WINDOW`].
    arrivals: std::collections::VecDeque<(std::time::Instant, usize)>,
    /// Ratings a second that projection achieves (moving average over full chunks).
    projection_rate: f64,
}

impl Pace {
    pub(super) const WINDOW: Duration = Duration::from_millis(200);

    pub(super) fn new() -> Pace {
        // A cautious guess until the first full chunk is measured (the project's machine
        // projects 5-10k/s).
        Pace { arrivals: Default::default(), projection_rate: 4_000.0 }
    }

    pub(super) fn arrived(&mut self, n: usize) {
        self.arrivals.push_back((std::time::Instant::now(), n));
    }

    /// Ratings a second over the last window.
    fn arrival_rate(&mut self) -> f64 {
        let now = std::time::Instant::now();
        while self.arrivals.front().is_some_and(|(at, _)| now.duration_since(*at) > Self::WINDOW) {
            self.arrivals.pop_front();
        }
        self.arrivals.iter().map(|(_, n)| *n).sum::<usize>() as f64 / Self::WINDOW.as_secs_f64()
    }

    pub(super) fn projected(&mut self, n: usize, took: Duration) {
        if n >= PROJECT_CHUNK / 2 && !took.is_zero() {
            self.projection_rate = 0.8 * self.projection_rate + 0.2 * (n as f64 / took.as_secs_f64());
        }
    }

    /// Ratings arrive at under half the rate projection goes: writing them straight through
    /// (or projecting the inbox) leaves the writer time to spare.
    pub(super) fn quiet(&mut self) -> bool {
        self.arrival_rate() < self.projection_rate / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::MAX_BATCH;

    #[test]
    fn a_burst_is_load_and_a_lone_rating_is_quiet() {
        let mut pace = Pace::new();
        pace.arrived(1);
        assert!(pace.quiet(), "one rating in the window");
        pace.arrived(MAX_BATCH);
        assert!(
            !pace.quiet(),
            "{} ratings in {:?} is more than half of {}/s",
            MAX_BATCH + 1,
            Pace::WINDOW,
            pace.projection_rate
        );
    }

    #[test]
    fn a_faster_projection_tolerates_more_arrivals() {
        let mut pace = Pace::new();
        pace.arrived(500);
        assert!(!pace.quiet());
        for _ in 0..30 {
            // 32 ratings in 1 ms: 32,000 a second.
            pace.projected(PROJECT_CHUNK, Duration::from_millis(1));
        }
        assert!(pace.quiet(), "500 in {:?} is under half of {}/s", Pace::WINDOW, pace.projection_rate);
        // Small chunks say little about the rate and are not counted.
        let rate = pace.projection_rate;
        pace.projected(1, Duration::from_secs(1));
        assert_eq!(pace.projection_rate, rate);
    }
}
