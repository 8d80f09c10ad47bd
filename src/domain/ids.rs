//! Identifiers and small values parsed at the edge: record ids (cases, ratings), org codes,
//! usernames, staff numbers, passwords. Each type can only hold a valid value.

use std::fmt;

/// Why a value was refused; the text is shown to the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn check_code_chars(s: &str, what: &str, max: usize) -> Result<(), Invalid> {
    if s.is_empty() {
        return Err(Invalid(format!("{what} is required")));
    }
    if s.len() > max {
        return Err(Invalid(format!("{what} is longer than {max} characters")));
    }
    if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(Invalid(format!("{what} may contain only letters A–Z, digits, '-' and '_'")));
    }
    if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return Err(Invalid(format!("{what} must start with a letter or digit")));
    }
    Ok(())
}

/// Record ids: what the store makes (26 characters of Crockford base 32, time first), and
/// any id an import or an older version kept (letters, digits, `-`, `_`, at most 64). Parsed
/// at the edge, so a malformed id in a path is a 404 that reaches no query.
macro_rules! record_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Parses an id from outside (a path, a query, a body).
            pub fn parse(s: &str) -> Result<Self, Invalid> {
                let ok = (1..=64).contains(&s.len())
                    && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
                if ok { Ok(Self(s.to_owned())) } else { Err(Invalid("not an id".into())) }
            }

            /// An id read back from the store, which only ever holds ids it made or accepted.
            pub fn stored(s: impl Into<String>) -> Self {
                Self(s.into())
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

record_id!(
    /// A case's id.
    CaseId
);
record_id!(
    /// A rating's id.
    RatingId
);

/// The stable code of an org node (region, department, unit or window), e.g. `XN-CD-GA-001`.
///
/// ASCII letters, digits, `-` and `_`, at most 64 characters, starting with a letter or digit.
/// Codes are kept as given (case matters) because they are printed on posters and in files.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct OrgCode(String);

impl OrgCode {
    /// Parses a code, trimming surrounding white space.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        check_code_chars(s, "code", 64)?;
        Ok(Self(s.to_owned()))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A staff member's number, unique across the city, e.g. `S000123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct StaffNo(String);

impl StaffNo {
    /// Parses a staff number (same character rules as an org code, at most 32 characters).
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim();
        check_code_chars(s, "staff number", 32)?;
        Ok(Self(s.to_owned()))
    }

    /// The number as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A login name: 3–32 characters, lower-case letters, digits, `.`, `_`, `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Parses a username; upper-case letters are folded to lower case.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let s = s.trim().to_ascii_lowercase();
        if s.len() < 3 || s.len() > 32 {
            return Err(Invalid("username must be 3 to 32 characters".into()));
        }
        if !s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            return Err(Invalid("username may contain only letters, digits, '.', '_' and '-'".into()));
        }
        Ok(Self(s))
    }

    /// The username as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A new password that meets the policy: 10 to 200 characters, not all the same character.
///
/// Debug never prints the password.
#[derive(Clone)]
pub struct NewPassword(String);

impl NewPassword {
    /// Checks the policy.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let count = s.chars().count();
        if count < 10 {
            return Err(Invalid("password must be at least 10 characters".into()));
        }
        if count > 200 {
            return Err(Invalid("password must be at most 200 characters".into()));
        }
        let mut chars = s.chars();
        if let Some(first) = chars.next()
            && chars.all(|c| c == first)
        {
            return Err(Invalid("password must not repeat one character".into()));
        }
        Ok(Self(s.to_owned()))
    }

    /// The password, for hashing only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(****)")
    }
}

/// A person's or a node's display name: trimmed, 1–200 characters, no control characters.
pub fn parse_name(s: &str, what: &str) -> Result<String, Invalid> {
    let s = s.trim();
    if s.is_empty() {
        return Err(Invalid(format!("{what} is required")));
    }
    if s.chars().count() > 200 {
        return Err(Invalid(format!("{what} is longer than 200 characters")));
    }
    if s.chars().any(char::is_control) {
        return Err(Invalid(format!("{what} contains control characters")));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_ids_refuse_anything_a_store_never_made() {
        assert!(CaseId::parse("01JH5Z8Q4W3V2T1S0R9P8N7M6K").is_ok());
        assert!(RatingId::parse("demo-r_1").is_ok());
        for bad in ["", "../etc", "a b", "案件", &"A".repeat(65)] {
            assert!(CaseId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn org_codes_accept_the_documented_characters() {
        assert_eq!(OrgCode::parse(" XN-CD_01 ").map(|c| c.0), Ok("XN-CD_01".to_owned()));
        assert!(OrgCode::parse("").is_err());
        assert!(OrgCode::parse("-XN").is_err());
        assert!(OrgCode::parse("XN/CD").is_err());
        assert!(OrgCode::parse("城东").is_err());
        assert!(OrgCode::parse(&"A".repeat(65)).is_err());
        assert!(OrgCode::parse(&"A".repeat(64)).is_ok());
    }

    #[test]
    fn usernames_are_folded_to_lower_case() {
        assert_eq!(Username::parse("Admin").map(|u| u.0), Ok("admin".to_owned()));
        assert!(Username::parse("ab").is_err());
        assert!(Username::parse("a b c").is_err());
    }

    #[test]
    fn passwords_follow_the_policy_and_never_print() {
        assert!(NewPassword::parse("short").is_err());
        assert!(NewPassword::parse("aaaaaaaaaaaa").is_err());
        let p = NewPassword::parse("correct horse battery").map_err(|e| e.0);
        assert_eq!(p.as_ref().map(|p| format!("{p:?}")), Ok("NewPassword(****)".to_owned()));
    }

    #[test]
    fn names_refuse_control_characters() {
        assert!(parse_name("城东区\u{0}", "name").is_err());
        assert_eq!(parse_name(" 城东区 ", "name"), Ok("城东区".to_owned()));
    }
}
