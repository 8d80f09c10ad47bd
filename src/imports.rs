//! Reading and writing tabular files (CSV and XLSX) for imports and exports, and running an
//! import end to end: parse every row, plan against the stored tree, apply in one transaction.
//! A file with any bad row changes nothing, and every bad row is named.

use std::collections::HashMap;
use std::io::Cursor;

use crate::domain::FieldError;
use crate::domain::org::{ORG_COLUMNS, OrgRecord, STAFF_COLUMNS, StaffRecord, plan_org_import, plan_staff_import};
use crate::store::audit::Actor;
use crate::store::org::{self, ImportCounts};
use crate::store::{Store, StoreError};

/// The most data rows one import may carry.
pub const MAX_ROWS: usize = 200_000;

/// A tabular file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values, UTF-8 (a byte-order mark is allowed).
    Csv,
    /// Excel 2007+ workbook; the first sheet is read.
    Xlsx,
}

impl Format {
    /// Guesses the format from a file name.
    pub fn from_path(path: &str) -> Option<Format> {
        let lower = path.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }

    /// The format named by a `Content-Type` header.
    pub fn from_content_type(ct: &str) -> Option<Format> {
        let ct = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match ct.as_str() {
            "text/csv" | "application/csv" => Some(Format::Csv),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" => Some(Format::Xlsx),
            _ => None,
        }
    }

    /// The `Content-Type` of this format.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// A file read into named columns: each data row with its 1-based row number in the file.
#[derive(Debug)]
pub struct Table {
    columns: HashMap<&'static str, usize>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Table {
    /// How many data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The 1-based row number in the file of data row `i`.
    pub fn line(&self, i: usize) -> usize {
        self.rows[i].0
    }

    /// The cell of `column` in data row `i` (empty when the column is absent or the row short).
    pub fn cell(&self, i: usize, column: &str) -> String {
        let (_, cells) = &self.rows[i];
        self.columns.get(column).and_then(|c| cells.get(*c)).cloned().unwrap_or_default()
    }
}

/// Reads a file and maps its header row onto `columns` (canonical name, Chinese name).
/// The first column of `columns` is required; unknown headers are refused so that a typo
/// never silently drops a field.
pub fn read_table(
    bytes: &[u8],
    format: Format,
    columns: &[(&'static str, &'static str)],
) -> Result<Table, Vec<FieldError>> {
    let mut raw = match format {
        Format::Csv => read_csv(bytes)?,
        Format::Xlsx => read_xlsx(bytes)?,
    };
    if raw.is_empty() {
        return Err(vec![FieldError::at_row(1, "file", "the file is empty: the first row must name the columns")]);
    }
    let (_, header) = raw.remove(0);
    let mut mapped = HashMap::new();
    let mut errors = Vec::new();
    for (i, h) in header.iter().enumerate() {
        let h = h.trim().trim_start_matches('\u{feff}');
        if h.is_empty() {
            continue;
        }
        match columns.iter().find(|(en, zh)| en.eq_ignore_ascii_case(h) || *zh == h) {
            Some((en, _)) => {
                if mapped.insert(*en, i).is_some() {
                    errors.push(FieldError::at_row(1, h, format!("column {en} appears twice")));
                }
            }
            None => errors.push(FieldError::at_row(
                1,
                h,
                format!(
                    "unknown column; expected {}",
                    columns.iter().map(|(en, _)| *en).collect::<Vec<_>>().join(", ")
                ),
            )),
        }
    }
    for (en, _) in columns.iter().take(1) {
        if !mapped.contains_key(en) {
            errors.push(FieldError::at_row(1, *en, "required column is missing"));
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    raw.retain(|(_, cells)| cells.iter().any(|c| !c.trim().is_empty()));
    if raw.len() > MAX_ROWS {
        return Err(vec![FieldError::at_row(1, "file", format!("more than {MAX_ROWS} rows; split the file"))]);
    }
    Ok(Table { columns: mapped, rows: raw })
}

fn read_csv(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, Vec<FieldError>> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
    // The reader skips blank lines without counting them, so file lines are counted here
    // from each record's byte offset: people look rows up by line number.
    let mut counted_to = 0usize;
    let mut line = 1usize;
    let mut line_at = |byte: u64| {
        // A record's position is where reading it began, before any blank lines it skipped.
        let mut byte = (byte as usize).min(bytes.len());
        while byte < bytes.len() && matches!(bytes[byte], b'\n' | b'\r') {
            byte += 1;
        }
        line += bytes[counted_to..byte].iter().filter(|b| **b == b'\n').count();
        counted_to = byte;
        line
    };
    let mut out = Vec::new();
    for record in reader.records() {
        match record {
            Ok(r) => {
                let at = r.position().map_or(out.len() + 1, |p| line_at(p.byte()));
                out.push((at, r.iter().map(|c| restored_cell(c.to_owned())).collect()));
            }
            Err(e) => {
                let at = e.position().map_or(out.len() + 1, |p| line_at(p.byte()));
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "the file is not UTF-8; save it as \"CSV UTF-8\"".to_owned(),
                    _ => format!("cannot read this line: {e}"),
                };
                return Err(vec![FieldError::at_row(at, "file", message)]);
            }
        }
    }
    Ok(out)
}

fn read_xlsx(bytes: &[u8]) -> Result<Vec<(usize, Vec<String>)>, Vec<FieldError>> {
    use calamine::Reader;
    let bad = |m: String| vec![FieldError::at_row(1, "file", m)];
    let mut book =
        calamine::Xlsx::new(Cursor::new(bytes)).map_err(|e| bad(format!("not a readable XLSX workbook: {e}")))?;
    let range = book.worksheet_range_at(0).ok_or_else(|| bad("the workbook has no sheet".into()))?;
    let range = range.map_err(|e| bad(format!("cannot read the first sheet: {e}")))?;
    let first_row = range.start().map_or(0, |(r, _)| r as usize);
    Ok(range
        .rows()
        .enumerate()
        .map(|(i, cells)| (first_row + i + 1, cells.iter().map(|c| c.to_string()).collect()))
        .collect())
}

/// A CSV cell that a spreadsheet will not run: Excel, WPS and LibreOffice read a cell that
/// starts with `=`, `+`, `-`, `@`, a tab or a carriage return as a formula, so a citizen's comment
/// `=HYPERLINK(…)` would run on the desk of whoever opens the export. Such a cell gets a leading
/// `'`, which the spreadsheet shows as text and [`read_table`] takes off again on import. A
/// plain number (`-3.5`) is no formula and stays as it is. XLSX cells are written as strings and
/// need nothing.
pub fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<f64>().is_err() { format!("'{cell}").into() } else { cell.into() }
}

/// [`inert_cell`] undone: a cell read from a file that this program wrote.
fn restored_cell(cell: String) -> String {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest.to_owned(),
        _ => cell,
    }
}

/// Writes rows (the first is the header) as CSV or XLSX. Every CSV cell goes through
/// [`inert_cell`].
pub fn write_table(format: Format, sheet: &str, rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            for r in rows {
                w.write_record(r.iter().map(|cell| inert_cell(cell).into_owned())).map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
        Format::Xlsx => {
            let mut book = rust_xlsxwriter::Workbook::new();
            let ws = book.add_worksheet();
            ws.set_name(sheet).map_err(|e| e.to_string())?;
            let bold = rust_xlsxwriter::Format::new().set_bold();
            for (r, row) in rows.iter().enumerate() {
                for (c, v) in row.iter().enumerate() {
                    if r == 0 {
                        ws.write_string_with_format(r as u32, c as u16, v, &bold)
                    } else {
                        ws.write_string(r as u32, c as u16, v)
                    }
                    .map_err(|e| e.to_string())?;
                }
            }
            book.save_to_buffer().map_err(|e| e.to_string())
        }
    }
}

/// Why an import changed nothing.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Rows or columns are wrong; every one is listed.
    #[error("the file has {} error(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// The store failed; the transaction was rolled back.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn parse_rows<T>(
    table: &Table,
    parse: impl Fn(usize, &dyn Fn(&str) -> String) -> Result<T, Vec<FieldError>>,
) -> Result<Vec<(usize, T)>, ImportError> {
    let mut errors = Vec::new();
    let mut out = Vec::with_capacity(table.rows.len());
    for i in 0..table.rows.len() {
        let row = table.rows[i].0;
        match parse(row, &|col| table.cell(i, col)) {
            Ok(rec) => out.push((row, rec)),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(ImportError::Invalid(errors)) }
}

/// Imports org nodes from a file: all or nothing, idempotent on codes. With `dry_run` the
/// plan's counts are returned and nothing is written.
pub async fn import_org(
    store: &Store,
    bytes: &[u8],
    format: Format,
    actor: &Actor,
    source: &str,
    dry_run: bool,
) -> Result<ImportCounts, ImportError> {
    let table = read_table(bytes, format, &ORG_COLUMNS).map_err(ImportError::Invalid)?;
    let rows = parse_rows(&table, |row, cell| OrgRecord::from_row(row, cell))?;
    let mut tx = store.write().await?;
    let existing = org::load_tree(&mut tx).await?;
    let plan = plan_org_import(&existing, rows).map_err(ImportError::Invalid)?;
    if dry_run {
        return Ok(ImportCounts { created: plan.create.len(), updated: plan.update.len(), unchanged: plan.unchanged });
    }
    let counts = org::apply_import(&mut tx, &existing, plan, actor, source).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(counts)
}

/// Imports staff from a file: all or nothing, idempotent on staff numbers.
pub async fn import_staff(
    store: &Store,
    bytes: &[u8],
    format: Format,
    actor: &Actor,
    source: &str,
    dry_run: bool,
) -> Result<ImportCounts, ImportError> {
    let table = read_table(bytes, format, &STAFF_COLUMNS).map_err(ImportError::Invalid)?;
    let rows = parse_rows(&table, |row, cell| StaffRecord::from_row(row, cell))?;
    let mut tx = store.write().await?;
    let kinds = org::load_kinds(&mut tx).await?;
    let existing = org::load_staff(&mut tx).await?;
    let plan = plan_staff_import(&kinds, &existing, rows).map_err(ImportError::Invalid)?;
    if dry_run {
        return Ok(ImportCounts { created: plan.create.len(), updated: plan.update.len(), unchanged: plan.unchanged });
    }
    let counts = org::apply_staff_import(&mut tx, plan, actor, source).await?;
    tx.commit().await.map_err(StoreError::from)?;
    Ok(counts)
}

/// The org tree under a node as rows for [`write_table`], header first.
pub fn org_rows(records: &[OrgRecord]) -> Vec<Vec<String>> {
    let mut rows = vec![ORG_COLUMNS.iter().map(|(en, _)| (*en).to_owned()).collect()];
    rows.extend(records.iter().map(|r| {
        vec![
            r.code.to_string(),
            r.parent.as_ref().map(ToString::to_string).unwrap_or_default(),
            r.kind.as_str().to_owned(),
            r.name.clone(),
            r.name_en.clone().unwrap_or_default(),
            r.address.clone().unwrap_or_default(),
        ]
    }));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_headers_and_a_bom_are_understood() {
        let csv = "\u{feff}编码,上级编码,类型,名称\nXN,,region,西宁市\n\nXN-CD,XN,区县,城东区\n";
        let t = read_table(csv.as_bytes(), Format::Csv, &ORG_COLUMNS).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].0, 4, "row numbers are file lines, blank lines included");
        assert_eq!(t.cell(1, "kind"), "区县");
        assert_eq!(t.cell(1, "address"), "");
    }

    #[test]
    fn an_unknown_column_is_refused() {
        let e = read_table(b"code,parnet_code\nXN,\n", Format::Csv, &ORG_COLUMNS).err().unwrap_or_default();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].field, "parnet_code");
    }

    #[test]
    fn xlsx_round_trips_through_the_writer_and_reader() {
        let rows = vec![
            vec!["code".to_owned(), "parent_code".into(), "kind".into(), "name".into()],
            vec!["XN".to_owned(), String::new(), "region".into(), "西宁市".into()],
        ];
        let bytes = write_table(Format::Xlsx, "org", &rows).unwrap_or_else(|e| panic!("{e}"));
        let t = read_table(&bytes, Format::Xlsx, &ORG_COLUMNS).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(t.rows.len(), 1);
        assert_eq!((t.rows[0].0, t.cell(0, "name")), (2, "西宁市".to_owned()));
    }

    #[test]
    fn csv_cells_that_a_spreadsheet_would_run_are_written_as_text_and_read_back_whole() {
        let risky = ["=HYPERLINK(\"http://x\")", "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\tx", "\rx"];
        let mut rows = vec![vec!["code".to_owned(), "name".to_owned()]];
        rows.extend(risky.iter().map(|r| vec!["XN".to_owned(), (*r).to_owned()]));
        rows.push(vec!["XN".to_owned(), "-3.5".to_owned()]);
        let bytes = write_table(Format::Csv, "org", &rows).unwrap_or_else(|e| panic!("{e}"));
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(&bytes[..]);
        let names: Vec<String> = reader.records().map(|r| r.map(|r| r[1].to_owned()).unwrap_or_default()).collect();
        for (name, original) in names.iter().zip(risky) {
            assert_eq!(name, &format!("'{original}"), "written as text");
        }
        assert_eq!(names.last().map(String::as_str), Some("-3.5"), "a number is no formula");
        let t = read_table(&bytes, Format::Csv, &ORG_COLUMNS).unwrap_or_else(|e| panic!("{e:?}"));
        for (i, original) in risky.iter().enumerate() {
            assert_eq!(t.cell(i, "name"), *original, "read back as it was");
        }
    }

    #[test]
    fn non_utf8_csv_names_the_fix() {
        let gbk = b"code,name\nXN,\xce\xf7\xc4\xfe\n";
        let e = read_table(gbk, Format::Csv, &ORG_COLUMNS).err().unwrap_or_default();
        assert!(e[0].message.contains("UTF-8"), "{e:?}");
    }
}
