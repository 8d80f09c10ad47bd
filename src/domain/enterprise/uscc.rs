//! The unified social credit code (统一社会信用代码, GB 32100-2015) that identifies a firm: 18
//! characters from a 31-character alphabet (digits and capitals without I, O, Z, S, V): the
//! registering authority (1), the kind of entity (1), the administrative division (6 digits),
//! the organisation code (9) and a check character computed from the first 17.

use std::fmt;

/// The code's alphabet; a character's value is its position.
const ALPHABET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// The weights of the first 17 characters (3^i mod 31).
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// Why a text is not a credit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters.
    #[error("a unified social credit code has 18 characters")]
    Length,
    /// A character outside the alphabet.
    #[error("a unified social credit code uses digits and capital letters other than I, O, Z, S and V")]
    Charset,
    /// The division code is not six digits.
    #[error("characters 3 to 8 of a unified social credit code are the six digits of a division code")]
    Division,
    /// The check character does not match.
    #[error("the unified social credit code's check character does not match; check the code for a typing error")]
    CheckDigit,
}

/// A valid unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct Uscc(String);

fn value(c: char) -> Option<u32> {
    ALPHABET.find(c).map(|i| i as u32)
}

/// The check character of the first 17 characters of a code.
pub fn check_char(first17: &str) -> Option<char> {
    let mut sum = 0;
    for (c, w) in first17.chars().zip(WEIGHTS) {
        sum += value(c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    ALPHABET.chars().nth(check as usize)
}

impl Uscc {
    /// Parses a code: trimmed, lower-case letters taken as capitals.
    pub fn parse(s: &str) -> Result<Uscc, UsccError> {
        let s = s.trim().to_ascii_uppercase();
        if s.chars().count() != 18 {
            return Err(UsccError::Length);
        }
        if !s.chars().all(|c| value(c).is_some()) {
            return Err(UsccError::Charset);
        }
        if !s[2..8].chars().all(|c| c.is_ascii_digit()) {
            return Err(UsccError::Division);
        }
        if check_char(&s[..17]) != s.chars().nth(17) {
            return Err(UsccError::CheckDigit);
        }
        Ok(Uscc(s))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn published_codes_of_real_firms_are_valid() {
        // Codes printed on these firms' business licences.
        for code in ["914403001922038216", "9144030071526726XG", "91110000600037341L"] {
            assert_eq!(Uscc::parse(code).map(|c| c.0), Ok(code.to_owned()), "{code}");
        }
        assert_eq!(Uscc::parse(" 9144030071526726xg ").map(|c| c.0), Ok("9144030071526726XG".to_owned()));
    }

    #[test]
    fn each_kind_of_mistake_has_its_own_reason() {
        assert_eq!(Uscc::parse("91440300192203821"), Err(UsccError::Length));
        assert_eq!(Uscc::parse("9144030019220382166"), Err(UsccError::Length));
        assert_eq!(Uscc::parse("91440300192203821I"), Err(UsccError::Charset));
        assert_eq!(Uscc::parse("91440300192203821Ｏ"), Err(UsccError::Charset));
        assert_eq!(Uscc::parse("9144A3001922038216"), Err(UsccError::Division));
        // One character changed, and two neighbours swapped: the check character catches both.
        assert_eq!(Uscc::parse("914403001922038217"), Err(UsccError::CheckDigit));
        assert_eq!(Uscc::parse("914403001922083216"), Err(UsccError::CheckDigit));
    }

    proptest! {
        /// Any 17 characters of the alphabet with their check character form a valid code, and
        /// changing any one character of it makes it invalid.
        #[test]
        fn the_check_character_catches_every_single_substitution(
            head in "[159Y][1-9A-HJ-NP-RTUW-Y][0-9]{6}[0-9A-HJ-NP-RTUW-Y]{9}",
            at in 0usize..18, by in 1u32..31,
        ) {
            let code = format!("{head}{}", check_char(&head).unwrap_or_else(|| panic!("{head}")));
            prop_assert!(Uscc::parse(&code).is_ok());
            let mut chars: Vec<char> = code.chars().collect();
            let v = value(chars[at]).unwrap_or_else(|| panic!("{code}"));
            chars[at] = ALPHABET.chars().nth(((v + by) % 31) as usize).unwrap_or('0');
            let changed: String = chars.into_iter().collect();
            prop_assert!(Uscc::parse(&changed).is_err(), "{changed}");
        }
    }
}
