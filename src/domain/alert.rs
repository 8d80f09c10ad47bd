//! Live alerts: when a unit's recent ratings breach the rule, one episode opens and its unit
//! heads and supervisors are told. The rule has hysteresis, so that a unit hovering at the
//! threshold raises one episode, not one every few seconds:
//!
//! - an episode opens when the window breaches the rule ([`AlertRule::breached`]);
//! - it closes only when the window has been *clear* (well below the threshold: at most
//!   `clear_ratio` unsatisfied, or fewer ratings than the rule needs) for `clear_after_ms`
//!   without a break, or at once when the whole window holds no rating;
//! - a unit has at most one open episode; one that breaches again within `renotify_ms` of its
//!   last closing reopens that episode instead of opening a new one, and nobody is told again;
//! - while an episode stays open and breaching, its people are told again at most every
//!   `renotify_ms`.
//!
//! So a unit's people hear of it at most once per `renotify_ms`, however its ratings move.

/// The live alert rule.
#[derive(Debug, Clone, Copy)]
pub struct AlertRule {
    /// Sliding window, ms (default 15 minutes).
    pub window_ms: i64,
    /// Fewest ratings in the window (default 4).
    pub min_ratings: i64,
    /// Smallest unsatisfied share that opens an episode (default 0.5).
    pub min_unsatisfied_ratio: f64,
    /// Largest unsatisfied share that counts as clear (default 0.25, half the threshold).
    pub clear_ratio: f64,
    /// How long a window must stay clear before its episode closes (default 10 minutes).
    pub clear_after_ms: i64,
    /// Shortest time between two notices of one unit (default one hour).
    pub renotify_ms: i64,
}

impl Default for AlertRule {
    fn default() -> Self {
        AlertRule {
            window_ms: 15 * 60 * 1000,
            min_ratings: 4,
            min_unsatisfied_ratio: 0.5,
            clear_ratio: 0.25,
            clear_after_ms: 10 * 60 * 1000,
            renotify_ms: 60 * 60 * 1000,
        }
    }
}

impl AlertRule {
    /// Whether `unsatisfied` of `total` ratings in the window breach the rule.
    pub fn breached(&self, total: i64, unsatisfied: i64) -> bool {
        total >= self.min_ratings && (unsatisfied as f64) >= self.min_unsatisfied_ratio * total as f64
    }

    /// Whether the window is well below the threshold.
    pub fn clear(&self, total: i64, unsatisfied: i64) -> bool {
        total < self.min_ratings || (unsatisfied as f64) <= self.clear_ratio * total as f64
    }
}

/// What is known of a unit when its alert is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlertFacts {
    /// Ratings in the window.
    pub total: i64,
    /// Of which unsatisfied.
    pub unsatisfied: i64,
    /// The open episode, if any.
    pub open: Option<OpenEpisode>,
    /// When the unit's last episode closed, if one did.
    pub last_closed_at: Option<i64>,
    /// When the unit's people were last told (of any episode).
    pub last_notified_at: Option<i64>,
}

/// An open episode's clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenEpisode {
    /// Since when the window has been clear without a break, if it is.
    pub clear_since: Option<i64>,
}

/// What to do with a unit's alert now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertStep {
    /// Nothing changes.
    Stay,
    /// Open a new episode and tell its people.
    Open,
    /// Reopen the last episode (it closed within `renotify_ms`); nobody is told.
    Reopen,
    /// Tell the open episode's people again: it still breaches after `renotify_ms`.
    Renotify,
    /// The window turned clear: start the clear clock.
    StartClearing,
    /// The window is no longer clear: stop the clear clock.
    StopClearing,
    /// Close the episode.
    Close,
}

impl AlertStep {
    /// Whether this step tells the unit's people.
    pub fn notifies(self) -> bool {
        matches!(self, AlertStep::Open | AlertStep::Renotify)
    }
}

/// The one decision of the alert machine (see the module's documentation).
pub fn step(rule: &AlertRule, f: &AlertFacts, now: i64) -> AlertStep {
    let breached = rule.breached(f.total, f.unsatisfied);
    let clear = rule.clear(f.total, f.unsatisfied);
    let told_recently = f.last_notified_at.is_some_and(|t| now - t < rule.renotify_ms);
    match f.open {
        None if !breached => AlertStep::Stay,
        None if f.last_closed_at.is_some_and(|t| now - t < rule.renotify_ms) || told_recently => AlertStep::Reopen,
        None => AlertStep::Open,
        Some(_) if f.total == 0 => AlertStep::Close,
        Some(OpenEpisode { clear_since: None }) if clear => AlertStep::StartClearing,
        Some(OpenEpisode { clear_since: Some(since) }) if clear && now - since >= rule.clear_after_ms => {
            AlertStep::Close
        }
        Some(OpenEpisode { clear_since: Some(_) }) if !clear => AlertStep::StopClearing,
        Some(_) if breached && !told_recently => AlertStep::Renotify,
        Some(_) => AlertStep::Stay,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const MIN: i64 = 60_000;

    fn facts(total: i64, unsatisfied: i64) -> AlertFacts {
        AlertFacts { total, unsatisfied, open: None, last_closed_at: None, last_notified_at: None }
    }

    #[test]
    fn a_breach_opens_and_hovering_at_the_threshold_does_not_close() {
        let rule = AlertRule::default();
        assert_eq!(step(&rule, &facts(4, 2), 0), AlertStep::Open);
        let open =
            AlertFacts { open: Some(OpenEpisode { clear_since: None }), last_notified_at: Some(0), ..facts(5, 2) };
        assert_eq!(step(&rule, &open, MIN), AlertStep::Stay, "40 % is below the threshold but not clear");
        let clearing = AlertFacts { total: 5, unsatisfied: 1, ..open };
        assert_eq!(step(&rule, &clearing, MIN), AlertStep::StartClearing);
        let clearing = AlertFacts { open: Some(OpenEpisode { clear_since: Some(MIN) }), ..clearing };
        assert_eq!(step(&rule, &clearing, 5 * MIN), AlertStep::Stay, "clear for four minutes only");
        assert_eq!(step(&rule, &clearing, 11 * MIN), AlertStep::Close);
        assert_eq!(step(&rule, &AlertFacts { total: 5, unsatisfied: 2, ..clearing }, 5 * MIN), AlertStep::StopClearing);
        assert_eq!(
            step(&rule, &AlertFacts { total: 0, unsatisfied: 0, ..open }, MIN),
            AlertStep::Close,
            "an empty window"
        );
    }

    #[test]
    fn a_breach_soon_after_closing_reopens_quietly_and_a_long_one_is_told_again() {
        let rule = AlertRule::default();
        let closed = AlertFacts { last_closed_at: Some(20 * MIN), last_notified_at: Some(0), ..facts(4, 3) };
        assert_eq!(step(&rule, &closed, 30 * MIN), AlertStep::Reopen);
        assert_eq!(step(&rule, &closed, 90 * MIN), AlertStep::Open);
        let open =
            AlertFacts { open: Some(OpenEpisode { clear_since: None }), last_notified_at: Some(0), ..facts(8, 6) };
        assert_eq!(step(&rule, &open, 59 * MIN), AlertStep::Stay);
        assert_eq!(step(&rule, &open, 60 * MIN), AlertStep::Renotify);
    }

    proptest! {
        /// However the ratings move, the unit's people are told at most once per
        /// `renotify_ms`, and a unit has at most one episode open.
        #[test]
        fn at_most_one_notice_per_interval(windows in prop::collection::vec((0i64..12, 0i64..12, 1i64..120_000), 1..400)) {
            let rule = AlertRule::default();
            let mut now = 0;
            let mut open: Option<OpenEpisode> = None;
            let (mut last_closed_at, mut last_notified_at) = (None, None);
            let mut notices: Vec<i64> = Vec::new();
            for (total, unsatisfied, dt) in windows {
                now += dt;
                let unsatisfied = unsatisfied.min(total);
                let f = AlertFacts { total, unsatisfied, open, last_closed_at, last_notified_at };
                let s = step(&rule, &f, now);
                if s.notifies() {
                    notices.push(now);
                    last_notified_at = Some(now);
                }
                match s {
                    AlertStep::Open | AlertStep::Reopen => {
                        prop_assert!(open.is_none(), "one open episode at a time");
                        open = Some(OpenEpisode { clear_since: None });
                    }
                    AlertStep::StartClearing => open = Some(OpenEpisode { clear_since: Some(now) }),
                    AlertStep::StopClearing => open = Some(OpenEpisode { clear_since: None }),
                    AlertStep::Close => {
                        prop_assert!(open.is_some());
                        open = None;
                        last_closed_at = Some(now);
                    }
                    AlertStep::Renotify => prop_assert!(open.is_some()),
                    AlertStep::Stay => {}
                }
            }
            for pair in notices.windows(2) {
                prop_assert!(pair[1] - pair[0] >= rule.renotify_ms, "told twice within the interval: {notices:?}");
            }
        }
    }
}
