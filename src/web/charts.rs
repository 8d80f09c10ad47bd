//! Charts drawn on the server as SVG (readable without JavaScript, printable): this module only
//! computes geometry; the templates draw it, so every text goes through auto-escaping. Each chart
//! has a title and each mark a `<title>` for screen readers and tooltips.

/// A horizontal bar chart (one bar per row).
#[derive(Debug, Clone, Default)]
pub struct Bars {
    /// Overall height.
    pub height: i64,
    /// The bars.
    pub bars: Vec<Bar>,
}

/// One bar.
#[derive(Debug, Clone)]
pub struct Bar {
    /// Top.
    pub y: i64,
    /// Length (the chart is 600 wide, bars start at 180).
    pub w: i64,
    /// Label on the left.
    pub label: String,
    /// Value on the right.
    pub value: String,
    /// Tooltip.
    pub title: String,
}

/// Bars for `(label, value, shown as)` rows, scaled to the largest value (or to `max`).
pub fn bars(rows: &[(String, f64, String)], max: Option<f64>) -> Bars {
    let top = max.unwrap_or_else(|| rows.iter().map(|r| r.1).fold(0.0, f64::max)).max(f64::EPSILON);
    let bars = rows
        .iter()
        .enumerate()
        .map(|(i, (label, v, shown))| Bar {
            y: i64::try_from(i).unwrap_or(0) * 26 + 4,
            w: ((v / top) * 340.0).round().max(0.0) as i64,
            label: label.chars().take(14).collect(),
            value: shown.clone(),
            title: format!("{label}: {shown}"),
        })
        .collect();
    Bars { height: i64::try_from(rows.len()).unwrap_or(0) * 26 + 8, bars }
}

/// A column chart over time.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// The columns.
    pub cols: Vec<Column>,
    /// Axis labels (x, text), a few only.
    pub ticks: Vec<(i64, String)>,
    /// The largest value, printed at the top of the axis.
    pub max_label: String,
}

/// One column: total height and the unsatisfied part stacked at its foot.
#[derive(Debug, Clone)]
pub struct Column {
    /// Left.
    pub x: i64,
    /// Width.
    pub w: i64,
    /// Top of the whole column.
    pub y: i64,
    /// Height of the whole column.
    pub h: i64,
    /// Top of the unsatisfied part.
    pub uy: i64,
    /// Height of the unsatisfied part.
    pub uh: i64,
    /// Tooltip.
    pub title: String,
}

/// Columns for `(period label, ratings, unsatisfied)`; 640 × 200 plot area.
pub fn columns(points: &[(String, i64, i64)]) -> Columns {
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let n = i64::try_from(points.len()).unwrap_or(1).max(1);
    let step = (600 / n).max(2);
    let w = (step * 3 / 4).max(1);
    let scale = |v: i64| v * 180 / max;
    let cols = points
        .iter()
        .enumerate()
        .map(|(i, (label, total, unsat))| {
            let x = 40 + i64::try_from(i).unwrap_or(0) * step;
            let h = scale(*total);
            let uh = scale(*unsat);
            Column { x, w, y: 190 - h, h, uy: 190 - uh, uh, title: format!("{label}: {total} / {unsat}") }
        })
        .collect();
    let every = usize::try_from((n / 6).max(1)).unwrap_or(1);
    let ticks = points
        .iter()
        .enumerate()
        .filter(|(i, _)| i % every == 0)
        .map(|(i, p)| (40 + i64::try_from(i).unwrap_or(0) * step, p.0.clone()))
        .collect();
    Columns { cols, ticks, max_label: max.to_string() }
}

/// The hour × weekday heatmap.
#[derive(Debug, Clone, Default)]
pub struct Heat {
    /// Cells.
    pub cells: Vec<Cell>,
}

/// One cell.
#[derive(Debug, Clone)]
pub struct Cell {
    /// Left.
    pub x: i64,
    /// Top.
    pub y: i64,
    /// Opacity of the fill, 0–1, as text.
    pub opacity: String,
    /// Tooltip.
    pub title: String,
}

/// Cells for a weekday × hour grid of counts.
pub fn heat(grid: &[[i64; 24]; 7], weekdays: &[&str; 7]) -> Heat {
    let max = grid.iter().flatten().copied().max().unwrap_or(0).max(1);
    let mut cells = Vec::with_capacity(7 * 24);
    for (d, row) in grid.iter().enumerate() {
        for (h, v) in row.iter().enumerate() {
            cells.push(Cell {
                x: 40 + i64::try_from(h).unwrap_or(0) * 24,
                y: 4 + i64::try_from(d).unwrap_or(0) * 22,
                opacity: format!("{:.2}", if *v == 0 { 0.04 } else { 0.15 + 0.85 * (*v as f64 / max as f64) }),
                title: format!("{} {h:02}:00 — {v}", weekdays[d]),
            });
        }
    }
    Heat { cells }
}

/// A rate as a percentage with one decimal, or a dash.
pub fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.1}%", v * 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_and_columns_stack_the_unsatisfied() {
        let b = bars(&[("A".into(), 2.0, "2".into()), ("B".into(), 1.0, "1".into())], None);
        assert_eq!((b.bars[0].w, b.bars[1].w), (340, 170));
        let c = columns(&[("d1".into(), 10, 5), ("d2".into(), 0, 0)]);
        assert_eq!((c.cols[0].h, c.cols[0].uh, c.cols[1].h), (180, 90, 0));
        assert_eq!(percent(Some(0.1234)), "12.3%");
        assert_eq!(percent(None), "—");
    }
}
