//! SVG charts drawn by the server: the geometry is computed here, the
//! template writes the elements (no script, no inline style: colours are
//! SVG attributes, which the Content-Security-Policy allows). Words on a
//! chart (names, dates, numbers) come in already translated.

use replay_tools::plot::Series;

/// Colours of successive lines and bars.
const COLORS: [&str; 8] =
    ["#2f6f4e", "#b5651d", "#3b6ea8", "#a32121", "#7a5b00", "#6b3fa0", "#1e7f86", "#5b4636"];

pub(crate) fn color(i: usize) -> &'static str {
    COLORS[i % COLORS.len()]
}

/// A step line: its legend and its SVG `points`.
pub(crate) struct Line {
    pub label: String,
    pub color: &'static str,
    pub points: String,
}

/// A step chart of levels over a period.
pub(crate) struct Steps {
    pub width: u32,
    pub height: u32,
    /// The plotting area: left, top, right, bottom.
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
    pub lines: Vec<Line>,
    /// Labels: the highest level, the period's start and end.
    pub y_max: String,
    pub x_from: String,
    pub x_to: String,
}

impl Steps {
    /// `series` over `[from, to)` (µs), each labelled by `label`.
    pub fn new(
        series: &[Series],
        from: i64,
        to: i64,
        label: impl Fn(&Series) -> String,
        number: impl Fn(u64) -> String,
        date: impl Fn(i64) -> String,
    ) -> Steps {
        let (width, height, left, top, right, bottom) = (720u32, 220u32, 56u32, 12u32, 704u32, 192u32);
        let highest = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).max().unwrap_or(0).max(1);
        let span = (to - from).max(1) as f64;
        let x =
            |t: i64| f64::from(left) + (t - from).clamp(0, to - from) as f64 / span * f64::from(right - left);
        let y = |level: i64| {
            f64::from(bottom) - level.max(0) as f64 / highest as f64 * f64::from(bottom - top) * 0.95
        };
        let lines = series
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut points = Vec::with_capacity(s.points.len() * 2 + 1);
                for pair in s.points.windows(2) {
                    let (a, b) = (pair[0], pair[1]);
                    points.push(format!("{:.1},{:.1}", x(a.0), y(a.1)));
                    points.push(format!("{:.1},{:.1}", x(b.0), y(a.1)));
                }
                if let Some(last) = s.points.last() {
                    points.push(format!("{:.1},{:.1}", x(last.0), y(last.1)));
                    points.push(format!("{:.1},{:.1}", x(to), y(last.1)));
                }
                Line { label: label(s), color: color(i), points: points.join(" ") }
            })
            .collect();
        Steps {
            width,
            height,
            left,
            top,
            right,
            bottom,
            lines,
            y_max: number(highest as u64),
            x_from: date(from),
            x_to: date(to),
        }
    }

    /// Where the highest level's label sits.
    pub fn y_max_at(&self) -> u32 {
        self.bottom - ((self.bottom - self.top) as f64 * 0.95) as u32
    }
}

/// A horizontal bar.
pub(crate) struct Bar {
    pub label: String,
    pub value: String,
    pub color: &'static str,
    /// Top of the bar, its width, where its value is written.
    pub y: u32,
    pub text_y: u32,
    pub width: u32,
    pub value_x: u32,
}

/// Horizontal bars of `(label, amount, amount as written)`, the longest
/// as wide as the chart allows.
pub(crate) struct Bars {
    pub width: u32,
    pub height: u32,
    /// Where bars start (labels are written left of it).
    pub left: u32,
    pub bars: Vec<Bar>,
}

impl Bars {
    pub fn new(items: Vec<(String, u128, String)>) -> Bars {
        const ROW: u32 = 28;
        let (width, left, room) = (720u32, 220u32, 400u32);
        let highest = items.iter().map(|i| i.1).max().unwrap_or(0).max(1);
        let bars = items
            .into_iter()
            .enumerate()
            .map(|(i, (label, amount, value))| {
                let w = ((amount * u128::from(room)) / highest) as u32;
                let y = 6 + i as u32 * ROW;
                Bar {
                    label,
                    value,
                    color: color(i),
                    y,
                    text_y: y + 15,
                    width: w.max(1),
                    value_x: left + w.max(1) + 6,
                }
            })
            .collect::<Vec<_>>();
        let height = 12 + bars.len() as u32 * ROW;
        Bars { width, height, left, bars }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_span_the_period_and_the_highest_level() {
        let s = Series {
            label: String::new(),
            account: "1".into(),
            resource: "instance",
            points: vec![(0, 0), (50, 2), (75, 1)],
        };
        let chart = Steps::new(&[s], 0, 100, |_| "a".into(), |n| n.to_string(), |t| t.to_string());
        let points: Vec<&str> = chart.lines[0].points.split(' ').collect();
        // Starts at the left on the axis, ends at the right at level 1.
        assert_eq!(points[0], "56.0,192.0");
        assert_eq!(points.last().copied(), Some("704.0,106.5"));
        // The step up to 2 reaches the top of the scale.
        assert!(points.contains(&"380.0,21.0"), "{points:?}");
        assert_eq!((chart.y_max.as_str(), chart.x_to.as_str()), ("2", "100"));
    }

    #[test]
    fn the_longest_bar_fills_the_room() {
        let bars = Bars::new(vec![("a".into(), 10, "10".into()), ("b".into(), 5, "5".into())]);
        assert_eq!((bars.bars[0].width, bars.bars[1].width), (400, 200));
        assert!(bars.bars[1].y > bars.bars[0].y && bars.height > bars.bars[1].y + 20);
    }
}
