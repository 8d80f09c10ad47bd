//! The monthly bulletin (通报): which units it praises and which it names, from their figures.
//! Praised: units that had at least two problems and fixed every one by its deadline, with no
//! recurrence. Named: units with someone held to account, two or more items overdue, or a
//! problem that came back; the worst first (held to account, then overdue, then recurring).

/// A unit's figures for the bulletin's period.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UnitRecord {
    /// Org code.
    pub code: String,
    /// Name.
    pub name: String,
    /// Items opened in the period.
    pub found: i64,
    /// Of those, closed by their deadline.
    pub on_time: i64,
    /// Open items past their deadline now.
    pub overdue: i64,
    /// Recurrences in the period.
    pub recurring: i64,
    /// Talks and referrals in the period.
    pub held: i64,
}

/// How many units each list shows at most.
pub const LIST: usize = 10;

/// The units praised, most problems fixed first.
pub fn praised(units: &[UnitRecord]) -> Vec<UnitRecord> {
    let mut out: Vec<UnitRecord> = units
        .iter()
        .filter(|u| u.found >= 2 && u.on_time == u.found && u.recurring == 0 && u.overdue == 0 && u.held == 0)
        .cloned()
        .collect();
    out.sort_by(|a, b| b.found.cmp(&a.found).then_with(|| a.code.cmp(&b.code)));
    out.truncate(LIST);
    out
}

/// The units named, the worst first.
pub fn named(units: &[UnitRecord]) -> Vec<UnitRecord> {
    let mut out: Vec<UnitRecord> =
        units.iter().filter(|u| u.held > 0 || u.overdue >= 2 || u.recurring > 0).cloned().collect();
    out.sort_by(|a, b| {
        (b.held, b.overdue, b.recurring).cmp(&(a.held, a.overdue, a.recurring)).then_with(|| a.code.cmp(&b.code))
    });
    out.truncate(LIST);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(code: &str, found: i64, on_time: i64, overdue: i64, recurring: i64, held: i64) -> UnitRecord {
        UnitRecord { code: code.into(), name: code.into(), found, on_time, overdue, recurring, held }
    }

    #[test]
    fn praise_needs_every_problem_fixed_in_time_and_naming_puts_the_worst_first() {
        let units = [
            u("a", 3, 3, 0, 0, 0),
            u("b", 1, 1, 0, 0, 0),
            u("c", 4, 3, 0, 0, 0),
            u("d", 2, 2, 0, 1, 0),
            u("e", 2, 0, 2, 0, 0),
            u("f", 2, 0, 1, 0, 1),
            u("g", 5, 5, 0, 0, 0),
        ];
        let p: Vec<String> = praised(&units).into_iter().map(|x| x.code).collect();
        assert_eq!(p, ["g", "a"], "one problem is too few; one late or recurring is not praise");
        let n: Vec<String> = named(&units).into_iter().map(|x| x.code).collect();
        assert_eq!(n, ["f", "e", "d"], "held to account first, then overdue, then recurring");
        for x in praised(&units) {
            assert!(!named(&units).contains(&x), "nobody is praised and named");
        }
    }
}
