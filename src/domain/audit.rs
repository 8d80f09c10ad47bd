//! The audit trail's hash chain. Each row's hash covers its own fields and the previous row's
//! hash, so editing, removing or reordering any row breaks the chain at that row.
//!
//! The hash is keyed (HMAC-SHA-256 with an [`AuditKey`] derived from the server secret, which is
//! not in the database): someone who can write the database but does not hold the secret cannot
//! recompute the hashes after an edit. A database written before keyed hashes holds plain
//! SHA-256 hashes; it is checked and re-keyed once (`store::audit::rekey`). A signed
//! [`Checkpoint`] of the head, kept outside the database, catches even a rewrite by someone who
//! holds the secret, for the rows it covers.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The key of the audit chain's hashes. Debug shows nothing.
#[derive(Clone, PartialEq, Eq)]
pub struct AuditKey(pub [u8; 32]);

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditKey(****)")
    }
}

impl AuditKey {
    fn mac(&self) -> Hmac<Sha256> {
        <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"))
    }
}

/// How a chain's hashes are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hashing {
    /// Plain SHA-256: chains written before keyed hashes, until they are re-keyed.
    Plain,
    /// HMAC-SHA-256 under the key.
    Keyed(AuditKey),
}

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
    pub fn compute_hash(&self, hashing: &Hashing) -> String {
        match hashing {
            Hashing::Plain => {
                let mut h = Sha256::new();
                self.feed(|b| h.update(b));
                hex::encode(h.finalize())
            }
            Hashing::Keyed(key) => {
                let mut m = key.mac();
                self.feed(|b| m.update(b));
                hex::encode(m.finalize().into_bytes())
            }
        }
    }

    fn feed(&self, mut update: impl FnMut(&[u8])) {
        update(&self.seq.to_be_bytes());
        update(&self.at.to_be_bytes());
        for field in [&self.actor, &self.action, &self.target, &self.summary, &self.client_addr, &self.prev_hash] {
            update(&(field.len() as u64).to_be_bytes());
            update(field.as_bytes());
        }
    }
}

/// The chain's head at one moment, signed with the audit key, to be kept outside the database
/// (`pingyi audit checkpoint`) and checked later (`pingyi audit verify --checkpoint FILE`): the
/// row `seq` must still be there with this hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The last row it covers (and the number of rows, the chain having no gaps).
    pub seq: i64,
    /// That row's hash.
    pub hash: String,
    /// When it was taken, ms.
    pub at: i64,
    /// HMAC-SHA-256 of the above under the audit key, hex.
    pub signature: String,
}

impl Checkpoint {
    /// A checkpoint of the row `seq` with `hash`, taken `at`.
    pub fn sign(seq: i64, hash: &str, at: i64, key: &AuditKey) -> Checkpoint {
        let mut c = Checkpoint { seq, hash: hash.to_owned(), at, signature: String::new() };
        c.signature = c.expected_signature(key);
        c
    }

    fn expected_signature(&self, key: &AuditKey) -> String {
        let mut m = key.mac();
        m.update(b"pingyi audit checkpoint v1");
        m.update(&self.seq.to_be_bytes());
        m.update(&self.at.to_be_bytes());
        m.update(self.hash.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Whether the signature is this key's.
    pub fn signed_by(&self, key: &AuditKey) -> bool {
        self.expected_signature(key) == self.signature
    }

    /// Checks the chain as stored against this checkpoint: `hash_at_seq` is the stored hash of
    /// row `seq` (if the row is there) and `head_seq` the chain's last row.
    pub fn check(&self, key: &AuditKey, hash_at_seq: Option<&str>, head_seq: i64) -> Result<(), CheckpointBreak> {
        if !self.signed_by(key) {
            return Err(CheckpointBreak::BadSignature);
        }
        if head_seq < self.seq {
            return Err(CheckpointBreak::Shorter { head: head_seq, seq: self.seq });
        }
        match hash_at_seq {
            Some(h) if h == self.hash => Ok(()),
            _ => Err(CheckpointBreak::Rewritten { seq: self.seq }),
        }
    }
}

/// How the chain disagrees with a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointBreak {
    /// The file was not signed with this server's key, or was edited.
    #[error("the checkpoint's signature does not match: it was edited, or taken with another server secret")]
    BadSignature,
    /// Rows the checkpoint covered are gone.
    #[error("the chain ends at row {head}, but the checkpoint covers rows up to {seq}: rows were removed")]
    Shorter {
        /// The chain's last row now.
        head: i64,
        /// The checkpoint's last row.
        seq: i64,
    },
    /// The rows up to the checkpoint were rewritten (their hashes recomputed).
    #[error("row {seq} no longer has the hash the checkpoint recorded: the rows up to it were rewritten")]
    Rewritten {
        /// The checkpoint's row.
        seq: i64,
    },
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
    hashing: Hashing,
}

impl ChainVerifier {
    /// A verifier of a chain hashed with `hashing`.
    pub fn new(hashing: Hashing) -> Self {
        Self { prev_seq: 0, prev_hash: GENESIS_HASH.to_owned(), hashing }
    }

    /// Checks the next row in stored order.
    pub fn push(&mut self, row: AuditRow) -> Result<(), ChainBreak> {
        let prev_seq = self.prev_seq;
        if row.seq > prev_seq + 1 {
            return Err(ChainBreak::Removed { expected: prev_seq + 1, found: row.seq });
        }
        if row.seq != prev_seq + 1 {
            return Err(ChainBreak::Reordered { seq: row.seq, prev: prev_seq });
        }
        if row.compute_hash(&self.hashing) != row.hash {
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
    hashing: Hashing,
    head_seq: i64,
    head_hash: &str,
) -> Result<i64, ChainBreak> {
    let mut v = ChainVerifier::new(hashing);
    for row in rows {
        v.push(row)?;
    }
    v.finish(head_seq, head_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> Hashing {
        Hashing::Keyed(AuditKey([7; 32]))
    }

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
                row.hash = row.compute_hash(&key());
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
        assert_eq!(verify_chain(rows, key(), s, &h), Ok(5));
        assert_eq!(verify_chain(Vec::new(), key(), 0, GENESIS_HASH), Ok(0));
    }

    #[test]
    fn an_edited_row_is_named() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows[2].summary = "{\"changed\":true}".into();
        assert_eq!(verify_chain(rows, key(), s, &h), Err(ChainBreak::Edited { seq: 3 }));
    }

    #[test]
    fn an_edited_row_with_a_recomputed_hash_breaks_the_next_link() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        let r = &mut rows[1];
        r.actor = "mallory".into();
        r.hash = r.compute_hash(&key());
        assert_eq!(verify_chain(rows, key(), s, &h), Err(ChainBreak::Reordered { seq: 3, prev: 2 }));
    }

    #[test]
    fn a_rewrite_without_the_key_is_caught_even_with_every_hash_recomputed() {
        let mut rows = chain(5);
        rows[1].actor = "mallory".into();
        // The rewriter recomputes every hash from row 2 on, but has no key: plain SHA-256, or
        // HMAC under a key of their own.
        for forged_with in [Hashing::Plain, Hashing::Keyed(AuditKey([9; 32]))] {
            let mut forged = rows.clone();
            for i in 1..forged.len() {
                forged[i].prev_hash = forged[i - 1].hash.clone();
                forged[i].hash = forged[i].compute_hash(&forged_with);
            }
            let (s, h) = head(&forged);
            assert_eq!(verify_chain(forged, key(), s, &h), Err(ChainBreak::Edited { seq: 2 }));
        }
    }

    #[test]
    fn a_checkpoint_catches_a_rewrite_by_whoever_holds_the_key_and_a_forged_checkpoint() {
        let k = AuditKey([7; 32]);
        let rows = chain(5);
        let cp = Checkpoint::sign(3, &rows[2].hash, 1000, &k);
        assert_eq!(cp.check(&k, Some(&rows[2].hash), 5), Ok(()));
        assert_eq!(cp.check(&k, Some("rewritten"), 5), Err(CheckpointBreak::Rewritten { seq: 3 }));
        assert_eq!(cp.check(&k, None, 5), Err(CheckpointBreak::Rewritten { seq: 3 }));
        assert_eq!(cp.check(&k, Some(&rows[2].hash), 2), Err(CheckpointBreak::Shorter { head: 2, seq: 3 }));
        let edited = Checkpoint { seq: 2, ..cp.clone() };
        assert_eq!(edited.check(&k, Some(&rows[1].hash), 5), Err(CheckpointBreak::BadSignature));
        assert_eq!(cp.check(&AuditKey([1; 32]), Some(&rows[2].hash), 5), Err(CheckpointBreak::BadSignature));
    }

    #[test]
    fn a_removed_row_is_named() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows.remove(3);
        assert_eq!(verify_chain(rows, key(), s, &h), Err(ChainBreak::Removed { expected: 4, found: 5 }));
    }

    #[test]
    fn a_removed_last_row_is_caught_by_the_head() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        rows.pop();
        assert_eq!(verify_chain(rows, key(), s, &h), Err(ChainBreak::TailRemoved { last: 4, head: 5 }));
    }

    #[test]
    fn swapped_rows_are_caught() {
        let mut rows = chain(5);
        let (s, h) = head(&rows);
        // Swap the contents of rows 2 and 3 but keep the sequence numbers in order.
        let (a, b) = (rows[1].clone(), rows[2].clone());
        rows[1] = AuditRow { seq: 2, ..b };
        rows[2] = AuditRow { seq: 3, ..a };
        assert_eq!(verify_chain(rows, key(), s, &h), Err(ChainBreak::Edited { seq: 2 }));
    }
}
