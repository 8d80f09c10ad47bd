//! Rating rules: the scales and their outcomes, required reasons, field checks, phones, signed
//! tokens, the abuse tracker and the alert rule.

use super::*;

fn std_reasons() -> Vec<String> {
    STANDARD_REASONS.iter().map(|s| (*s).to_owned()).collect()
}

fn raw(level: Option<i64>, satisfied: Option<bool>, reasons: &[&str]) -> RawRating {
    RawRating { level, satisfied, reasons: reasons.iter().map(|s| (*s).to_owned()).collect(), ..Default::default() }
}

#[test]
fn five_levels_map_onto_three_outcomes() {
    assert_eq!(Outcome::of_level(5), Outcome::Satisfied);
    assert_eq!(Outcome::of_level(4), Outcome::Satisfied);
    assert_eq!(Outcome::of_level(3), Outcome::Neutral);
    assert_eq!(Outcome::of_level(2), Outcome::Unsatisfied);
    assert_eq!(Outcome::of_level(1), Outcome::Unsatisfied);
}

#[test]
fn an_unsatisfied_rating_needs_a_reason_on_either_scale() {
    let r = std_reasons();
    assert!(validate(&raw(Some(2), None, &[]), Scale::Five, &r).is_err());
    assert!(validate(&raw(None, Some(false), &[]), Scale::Two, &r).is_err());
    let ok = validate(&raw(None, Some(false), &["not_done"]), Scale::Two, &r).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!((ok.level, ok.outcome), (1, Outcome::Unsatisfied));
    assert!(validate(&raw(Some(3), None, &[]), Scale::Five, &r).is_ok(), "neutral needs no reason");
}

#[test]
fn each_bad_field_is_named() {
    let bad = RawRating {
        level: Some(9),
        reasons: vec!["bribes".into()],
        comment: Some("x".repeat(501)),
        phone: Some("12345".into()),
        ..Default::default()
    };
    let fields: Vec<String> =
        validate(&bad, Scale::Five, &std_reasons()).err().unwrap_or_default().into_iter().map(|e| e.field).collect();
    assert_eq!(fields, ["level", "reasons", "comment", "phone"]);
    let no_consent = RawRating { level: Some(5), phone: Some("13812341234".into()), ..Default::default() };
    let fields: Vec<String> = validate(&no_consent, Scale::Five, &std_reasons())
        .err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["consent"]);
}

#[test]
fn two_level_pages_refuse_the_middle() {
    assert!(validate(&raw(Some(3), None, &[]), Scale::Two, &std_reasons()).is_err());
    assert!(validate(&raw(None, None, &[]), Scale::Two, &std_reasons()).is_err());
    assert!(validate(&raw(None, Some(true), &[]), Scale::Five, &std_reasons()).is_err(), "five levels need a level");
}

#[test]
fn phones_are_normalised_and_masked() {
    let p = Phone::parse("+86 138-1234-5678").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.expose(), "13812345678");
    assert_eq!(p.masked(), "138****5678");
    assert_eq!(format!("{p:?}"), "Phone(138****5678)");
    assert!(Phone::parse("12812345678").is_err());
    assert!(Phone::parse("1381234567").is_err());
}

#[test]
fn tokens_verify_only_unaltered_and_with_their_own_key() {
    let k1 = SigningKey { id: 1, secret: [7; 32] };
    let k2 = SigningKey { id: 2, secret: [9; 32] };
    let keys = |id: u8| match id {
        1 => Some(k1.secret),
        2 => Some(k2.secret),
        _ => None,
    };
    let id = *b"abcdefgh";
    let t = sign(&k1, TokenKind::Code, id);
    assert_eq!(t.len(), 24);
    assert_eq!(open(&t, TokenKind::Code, keys), Some(id));
    assert_eq!(open(&t, TokenKind::Invitation, keys), None, "a code is not an invitation");
    let t2 = sign(&k2, TokenKind::Code, id);
    assert_eq!(open(&t2, TokenKind::Code, keys), Some(id), "old and new keys both verify");
    assert_eq!(open(&t2, TokenKind::Code, |i| (i == 1).then_some(k1.secret)), None, "unknown key");
    let mut altered: Vec<char> = t.chars().collect();
    altered[5] = if altered[5] == 'A' { 'B' } else { 'A' };
    assert_eq!(open(&altered.into_iter().collect::<String>(), TokenKind::Code, keys), None);
    assert_eq!(open("short", TokenKind::Code, keys), None);
}

#[test]
fn the_alert_rule_needs_enough_ratings_and_share() {
    let r = AlertRule::default();
    assert!(!r.breached(3, 3), "too few ratings");
    assert!(r.breached(4, 2));
    assert!(!r.breached(5, 2));
}

#[test]
fn the_tracker_counts_only_within_the_window() {
    let rule = AbuseRule::default();
    let mut t = AbuseTracker::default();
    assert!(t.record(&rule, "c", "d", "a", 0).is_empty());
    assert_eq!(t.record(&rule, "c", "d", "a", 1000), ["repeat_device"]);
    assert!(t.record(&rule, "other", "d", "a", 1000).is_empty(), "another code");
    assert!(t.record(&rule, "c", "d2", "a", rule.window_ms + 1001).is_empty(), "the earlier ones aged out");
}

#[test]
fn the_tracker_flags_as_if_it_kept_every_time_while_keeping_only_the_latest() {
    // A small rule and a window of 100 ms; ratings from a few devices and addresses at uneven
    // intervals. The reference counts every earlier rating still in the window.
    let rule = AbuseRule { window_ms: 100, per_device: 2, per_address: 3 };
    let mut t = AbuseTracker::default();
    let mut all: Vec<(&str, &str, i64)> = Vec::new();
    let mut now = 0;
    let (mut by_device, mut by_address) = (0, 0);
    for i in 0..2_000i64 {
        now += [1, 7, 30, 95, 3, 2, 4, 12][(i % 8) as usize];
        let device = ["d1", "d2", "d3"][(i % 3) as usize];
        let address = ["a1", "a2"][(i % 7 % 2) as usize];
        let earlier = |pick: &dyn Fn(&(&str, &str, i64)) -> bool| {
            all.iter().filter(|r| r.2 > now - rule.window_ms && pick(r)).count() as i64
        };
        let expected = rule.flags(earlier(&|r| r.0 == device), earlier(&|r| r.1 == address));
        let got = t.record(&rule, "c", device, address, now);
        assert_eq!(got, expected, "rating {i} at {now}");
        by_device += usize::from(got.contains(&"repeat_device"));
        by_address += usize::from(got.contains(&"repeat_address"));
        all.push((device, address, now));
    }
    for n in [by_device, by_address] {
        assert!(n > 100 && n < 1_900, "both rules flag some ratings and not others: {by_device} {by_address}");
    }
    let kept: usize = t.by_address.values().flat_map(|m| m.values()).map(|q| q.len()).sum();
    assert!(kept <= 2 * 3, "at most per_address times per address: {kept}");
}

#[test]
fn repeats_are_flagged_not_refused() {
    let rule = AbuseRule::default();
    assert!(rule.flags(0, 0).is_empty());
    assert_eq!(rule.flags(1, 0), ["repeat_device"]);
    assert_eq!(rule.flags(0, 10), ["repeat_address"]);
}
