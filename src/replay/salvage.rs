//! `yukari replay salvage`: runs the salvage and tells the operator what
//! was kept, what was lost, and what to do next, in their language.

use eventlog::salvage::{SalvageError, SalvageReport};
use replay_tools::salvage::Salvaged;
use replay_tools::{Progress, ReplayError};
use std::path::Path;

pub fn run(data_dir: &Path, to: &Path) -> anyhow::Result<()> {
    let salvaged = match replay_tools::salvage::salvage(data_dir, to, &Progress::hidden()) {
        Ok(s) => s,
        Err(ReplayError::Salvage(SalvageError::InUse(path))) => anyhow::bail!(say!(
            "{path} is in use: stop the controller before salvaging its log",
            "{path} は使用中です: ログを救出する前にコントローラーを止めてください"
        )),
        Err(ReplayError::Salvage(SalvageError::Exists(path))) => anyhow::bail!(say!(
            "{path} exists already: salvage writes a new log; give another --to",
            "{path} はすでにあります: salvage は新しいログを書きます。別の --to を指定してください"
        )),
        Err(e) => return Err(e.into()),
    };
    print!("{}", render(data_dir, &salvaged));
    if !salvaged.verified.ok() {
        std::process::exit(1);
    }
    Ok(())
}

/// The report: what was read and how, what was lost, the new log's
/// verification, and the next steps.
fn render(data_dir: &Path, salvaged: &Salvaged) -> String {
    let Salvaged { from, report, verified } = salvaged;
    let (from, to) = (from.display(), report.to.display());
    let SalvageReport { head, copied, from_raw_bytes, .. } = report;
    let mut out = vec![say!(
        "salvaged {copied} of {head} record(s) from {from} into {to}",
        "{from} の {head} 件のレコードのうち {copied} 件を {to} に救出しました"
    )];
    match &report.unopenable {
        Some(why) => out.push(say!(
            "redb could not open the log ({why}): its records were found by reading the file's bytes",
            "redb がログを開けませんでした({why}): レコードはファイルのバイト列を読んで見つけました"
        )),
        None if *from_raw_bytes > 0 => out.push(say!(
            "{from_raw_bytes} record(s) that redb could not read were found in the file's bytes",
            "redb が読めなかった {from_raw_bytes} 件のレコードをファイルのバイト列から見つけました"
        )),
        None => {}
    }
    if report.lost.is_empty() {
        out.push(say!("nothing was lost", "失われたレコードはありません"));
    } else {
        let ranges: Vec<String> = report
            .lost_ranges()
            .iter()
            .map(|(a, b)| if a == b { a.to_string() } else { format!("{a}..={b}") })
            .collect();
        let (count, ranges) = (report.lost.len(), ranges.join(", "));
        out.push(say!(
            "LOST: {count} record(s), at position(s) {ranges}",
            "失われたもの: {count} 件のレコード、位置 {ranges}"
        ));
        out.push(say!(
            "in the new log, a record after k lost ones has a position k lower, and within a stream a \
             version after k lost ones is k lower (a log has no gaps)",
            "新しいログでは、失われた k 件より後のレコードの位置は k 小さくなり、ストリーム内でも失われた \
             k 件より後のバージョンは k 小さくなります(ログに欠番はありません)"
        ));
    }
    for (stream, versions) in &report.streams {
        let versions: Vec<String> = versions.iter().map(u64::to_string).collect();
        let versions = versions.join(", ");
        out.push(say!(
            "stream {stream} lost version(s) {versions}",
            "ストリーム {stream} はバージョン {versions} を失いました"
        ));
    }
    if !report.lost.is_empty() && report.streams.is_empty() {
        out.push(say!(
            "which streams the lost records belonged to cannot be told",
            "失われたレコードがどのストリームのものかはわかりません"
        ));
    }
    if !report.conflicting.is_empty() {
        let positions: Vec<String> = report.conflicting.iter().map(u64::to_string).collect();
        let positions = positions.join(", ");
        out.push(say!(
            "position(s) {positions} had several different intact copies in the file: the latest was kept",
            "位置 {positions} にはファイル中に異なる無傷のコピーが複数ありました: 最も新しいものを残しました"
        ));
    }
    out.push(say!("the new log, verified:", "新しいログの検証:"));
    out.push(verified.to_string().trim_end().to_owned());
    let dir = data_dir.display();
    if verified.ok() {
        out.push(say!(
            "to use it: stop the controller, keep {from} aside, move {to} to {dir}/events.redb, delete \
             {dir}/projections.snapshot and {dir}/snapshots (they were made from the damaged log), start \
             the controller",
            "使うには: コントローラーを止め、{from} を別の場所に残し、{to} を {dir}/events.redb に移し、\
             {dir}/projections.snapshot と {dir}/snapshots を削除し(損傷したログから作られたものです)、\
             コントローラーを起動します"
        ));
    }
    out.join("\n") + "\n"
}
