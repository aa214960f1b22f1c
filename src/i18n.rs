//! English and Japanese for the command line.
//!
//! The language is the user's locale (`LC_ALL`, else `LC_MESSAGES`, else
//! `LANG`): one starting with `ja` gets Japanese, anything else English.
//! Messages are written with [`say!`], both languages side by side at the
//! place they are used. Help texts are written once, in English, as clap
//! doc comments; [`localize`] swaps in their Japanese from the table in
//! `ja.rs`, and a test fails when a help text has no Japanese there.

mod ja;

use clap::{Arg, ArgAction, Command};
use std::sync::OnceLock;

/// Is the user's language Japanese?
pub fn japanese() -> bool {
    static JAPANESE: OnceLock<bool> = OnceLock::new();
    *JAPANESE.get_or_init(|| is_japanese(|name| std::env::var(name).ok()))
}

/// The locale's decision, from a way to read the environment.
fn is_japanese(var: impl Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| var(name))
        .find(|value| !value.is_empty())
        .is_some_and(|value| value.starts_with("ja"))
}

/// A message in the user's language: `say!("English {x}", "日本語 {x}")`.
/// Both are format strings with the same arguments.
macro_rules! say {
    ($en:literal, $ja:literal $(,)?) => {
        if $crate::i18n::japanese() { format!($ja) } else { format!($en) }
    };
    ($en:literal, $ja:literal, $($args:tt)+) => {
        if $crate::i18n::japanese() { format!($ja, $($args)+) } else { format!($en, $($args)+) }
    };
}

/// The Japanese of an English help text, if the table has it.
pub fn ja(english: &str) -> Option<&'static str> {
    let english = english.trim();
    ja::TABLE.iter().find(|(en, _)| *en == english).map(|(_, ja)| *ja)
}

/// The command tree in the user's language.
pub fn localize(cmd: Command) -> Command {
    if japanese() { translate(cmd) } else { cmd }
}

/// Every help text of the tree put in Japanese (what has no Japanese stays
/// English), and clap's own headings with them.
fn translate(mut cmd: Command) -> Command {
    cmd = cmd
        .help_template("{about-with-newline}\n使い方: {usage}\n\n{all-args}{after-help}")
        .subcommand_help_heading("コマンド")
        .disable_help_subcommand(true)
        .disable_help_flag(true)
        .arg(Arg::new("help").short('h').long("help").action(ArgAction::Help).help("ヘルプを表示します"));
    if cmd.get_version().is_some() {
        cmd = cmd.disable_version_flag(true).arg(
            Arg::new("version")
                .short('V')
                .long("version")
                .action(ArgAction::Version)
                .help("バージョンを表示します"),
        );
    }
    if let Some(about) = cmd.get_about().and_then(|a| ja(&a.to_string())) {
        cmd = cmd.about(about);
    }
    if let Some(about) = cmd.get_long_about().and_then(|a| ja(&a.to_string())) {
        cmd = cmd.long_about(about);
    }
    let args: Vec<String> = cmd.get_arguments().map(|a| a.get_id().to_string()).collect();
    for id in args {
        cmd = cmd.mut_arg(id, |mut arg| {
            if let Some(help) = arg.get_help().and_then(|h| ja(&h.to_string())) {
                arg = arg.help(help);
            }
            if let Some(help) = arg.get_long_help().and_then(|h| ja(&h.to_string())) {
                arg = arg.long_help(help);
            }
            arg = annotate(arg);
            let heading = if arg.is_positional() { "引数" } else { "オプション" };
            arg.help_heading(heading)
        });
    }
    let subcommands: Vec<String> = cmd.get_subcommands().map(|s| s.get_name().to_owned()).collect();
    for name in subcommands {
        cmd = cmd.mut_subcommand(name, translate);
    }
    cmd
}

/// clap's own `[default: …]` and `[possible values: …]` notes, in Japanese.
fn annotate(mut arg: Arg) -> Arg {
    let mut notes = String::new();
    if !arg.is_hide_default_value_set() && !arg.get_default_values().is_empty() {
        let values: Vec<String> =
            arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        notes.push_str(&format!(" [既定: {}]", values.join(", ")));
        arg = arg.hide_default_value(true);
    }
    let possible: Vec<String> = arg.get_possible_values().iter().map(|v| v.get_name().to_owned()).collect();
    if !arg.is_hide_possible_values_set() && !possible.is_empty() && arg.get_action().takes_values() {
        notes.push_str(&format!(" [値: {}]", possible.join(", ")));
        arg = arg.hide_possible_values(true);
    }
    if notes.is_empty() {
        return arg;
    }
    let help = arg.get_help().map(|h| h.to_string()).unwrap_or_default();
    let long = arg.get_long_help().map(|h| h.to_string());
    arg = arg.help(format!("{help}{notes}"));
    match long {
        Some(long) => arg.long_help(format!("{long}{notes}")),
        None => arg,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every help text of `cmd`'s tree, with where it is.
    fn help_texts(cmd: &Command, path: &str, out: &mut Vec<(String, String)>) {
        let path = format!("{path} {}", cmd.get_name());
        for text in [cmd.get_about(), cmd.get_long_about()].into_iter().flatten() {
            out.push((path.clone(), text.to_string()));
        }
        for arg in cmd.get_arguments() {
            if arg.get_help().is_none() {
                out.push((format!("{path} --{}", arg.get_id()), String::new()));
            }
            for text in [arg.get_help(), arg.get_long_help()].into_iter().flatten() {
                out.push((format!("{path} --{}", arg.get_id()), text.to_string()));
            }
        }
        for sub in cmd.get_subcommands() {
            help_texts(sub, &path, out);
        }
    }

    #[test]
    fn every_help_text_has_japanese() {
        let mut texts = Vec::new();
        help_texts(&crate::Cli::command(), "", &mut texts);
        assert!(texts.len() > 20, "the command tree has its help texts: {}", texts.len());
        let missing: Vec<String> = texts
            .iter()
            .filter(|(_, text)| ja(text).is_none())
            .map(|(at, text)| format!("{at}: {text:?}"))
            .collect();
        assert!(missing.is_empty(), "help texts without Japanese in src/i18n/ja.rs:\n{}", missing.join("\n"));
    }

    #[test]
    fn the_table_has_no_stale_or_duplicate_entries() {
        let mut texts = Vec::new();
        help_texts(&crate::Cli::command(), "", &mut texts);
        let used: std::collections::HashSet<&str> = texts.iter().map(|(_, t)| t.trim()).collect();
        let mut seen = std::collections::HashSet::new();
        for (en, ja) in ja::TABLE {
            assert!(seen.insert(*en), "twice in the table: {en:?}");
            assert!(used.contains(en), "no help text reads {en:?} any more");
            assert!(!ja.is_empty() && !ja.is_ascii(), "not Japanese: {ja:?}");
        }
    }

    #[test]
    fn the_locale_picks_the_language() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
        };
        assert!(is_japanese(env(&[("LANG", "ja_JP.UTF-8")])));
        assert!(!is_japanese(env(&[("LANG", "en_US.UTF-8")])));
        assert!(!is_japanese(env(&[])));
        // LC_ALL wins over LANG; an empty one is skipped.
        assert!(!is_japanese(env(&[("LC_ALL", "C"), ("LANG", "ja_JP.UTF-8")])));
        assert!(is_japanese(env(&[("LC_ALL", ""), ("LC_MESSAGES", "ja_JP"), ("LANG", "C")])));
    }

    #[test]
    fn the_japanese_tree_is_a_valid_command_with_japanese_help() {
        let mut cmd = translate(crate::Cli::command());
        cmd.build();
        let up = cmd.find_subcommand_mut("up").unwrap();
        let help = up.render_long_help().to_string();
        assert!(help.contains("使い方"), "{help}");
        assert!(help.contains("オプション"), "{help}");
        let data_dir = up.get_arguments().find(|a| a.get_id() == "data_dir").unwrap();
        assert!(!data_dir.get_help().unwrap().to_string().is_ascii());
    }
}
