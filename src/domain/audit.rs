//! The audit trail's hash chain. Each row's hash covers its own fields and the previous row's
//! hash, so editing, removing or reordering any row breaks the chain at that row.

use sha2::{Digest, Sha256};

/// The hash the first row points back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit row as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct AuditRow {
    /// Position in the chain, from 1 without gaps.
    pub seq: i64,
    /// When, in milliseconds since the Unix epoch.
    pub at: i64,
    /// Who: a username, `system`, or `cli:NAME`.
    pub actor: String,
    /// What kind of change, e.g. `org.import`, `session.login`.
    pub action: String,
    /// What it changed, e.g. `org:XN-CD` or `user:admin`.
    pub target: String,
    /// A JSON summary of before and after.
    pub summary: String,
    /// The client's address, when the change came over HTTP.
    pub client_addr: String,
    /// The previous row's hash.
    pub prev_hash: String,
    /// This row's hash.
    pub hash: String,
}

impl AuditRow {
    /// Computes this row's hash from its fields and `prev_hash` (the stored `hash` is ignored).
    ///
    /// Every text field is length-prefixed so that moving text from one field to the next
    /// changes the hash.
    pub fn compute_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.seq.to_be_bytes());
        h.update(self.at.to_be_bytes());
        for field in [&self.actor, &self.action, &self.target, &self.summary, &self.client_addr, &self.prev_hash] {
            h.update((field.len() as u64).to_be_bytes());
            h.update(field.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

/// Where and how the chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// A row's fields no longer match its hash.
    #[error("audit row {seq} was edited: its contents no longer match its hash")]
    Edited {
        /// The edited row.
        seq: i64,
    },
    /// Rows are missing before this one.
    #[error("audit row {expected} is missing (removed); the next row present is {found}")]
    Removed {
        /// The first missing row.
        expected: i64,
        /// The row found in its place.
        found: i64,
    },
    /// A row does not point back to the row before it.
    #[error("audit row {seq} does not follow row {prev}: rows were reordered, or row {prev} was rewritten")]
    Reordered {
        /// The row whose back-pointer is wrong.
        seq: i64,
        /// The row before it.
        prev: i64,
    },
    /// Rows at the end are missing: the chain head records more rows than are present.
    #[error("audit rows after {last} are missing (removed); the chain head records row {head}")]
    TailRemoved {
        /// The last row present.
        last: i64,
        /// The last row the head records.
        head: i64,
    },
}

/// Walks the chain one row at a time, so that a long trail can be read in pages.
#[derive(Debug)]
pub struct ChainVerifier {
    prev_seq: i64,
    prev_hash: String,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self { prev_seq: 0, prev_hash: GENESIS_HASH.to_owned() }
    }
}

impl ChainVerifier {
    /// Checks the next row in stored order.
    pub fn push(&mut self, row: AuditRow) -> Result<(), ChainBreak> {
        let prev_seq = self.prev_seq;
        if row.seq > prev_seq + 1 {
            return Err(ChainBreak::Removed { expected: prev_seq + 1, found: row.seq });
        }
        if row.seq != prev_seq + 1 {
            return Err(ChainBreak::Reordered { seq: row.seq, prev: prev_seq });
        }
        if row.compute_hash() != row.hash {
            return Err(ChainBreak::Edited { seq: row.seq });
        }
        if row.prev_hash != self.prev_hash {
            return Err(ChainBreak::Reordered { seq: row.seq, prev: prev_seq });
        }
        self.prev_seq = row.seq;
        self.prev_hash = row.hash;
        Ok(())
    }

    /// Checks the last row against the chain head (`head_seq`, `head_hash`: the last row
    /// written) and returns the number of rows checked.
    pub fn finish(self, head_seq: i64, head_hash: &str) -> Result<i64, ChainBreak> {
        if self.prev_seq != head_seq || self.prev_hash != head_hash {
            return Err(ChainBreak::TailRemoved { last: self.prev_seq, head: head_seq });
        }
        Ok(self.prev_seq)
    }
}

/// Checks rows in stored order against each other and against the chain head.
/// Returns the number of rows checked, or the first break.
pub fn verify_chain(
    rows: impl IntoIterator<Item = AuditRow>,
    head_seq: i64,
    head_hash: &str,
) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for row in rows {
        v.push(row)?;
    }
    v.finish(head_seq, head_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditRow> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let mut row = AuditRow {
                    seq,
                    at: seq * 10,
                    actor: "admin".into(),
                    action: "org.import".into(),
                    target: "org:XN".into(),
                    summary: "{}".into(),
                    client_addr: "127.0.0.1".into(),
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                row.hash = row.compute_hash();
                prev = row.hash.clone();
                row
            })
            .collect()
    }

    fn head(rows: &[AuditRow]) -> (i64, String) {
        rows.last().map_or((0, GENESIS_HASH.to_owned()), |r| (r.seq, r.hash.clone()))
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        let (s, h) = head(&rows);
        assert_eq!(verify_chain(rows, s, &h), Ok(5));
        assert_eq!(verify_chain(Vec::new(), 0, GENESIS_HASH), Ok(0));
    }

    #[test]
    fn an_edited_row_is_named() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows[2].summary = "{\"changed\":true}".into();
        assert_eq!(verify_chain(rows, s, &h), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn an_edited_row_with_a_recomputed_hash_breaks_the_next_link() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        let r = &mut rows[1];
        r.actor = "mallory".into();
        r.hash = r.compute_hash();
        assert_eq!(verify_chain(rows, s, &h), Err(ChainBreak::Reordered { seq: 3, prev: 2 }));
    }

    #[test]
    fn a_removed_row_is_named() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows.remove(3);
        assert_eq!(verify_chain(rows, s, &h), Err(ChainBreak::Removed { expected: 4, found: 5 }));
    }

    #[test]
    fn a_removed_last_row_is_caught_by_the_head() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows.pop();
        assert_eq!(verify_chain(rows, s, &h), Err(ChainBreak::TailRemoved { last: 4, head: 5 }));
    }

    #[test]
    fn swapped_rows_are_caught() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        // Swap the contents of rows 2 and 3 but keep the sequence numbers in order.
        let (a, b) = (rows[1].clone(), rows[2].clone());
        rows[1] = AuditRow { seq: 2, ..b };
        rows[2] = AuditRow { seq: 3, ..a };
        assert_eq!(verify_chain(rows, s, &h), Err(ChainBreak::Edited { seq: 2 }));
    }
}
