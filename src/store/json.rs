//! Stored values read back strictly: a JSON text or a vocabulary word that does not decode is
//! an error that names its column ([`StoreError::Decode`]), never a default.

use super::{Result, StoreError};

/// Reads a value stored as JSON in `column` (`table.column`), or says which one is damaged.
pub fn decode_json<T: serde::de::DeserializeOwned>(text: &str, column: &'static str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Decode { column, reason: e.to_string() })
}

/// The error for a value stored in `column` (`table.column`) that does not decode.
pub fn undecodable(column: &'static str, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Decode { column, reason: reason.to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_damaged_stored_value_is_an_error_that_names_its_column_not_a_default() {
        let ok: Vec<String> = decode_json("[\"not_done\"]", "ratings.reasons").unwrap_or_default();
        assert_eq!(ok, ["not_done"]);
        match decode_json::<Vec<String>>("not json", "ratings.reasons") {
            Err(StoreError::Decode { column, .. }) => assert_eq!(column, "ratings.reasons"),
            other => panic!("{other:?}"),
        }
    }
}
