//! The results table (measure | value | baseline | ratio | target | met?)
//! and the number formats it uses. A missed target is written out plainly
//! in the table and again below it.

use std::time::Duration;

/// Whether a row's target is met.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    /// No target: the row is there for its value or as a baseline.
    Info,
    /// Could not be measured in this run.
    Skipped,
}

impl Verdict {
    pub fn of(met: bool) -> Verdict {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "yes",
            Verdict::Missed => "NO - MISSED",
            Verdict::Info => "-",
            Verdict::Skipped => "skipped",
        }
    }
}

pub struct Row {
    pub measure: String,
    pub value: String,
    pub baseline: String,
    pub ratio: String,
    pub target: String,
    pub verdict: Verdict,
}

#[derive(Default)]
pub struct Table {
    rows: Vec<Row>,
    notes: Vec<String>,
}

impl Table {
    pub fn row(&mut self, measure: &str, value: String, baseline: String, ratio: String) -> &mut Row {
        self.rows.push(Row {
            measure: measure.to_owned(),
            value,
            baseline,
            ratio,
            target: "-".to_owned(),
            verdict: Verdict::Info,
        });
        self.rows.last_mut().expect("a row was just pushed")
    }

    pub fn skipped(&mut self, measure: &str, target: &str, why: &str) {
        self.rows.push(Row {
            measure: measure.to_owned(),
            value: "not measured".to_owned(),
            baseline: "-".to_owned(),
            ratio: "-".to_owned(),
            target: target.to_owned(),
            verdict: Verdict::Skipped,
        });
        self.note(format!("{measure}: not measured: {why}"));
    }

    pub fn note(&mut self, text: String) {
        self.notes.push(text);
    }

    pub fn print(&self) {
        let header = ["measure", "value", "baseline", "ratio", "target", "met?"];
        let cells: Vec<[&str; 6]> = self
            .rows
            .iter()
            .map(|r| [&*r.measure, &*r.value, &*r.baseline, &*r.ratio, &*r.target, r.verdict.label()])
            .collect();
        let mut widths = header.map(|h| h.chars().count());
        for row in &cells {
            for (w, c) in widths.iter_mut().zip(row) {
                *w = (*w).max(c.chars().count());
            }
        }
        let line = |cells: &[&str; 6]| {
            let padded: Vec<String> = cells
                .iter()
                .zip(widths)
                .map(|(c, w)| format!("{c}{}", " ".repeat(w - c.chars().count())))
                .collect();
            println!("| {} |", padded.join(" | "));
        };
        line(&header);
        println!("|{}|", widths.map(|w| "-".repeat(w + 2)).join("|"));
        for row in &cells {
            line(row);
        }
        let missed: Vec<&Row> = self.rows.iter().filter(|r| r.verdict == Verdict::Missed).collect();
        println!();
        if missed.is_empty() {
            println!("All targets measured in this run are met.");
        } else {
            println!("TARGETS MISSED in this run ({}):", missed.len());
            for r in missed {
                println!(
                    "  - {}: {} (baseline {}, ratio {}), target {}",
                    r.measure, r.value, r.baseline, r.ratio, r.target
                );
            }
        }
        for n in &self.notes {
            println!("note: {n}");
        }
    }
}

impl Row {
    /// Sets the row's target and whether it is met.
    pub fn target(&mut self, target: &str, met: bool) {
        self.target = target.to_owned();
        self.verdict = Verdict::of(met);
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn rate(per_sec: f64) -> String {
    format!("{} /s", thousands(per_sec.round() as u64))
}

pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 { format!("{ms:.3} ms") } else { format!("{ms:.1} ms") }
}

pub fn bytes(n: f64) -> String {
    format!("{} B", thousands(n.round().max(0.0) as u64))
}

pub fn mib(n: u64) -> String {
    format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
}

/// `value / baseline` as `12.3×` (`-` when the baseline is zero).
pub fn ratio(value: f64, baseline: f64) -> String {
    if baseline <= 0.0 {
        return "-".to_owned();
    }
    let r = value / baseline;
    if r >= 100.0 { format!("{}×", thousands(r.round() as u64)) } else { format!("{r:.2}×") }
}

/// How many times faster a latency is than its baseline.
pub fn speedup(value: Duration, baseline: Duration) -> String {
    format!("{} faster", ratio(baseline.as_secs_f64(), value.as_secs_f64()))
}
