//! Pure rules of the product: no I/O, no async. Input is parsed into these types at the edge
//! (web, CLI, imports) so that nothing below ever re-checks a raw string.

pub mod alert;
pub mod appeal;
pub mod audit;
pub mod calendar;
pub mod case;
pub mod enterprise;
pub mod ids;
pub mod inspection;
pub mod item;
pub mod login;
pub mod lunar;
pub mod org;
pub mod permission;
pub mod rates;
pub mod rating;
pub mod role;
pub mod sla;
pub mod time;
pub mod workflow;

/// One field that failed validation: which field (and, for imports, which row) and why.
///
/// `message` is a catalog key's English text; it is shown to people as it is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// The field (or import column) that is wrong.
    pub field: String,
    /// What is wrong with it, in plain words.
    pub message: String,
    /// For imports: the 1-based line or sheet row of the file (the header is row 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<usize>,
}

impl FieldError {
    /// A field error outside any file row.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), row: None }
    }

    /// A field error in row `row` of an imported file.
    pub fn at_row(row: usize, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into(), row: Some(row) }
    }
}
