//! English and Japanese: every string a page shows comes from the Fluent
//! files `locales/en.ftl` and `locales/ja.ftl` (embedded in the binary),
//! through [`Tr::msg`] and [`Tr::msg_args`]. Dates and numbers are
//! written the way each language writes them. The language is the one
//! remembered in the `lang` cookie (the switch on every page sets it), else
//! the browser's Accept-Language, else English.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;

pub(crate) const EN_FTL: &str = include_str!("../locales/en.ftl");
pub(crate) const JA_FTL: &str = include_str!("../locales/ja.ftl");

/// The console's languages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ja,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ja];

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ja => "ja",
        }
    }

    pub fn parse(code: &str) -> Option<Lang> {
        match code {
            "en" => Some(Lang::En),
            "ja" => Some(Lang::Ja),
            _ => None,
        }
    }

    /// The best of our languages for an Accept-Language header (by its
    /// q-values; a tie goes to the one listed first), English if none.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()))
                .unwrap_or(1.0);
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Lang::parse(primary) else { continue };
            if q <= 0.0 {
                continue;
            }
            if best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi)) {
                best = Some((q, i, lang));
            }
        }
        best.map_or(Lang::En, |(_, _, lang)| lang)
    }
}

type Bundle = FluentBundle<FluentResource>;

fn bundle(lang: Lang) -> &'static Bundle {
    static EN: OnceLock<Bundle> = OnceLock::new();
    static JA: OnceLock<Bundle> = OnceLock::new();
    let (cell, source, tag) = match lang {
        Lang::En => (&EN, EN_FTL, "en-US"),
        Lang::Ja => (&JA, JA_FTL, "ja-JP"),
    };
    cell.get_or_init(|| {
        let resource = FluentResource::try_new(source.to_owned())
            .unwrap_or_else(|(_, errors)| panic!("{} translations do not parse: {errors:?}", lang.code()));
        let mut bundle = FluentBundle::new_concurrent(vec![tag.parse().expect("a valid language tag")]);
        // No Unicode isolation marks around arguments: pages are plain
        // left-to-right HTML.
        bundle.set_use_isolating(false);
        bundle.add_resource(resource).expect("no message is defined twice");
        bundle
    })
}

/// Is `key` a message in `lang`?
pub fn has(lang: Lang, key: &str) -> bool {
    bundle(lang).has_message(key)
}

/// Every message key of a Fluent file, in order.
pub fn keys(source: &str) -> Vec<String> {
    let resource = FluentResource::try_new(source.to_owned()).unwrap_or_else(|(r, _)| r);
    resource
        .entries()
        .filter_map(|entry| match entry {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

/// The translations of one request's language.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tr {
    pub lang: Lang,
}

impl Tr {
    pub fn new(lang: Lang) -> Tr {
        Tr { lang }
    }

    /// The message `key` (the key itself, loudly, if it is missing: a test
    /// makes sure none is).
    pub fn msg(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The message `key` with its arguments.
    pub fn msg_args(&self, key: &str, args: &[(&str, &str)]) -> String {
        let mut fluent = FluentArgs::new();
        for (name, value) in args {
            fluent.set(*name, FluentValue::from(*value));
        }
        self.format(key, Some(&fluent))
    }

    /// The message `key`, if this language has it.
    pub fn maybe(&self, key: &str) -> Option<String> {
        has(self.lang, key).then(|| self.format(key, None))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs<'_>>) -> String {
        let bundle = bundle(self.lang);
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::error!(key, lang = self.lang.code(), "a console message is missing");
            return format!("[{key}]");
        };
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, args, &mut errors).into_owned();
        if !errors.is_empty() {
            tracing::error!(key, ?errors, "a console message did not format");
        }
        text
    }

    /// A moment of the cloud (milliseconds since the Unix epoch), in UTC,
    /// as this language writes dates.
    pub fn date(&self, at: domain::Timestamp) -> String {
        let Ok(t) = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.millis()) * 1_000_000)
        else {
            return at.millis().to_string();
        };
        match self.lang {
            Lang::En => format!(
                "{} {}, {} {:02}:{:02}:{:02} UTC",
                &MONTHS[usize::from(u8::from(t.month())) - 1],
                t.day(),
                t.year(),
                t.hour(),
                t.minute(),
                t.second()
            ),
            Lang::Ja => format!(
                "{}年{}月{}日 {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            ),
        }
    }

    /// A count, with digits grouped by thousands (as both languages do).
    pub fn number(&self, n: u64) -> String {
        let digits = n.to_string();
        let mut out = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        out
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_preferred_of_ours() {
        assert_eq!(Lang::from_accept_language("ja,en-US;q=0.9,en;q=0.8"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("en-GB,ja;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR,ja-JP;q=0.7,en;q=0.3"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("ja;q=0"), Lang::En);
    }

    #[test]
    fn dates_and_numbers_follow_the_language() {
        // 2026-11-25T10:00:05Z
        let at = domain::Timestamp(1_795_600_805_000);
        assert_eq!(Tr::new(Lang::En).date(at), "Nov 25, 2026 10:00:05 UTC");
        assert_eq!(Tr::new(Lang::Ja).date(at), "2026年11月25日 10:00:05 UTC");
        assert_eq!(Tr::new(Lang::En).number(10_000), "10,000");
        assert_eq!(Tr::new(Lang::Ja).number(999), "999");
        assert_eq!(Tr::new(Lang::Ja).number(1_234_567), "1,234,567");
    }

    #[test]
    fn messages_take_arguments_without_isolation_marks() {
        let text = Tr::new(Lang::En).msg_args("instance-launched", &[("ids", "i-1, i-25")]);
        assert!(text.contains("i-1, i-25") && !text.contains('\u{2068}'), "{text}");
        assert_eq!(Tr::new(Lang::Ja).msg("nope-no-such-key"), "[nope-no-such-key]");
    }
}
