//! `--plot FILE.svg|FILE.png`: what each account held over the period (the
//! number of running instances, and later other metered resources), one
//! step line per account and resource kind, drawn with plotters.
//!
//! Labels are laid out (SVG) and drawn (PNG) with a TrueType font found on
//! the system: DejaVu Sans or Liberation Sans, as Debian ships them
//! (`fonts-dejavu-core`).

use crate::error::ReplayError;
use crate::time::{self, MICROS_PER_SECOND};
use crate::usage::UsageReport;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One line of the plot: a level that changes at times.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Series {
    pub label: String,
    /// The account (id) whose holding this is, and the resource kind.
    pub account: String,
    pub resource: &'static str,
    /// (time, level from then on), in time order, starting at the period's start.
    pub points: Vec<(time::Micros, i64)>,
}

/// The step series of a usage report: per account and resource kind, how
/// much was held from each change on.
pub fn series(report: &UsageReport) -> Vec<Series> {
    let mut by: BTreeMap<(String, &str), Vec<(time::Micros, i64)>> = BTreeMap::new();
    for s in &report.steps {
        by.entry((s.account.clone(), s.resource)).or_default().push((s.at, s.delta));
    }
    by.into_iter()
        .map(|((account, resource), deltas)| {
            let name = report.names.get(&account).map(|n| format!(" ({n})")).unwrap_or_default();
            let mut points = vec![(report.from, 0)];
            let mut level = 0i64;
            for (at, delta) in deltas {
                level += delta;
                match points.last_mut() {
                    Some(last) if last.0 == at => last.1 = level,
                    _ => points.push((at, level)),
                }
            }
            Series { label: format!("{account}{name} {resource}s"), account, resource, points }
        })
        .collect()
}

const FONTS: [&str; 4] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/liberation-sans/LiberationSans-Regular.ttf",
];

fn register_font() -> Result<(), ReplayError> {
    static LOADED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let ok = *LOADED.get_or_init(|| {
        FONTS.iter().filter_map(|p| std::fs::read(p).ok()).any(|bytes| {
            // plotters keeps fonts for the life of the process.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok()
        })
    });
    if ok {
        Ok(())
    } else {
        Err(ReplayError::Invalid(format!(
            "plot labels need a TrueType font, and none of {FONTS:?} is installed (apt-get install fonts-dejavu-core)"
        )))
    }
}

/// Draws `report` to `path` (`.svg` or `.png`).
pub fn plot(report: &UsageReport, path: &Path) -> Result<(), ReplayError> {
    let lines = series(report);
    let size = (1200, 600);
    let fail = |e: String| ReplayError::file(path, e);
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg") => {
            register_font()?;
            let root = SVGBackend::new(path, size).into_drawing_area();
            draw(&root, report, &lines).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        Some("png") => {
            register_font()?;
            let root = BitMapBackend::new(path, size).into_drawing_area();
            draw(&root, report, &lines).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        _ => Err(ReplayError::Invalid(format!("{}: plot to a .svg or .png file", path.display()))),
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    report: &UsageReport,
    lines: &[Series],
) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let seconds = |t: time::Micros| (t - report.from) as f64 / MICROS_PER_SECOND as f64;
    let span = seconds(report.to).max(1.0);
    let top = lines.iter().flat_map(|s| s.points.iter().map(|p| p.1)).max().unwrap_or(0).max(1) as f64;
    let from = report.from;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("usage from {} to {}", time::format(report.from), time::format(report.to)),
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..span, 0f64..top * 1.1)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("time (UTC)")
        .y_desc("held (instances)")
        .x_labels(6)
        .x_label_formatter(&|x| {
            let t = from + (*x * MICROS_PER_SECOND as f64) as i64;
            time::format(t)[5..19].replace('T', " ")
        })
        .draw()
        .map_err(|e| e.to_string())?;
    for (i, s) in lines.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let mut points: Vec<(f64, f64)> = Vec::with_capacity(s.points.len() * 2 + 1);
        for window in s.points.windows(2) {
            let (a, b) = (window[0], window[1]);
            points.push((seconds(a.0), a.1 as f64));
            points.push((seconds(b.0), a.1 as f64));
        }
        if let Some(last) = s.points.last() {
            points.push((seconds(last.0), last.1 as f64));
            points.push((span, last.1 as f64));
        }
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(2)))
            .map_err(|e| e.to_string())?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    if !lines.is_empty() {
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
