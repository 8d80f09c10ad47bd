//! Citizen ratings (评议): scales and levels, reasons, the rules a submission must meet, phone
//! numbers, signed rating codes, and the abuse and live-alert rules. Pure: no I/O.

use std::collections::{HashMap, VecDeque};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::FieldError;

/// How many levels a region's rating page offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Scale {
    /// 满意 / 不满意.
    Two,
    /// 非常满意 … 非常不满意 (GB/T 39735).
    Five,
}

impl Scale {
    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Two => "two",
            Scale::Five => "five",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Scale> {
        match s {
            "two" | "2" => Some(Scale::Two),
            "five" | "5" => Some(Scale::Five),
            _ => None,
        }
    }
}

/// What a rating counts as in every statistic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Levels 4–5, or 满意.
    Satisfied,
    /// Level 3 on the five-level scale.
    Neutral,
    /// Levels 1–2, or 不满意: opens a case.
    Unsatisfied,
}

impl Outcome {
    /// The outcome of a level from 1 to 5.
    pub fn of_level(level: u8) -> Outcome {
        match level {
            4..=5 => Outcome::Satisfied,
            3 => Outcome::Neutral,
            _ => Outcome::Unsatisfied,
        }
    }

    /// Stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Satisfied => "satisfied",
            Outcome::Neutral => "neutral",
            Outcome::Unsatisfied => "unsatisfied",
        }
    }
}

/// The four reasons from the source document; regions may add their own.
pub const STANDARD_REASONS: [&str; 4] = ["hard_to_enter", "unfriendly", "harsh_words", "not_done"];

/// Longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 500;

/// A Chinese mobile number, `1[3-9]` and nine more digits. Debug and Display are masked.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    /// Parses a number, ignoring spaces and dashes and an optional +86 / 0086 prefix.
    pub fn parse(s: &str) -> Result<Phone, String> {
        let digits: String = s.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')')).collect();
        let digits = digits.strip_prefix("+86").or_else(|| digits.strip_prefix("0086")).unwrap_or(&digits);
        let b = digits.as_bytes();
        let ok = b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1]) && b.iter().all(u8::is_ascii_digit);
        if ok {
            Ok(Phone(digits.to_owned()))
        } else {
            Err("must be an 11-digit mobile number such as 13812341234".into())
        }
    }

    /// The full number, for encryption and for the role that makes return visits.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// 138****1234.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks all but the first three and last four digits.
pub fn mask_phone(p: &str) -> String {
    if p.len() < 8 || !p.is_ascii() {
        return "****".into();
    }
    format!("{}****{}", &p[..3], &p[p.len() - 4..])
}

impl std::fmt::Debug for Phone {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Phone({})", self.masked())
    }
}

/// A rating as submitted, before validation.
#[derive(Debug, Default, Clone)]
pub struct RawRating {
    /// 1–5.
    pub level: Option<i64>,
    /// For two-level pages.
    pub satisfied: Option<bool>,
    /// Reason codes.
    pub reasons: Vec<String>,
    /// Free text.
    pub comment: Option<String>,
    /// For a return visit.
    pub phone: Option<String>,
    /// Consent to be called back; required with a phone number.
    pub consent: bool,
}

/// A valid rating. Its JSON form leaves the phone number out: it is never written in the clear.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Submission {
    /// 1–5; a two-level 满意 is stored as 5 and 不满意 as 1.
    pub level: u8,
    /// What it counts as.
    pub outcome: Outcome,
    /// Reason codes, each known to the region, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Trimmed comment, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Phone for a return visit, given with consent.
    #[serde(skip)]
    pub phone: Option<Phone>,
}

/// Validates a submission on `scale` against the region's `reasons`; every bad field is named.
///
/// An unsatisfied rating needs at least one reason; it is never refused for being low.
pub fn validate<S: AsRef<str>>(raw: &RawRating, scale: Scale, reasons: &[S]) -> Result<Submission, Vec<FieldError>> {
    let mut errors = Vec::new();
    let level = match (scale, raw.level, raw.satisfied) {
        (_, Some(l), _) if !(1..=5).contains(&l) => {
            errors.push(FieldError::new("level", "must be from 1 to 5"));
            None
        }
        (Scale::Five, Some(l), s) => {
            let l = l as u8;
            if s.is_some_and(|s| s != (Outcome::of_level(l) == Outcome::Satisfied)) {
                errors.push(FieldError::new("satisfied", "contradicts level"));
            }
            Some(l)
        }
        (Scale::Five, None, _) => {
            errors.push(FieldError::new("level", "choose a level from 1 (very unsatisfied) to 5 (very satisfied)"));
            None
        }
        (Scale::Two, _, Some(s)) => Some(if s { 5 } else { 1 }),
        (Scale::Two, Some(3), None) => {
            errors.push(FieldError::new("satisfied", "this page rates satisfied or unsatisfied"));
            None
        }
        (Scale::Two, Some(l), None) => Some(if l >= 4 { 5 } else { 1 }),
        (Scale::Two, None, None) => {
            errors.push(FieldError::new("satisfied", "choose satisfied or unsatisfied"));
            None
        }
    };
    let mut chosen: Vec<String> = Vec::new();
    for r in &raw.reasons {
        let r = r.trim();
        if r.is_empty() || chosen.iter().any(|c| c == r) {
            continue;
        }
        if reasons.iter().any(|k| k.as_ref() == r) {
            chosen.push(r.to_owned());
        } else {
            errors.push(FieldError::new("reasons", format!("unknown reason {r:?}")));
        }
    }
    if level.map(Outcome::of_level) == Some(Outcome::Unsatisfied) && chosen.is_empty() {
        errors.push(FieldError::new("reasons", "an unsatisfied rating needs at least one reason"));
    }
    let comment = raw.comment.as_deref().map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned);
    if let Some(c) = &comment {
        if c.chars().count() > MAX_COMMENT_CHARS {
            errors.push(FieldError::new("comment", format!("at most {MAX_COMMENT_CHARS} characters")));
        }
        if c.chars().any(|ch| ch.is_control() && ch != '\n' && ch != '\r' && ch != '\t') {
            errors.push(FieldError::new("comment", "contains control characters"));
        }
    }
    let phone = match raw.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(p) => match Phone::parse(p) {
            Ok(p) if raw.consent => Some(p),
            Ok(_) => {
                errors.push(FieldError::new("consent", "agree to be called back, or leave the phone number out"));
                None
            }
            Err(e) => {
                errors.push(FieldError::new("phone", e));
                None
            }
        },
    };
    match level {
        Some(level) if errors.is_empty() => {
            Ok(Submission { level, outcome: Outcome::of_level(level), reasons: chosen, comment, phone })
        }
        _ => Err(errors),
    }
}

/// What a signed token stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A rating code printed on a poster (many ratings).
    Code,
    /// A one-rating-per-transaction invitation (one rating).
    Invitation,
}

impl TokenKind {
    fn byte(self) -> u8 {
        match self {
            TokenKind::Code => b'C',
            TokenKind::Invitation => b'I',
        }
    }
}

/// A signing key: its number (kept in every token so old posters stay valid after a
/// rotation) and its secret.
#[derive(Clone)]
pub struct SigningKey {
    /// 1–255.
    pub id: u8,
    /// 32 random bytes.
    pub secret: [u8; 32],
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({}, ****)", self.id)
    }
}

fn mac(secret: &[u8; 32], payload: &[u8]) -> [u8; 8] {
    // HMAC accepts keys of any length; 32 bytes never fails.
    let Ok(mut m) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else { return [0; 8] };
    m.update(payload);
    let full = m.finalize().into_bytes();
    let mut out = [0u8; 8];
    out.copy_from_slice(&full[..8]);
    out
}

/// Signs `id` as a token of `kind`: 24 URL-safe characters (kind, key, 8-byte id, 8-byte MAC).
pub fn sign(key: &SigningKey, kind: TokenKind, id: [u8; 8]) -> String {
    let mut bytes = Vec::with_capacity(18);
    bytes.push(kind.byte());
    bytes.push(key.id);
    bytes.extend_from_slice(&id);
    let tag = mac(&key.secret, &bytes);
    bytes.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Checks a token's signature with the key it names; returns the id, or `None` for anything
/// forged, altered, truncated, of another kind, or signed by an unknown key.
pub fn open(token: &str, kind: TokenKind, key_for: impl Fn(u8) -> Option<[u8; 32]>) -> Option<[u8; 8]> {
    if token.len() != 24 {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    if bytes.len() != 18 || bytes[0] != kind.byte() {
        return None;
    }
    let secret = key_for(bytes[1])?;
    let expected = mac(&secret, &bytes[..10]);
    let diff = expected.iter().zip(&bytes[10..]).fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if diff != 0 {
        return None;
    }
    let mut id = [0u8; 8];
    id.copy_from_slice(&bytes[2..10]);
    Some(id)
}

/// Repeated ratings of one code from one device or address within a window are flagged
/// (stored and kept out of nothing but the "clean" counts), never refused.
#[derive(Debug, Clone, Copy)]
pub struct AbuseRule {
    /// The window, ms.
    pub window_ms: i64,
    /// Ratings of the same code from one device allowed in the window before flagging.
    pub per_device: i64,
    /// Ratings of the same code from one address allowed in the window before flagging.
    pub per_address: i64,
}

impl Default for AbuseRule {
    fn default() -> Self {
        AbuseRule { window_ms: 30 * 60 * 1000, per_device: 1, per_address: 10 }
    }
}

impl AbuseRule {
    /// Flags for a new rating, given how many earlier ratings of the same code came from the
    /// same device and the same address within the window.
    pub fn flags(&self, same_device: i64, same_address: i64) -> Vec<&'static str> {
        let mut flags = Vec::new();
        if same_device >= self.per_device {
            flags.push("repeat_device");
        }
        if same_address >= self.per_address {
            flags.push("repeat_address");
        }
        flags
    }
}

/// Counts recent ratings per (code, device) and (code, address) in memory, for the abuse
/// rule, so that the hot path needs no query. One per server process, warmed from the
/// database at start; several processes each see their own share (documented).
///
/// Each (code, device) or (code, address) keeps only its latest `per_device` or `per_address`
/// times: the rule asks whether that many earlier ratings fall in the window, and the latest
/// ones are the last to leave it, so the answer is the same while memory stays bounded however
/// often one address rates. Looked up by borrowed keys: a known pair costs no allocation.
#[derive(Debug, Default)]
pub struct AbuseTracker {
    by_device: RecentTimes,
    by_address: RecentTimes,
    seen: u64,
}

/// Code → device or address → its latest rating times, oldest first.
type RecentTimes = HashMap<String, HashMap<String, VecDeque<i64>>>;

/// How many earlier ratings of `code` by `key` are after `since` (at most `keep`); then
/// records `now`, keeping the latest `keep` times.
fn count_and_record(map: &mut RecentTimes, code: &str, key: &str, since: i64, now: i64, keep: usize) -> i64 {
    let by_key = match map.get_mut(code) {
        Some(m) => m,
        None => map.entry(code.to_owned()).or_default(),
    };
    let times = match by_key.get_mut(key) {
        Some(t) => t,
        None => by_key.entry(key.to_owned()).or_default(),
    };
    while times.front().is_some_and(|t| *t <= since) {
        times.pop_front();
    }
    let n = times.len() as i64;
    times.push_back(now);
    while times.len() > keep {
        times.pop_front();
    }
    n
}

fn forget_before(map: &mut RecentTimes, since: i64) {
    map.retain(|_, by_key| {
        by_key.retain(|_, t| t.back().is_some_and(|x| *x > since));
        !by_key.is_empty()
    });
}

impl AbuseTracker {
    /// Records a rating of `code` from `device`/`address` at `now` and returns its flags,
    /// counting the earlier ratings still within the rule's window.
    pub fn record(&mut self, rule: &AbuseRule, code: &str, device: &str, address: &str, now: i64) -> Vec<&'static str> {
        let since = now - rule.window_ms;
        let keep = |limit: i64| usize::try_from(limit).unwrap_or(0);
        let device_n = count_and_record(&mut self.by_device, code, device, since, now, keep(rule.per_device));
        let address_n = count_and_record(&mut self.by_address, code, address, since, now, keep(rule.per_address));
        self.seen += 1;
        if self.seen.is_multiple_of(10_000) {
            forget_before(&mut self.by_device, since);
            forget_before(&mut self.by_address, since);
        }
        rule.flags(device_n, address_n)
    }
}

pub use super::alert::AlertRule;

#[cfg(test)]
mod tests;
