//! Who may try to log in again, and when: the throttle on failed logins.
//!
//! Failures are counted twice: per (username, client address), so that whoever guesses one
//! account's password is held off without locking its owner out from another address; and per
//! client address, so that guessing many usernames (or one password against many accounts) is
//! held off too. An IPv6 client is counted by its /64 network, which one household or phone
//! holds whole. A count that saw no failure for an hour starts again.

use std::net::IpAddr;

/// Failures of one (username, address) pair before it waits.
pub const PAIR_FREE_FAILURES: i64 = 5;
/// Failures from one address, across usernames, before it waits: an office behind one address
/// has many people who mistype.
pub const ADDRESS_FREE_FAILURES: i64 = 30;
/// A count with no failure for this long starts again from zero.
pub const FORGET_AFTER_MS: i64 = 60 * 60 * 1000;
/// The longest wait.
pub const MAX_LOCK_MS: i64 = 60 * 60 * 1000;

/// One counter of failed logins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    /// The stored key: `pair:{address}:{username}` or `addr:{address}`.
    pub key: String,
    /// Failures allowed before the first wait.
    pub free: i64,
}

/// The two counters a login attempt of `username` from `client_addr` is held to.
pub fn counters(username: &str, client_addr: &str) -> [Counter; 2] {
    let address = address_key(client_addr);
    [
        Counter { key: format!("pair:{address}:{}", username.to_lowercase()), free: PAIR_FREE_FAILURES },
        Counter { key: format!("addr:{address}"), free: ADDRESS_FREE_FAILURES },
    ]
}

/// The address as counted: IPv4 as it is, IPv6 by its /64 network.
fn address_key(client_addr: &str) -> String {
    match client_addr.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        Ok(IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or_else(String::new, |v4| v4.to_string()),
        Ok(ip) => ip.to_string(),
        Err(_) => client_addr.to_owned(),
    }
}

/// The failures a counter holds after one more, given the count it had and when it last failed.
pub fn next_failures(previous: Option<(i64, i64)>, now_ms: i64) -> i64 {
    match previous {
        Some((failures, last_at)) if now_ms - last_at < FORGET_AFTER_MS => failures + 1,
        _ => 1,
    }
}

/// The wait after `failures` failures of a counter that allows `free`: none up to `free - 1`,
/// then 30 s, doubling with each further failure, at most an hour.
pub fn lock_ms(failures: i64, free: i64) -> i64 {
    if failures < free {
        return 0;
    }
    let doublings = (failures - free).min(7) as u32;
    (30_000i64 << doublings).min(MAX_LOCK_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_starts_after_the_free_failures_and_is_capped() {
        assert_eq!(lock_ms(4, PAIR_FREE_FAILURES), 0);
        assert_eq!(lock_ms(5, PAIR_FREE_FAILURES), 30_000);
        assert_eq!(lock_ms(6, PAIR_FREE_FAILURES), 60_000);
        assert_eq!(lock_ms(50, PAIR_FREE_FAILURES), MAX_LOCK_MS);
        assert_eq!(lock_ms(29, ADDRESS_FREE_FAILURES), 0);
        assert_eq!(lock_ms(30, ADDRESS_FREE_FAILURES), 30_000);
    }

    #[test]
    fn counters_are_per_pair_and_per_address_and_ipv6_counts_by_network() {
        let [pair, addr] = counters("Admin", "203.0.113.9");
        assert_eq!(pair.key, "pair:203.0.113.9:admin");
        assert_eq!(addr.key, "addr:203.0.113.9");
        let [_, a] = counters("admin", "2001:db8:1:2:aaaa::1");
        let [_, b] = counters("admin", "2001:db8:1:2:bbbb::9");
        assert_eq!(a.key, b.key, "one /64 is one address");
        assert_eq!(counters("x", "::ffff:198.51.100.1")[1].key, "addr:198.51.100.1");
    }

    #[test]
    fn a_count_idle_for_an_hour_starts_again() {
        assert_eq!(next_failures(None, 10), 1);
        assert_eq!(next_failures(Some((4, 0)), FORGET_AFTER_MS - 1), 5);
        assert_eq!(next_failures(Some((4, 0)), FORGET_AFTER_MS), 1);
    }
}
