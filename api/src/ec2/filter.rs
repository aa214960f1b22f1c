//! EC2 filter matching: `*` matches any run of characters, `?` any one;
//! values of one filter are ORed, filters are ANDed.

use crate::ec2::error::Ec2Error;
use crate::ec2::params::Filter;
use std::collections::BTreeSet;

/// Does `text` match the EC2 wildcard `pattern`? (`\*`, `\?` and `\\` are
/// literal.)
pub fn wildcard(pattern: &str, text: &str) -> bool {
    if !pattern.contains(['*', '?', '\\']) {
        return pattern == text;
    }
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Tokens: Some(c) literal, None for '*', Some('\0'-free) handled below.
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Lit(char),
        Any,
        One,
    }
    let mut toks = Vec::with_capacity(p.len());
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' if i + 1 < p.len() => {
                toks.push(Tok::Lit(p[i + 1]));
                i += 1;
            }
            '*' => toks.push(Tok::Any),
            '?' => toks.push(Tok::One),
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    // Iterative matching with backtracking to the last '*'.
    let (mut ti, mut pi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match toks.get(pi) {
            Some(Tok::Lit(c)) if *c == t[ti] => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::One) => {
                ti += 1;
                pi += 1;
            }
            Some(Tok::Any) => {
                star = Some((pi, ti));
                pi += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    toks[pi..].iter().all(|t| *t == Tok::Any)
}

/// A filter's values against the values a resource has for it.
pub fn any_matches(filter: &Filter, have: &[&str]) -> bool {
    filter.values.iter().any(|pattern| have.iter().any(|h| wildcard(pattern, h)))
}

/// Checks every filter name against those a Describe* call knows (tag
/// filters are known to all).
pub fn check_names(filters: &[Filter], known: &[&str]) -> Result<(), Ec2Error> {
    for f in filters {
        let tag = f.name.starts_with("tag:") || f.name == "tag-key" || f.name == "tag-value";
        if !tag && !known.contains(&f.name.as_str()) {
            return Err(Ec2Error::invalid(format!("The filter '{}' is invalid", f.name)));
        }
    }
    Ok(())
}

/// `Some(matches)` when `filter` is a tag filter (`tag:Key`, `tag-key`,
/// `tag-value`) for a resource with these tags; `None` for other filters.
pub fn tag_filter<'a>(filter: &Filter, tags: impl Iterator<Item = (&'a String, &'a String)>) -> Option<bool> {
    if let Some(key) = filter.name.strip_prefix("tag:") {
        let mut tags = tags;
        return Some(tags.any(|(k, v)| k == key && filter.values.iter().any(|p| wildcard(p, v))));
    }
    let mut tags = tags;
    match filter.name.as_str() {
        "tag-key" => Some(tags.any(|(k, _)| filter.values.iter().any(|p| wildcard(p, k)))),
        "tag-value" => Some(tags.any(|(_, v)| filter.values.iter().any(|p| wildcard(p, v)))),
        _ => None,
    }
}

/// A pattern without wildcards or escapes: it matches only itself.
fn literal(pattern: &str) -> bool {
    !pattern.contains(['*', '?', '\\'])
}

/// The resources that can pass the tag filters among `filters`, from the
/// tag index: those of the most selective `tag:Key`, `tag-key` or
/// `tag-value` filter, in id order. `None` when no filter can be answered
/// from the index (the caller then looks at every resource). The other
/// filters still have to be checked on each.
pub fn tagged<'a>(filters: &[Filter], tags: &'a projections::TagsView) -> Option<BTreeSet<&'a str>> {
    let candidates = filters.iter().filter_map(|f| {
        let mut found = BTreeSet::new();
        if let Some(key) = f.name.strip_prefix("tag:") {
            for (value, resources) in tags.values_of(key) {
                if f.values.iter().any(|p| wildcard(p, value)) {
                    found.extend(resources.iter().map(String::as_str));
                }
            }
        } else if f.name == "tag-key" {
            for (key, values) in tags.keys() {
                if f.values.iter().any(|p| wildcard(p, key)) {
                    found.extend(values.values().flatten().map(String::as_str));
                }
            }
        } else if f.name == "tag-value" {
            // A plain value is looked up; a pattern is matched against the
            // values in use (not against every resource).
            if f.values.iter().all(|p| literal(p)) {
                for value in &f.values {
                    found.extend(tags.with_value(value).map(String::as_str));
                }
            } else {
                for (value, keys) in tags.values() {
                    if f.values.iter().any(|p| wildcard(p, value)) {
                        found.extend(keys.values().flatten().map(String::as_str));
                    }
                }
            }
        } else {
            return None;
        }
        Some(found)
    });
    candidates.min_by_key(BTreeSet::len)
}

/// Every filter holds for a resource: tag filters against its tags, the
/// others through `values` (the values the resource has for a filter name).
pub fn all_match<'v>(
    filters: &[Filter],
    tags: &projections::TagsView,
    resource: &str,
    mut values: impl FnMut(&str) -> Vec<std::borrow::Cow<'v, str>>,
) -> bool {
    filters.iter().all(|f| match tag_filter(f, tags.of(resource)) {
        Some(result) => result,
        None => {
            let have = values(&f.name);
            let have: Vec<&str> = have.iter().map(|v| v.as_ref()).collect();
            any_matches(f, &have)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn wildcards_match_like_ec2() {
        assert!(wildcard("running", "running"));
        assert!(!wildcard("running", "runnin"));
        assert!(wildcard("run*", "running"));
        assert!(wildcard("*ing", "running"));
        assert!(wildcard("r*n*g", "running"));
        assert!(wildcard("m1.?mall", "m1.small"));
        assert!(!wildcard("m1.?mall", "m1.smal"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("?", ""));
        assert!(wildcard("a\\*b", "a*b"));
        assert!(!wildcard("a\\*b", "axb"));
    }

    #[test]
    fn tag_filters_match_keys_values_and_pairs() {
        let tags: Vec<(String, String)> =
            vec![("Name".into(), "web-1".into()), ("env".into(), "prod".into())];
        let it = || tags.iter().map(|(k, v)| (k, v));
        let f = |name: &str, values: &[&str]| Filter {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        };
        assert_eq!(tag_filter(&f("tag:Name", &["web-*"]), it()), Some(true));
        assert_eq!(tag_filter(&f("tag:Name", &["db"]), it()), Some(false));
        assert_eq!(tag_filter(&f("tag:env", &["web-1"]), it()), Some(false));
        assert_eq!(tag_filter(&f("tag-key", &["env"]), it()), Some(true));
        assert_eq!(tag_filter(&f("tag-value", &["prod", "x"]), it()), Some(true));
        assert_eq!(tag_filter(&f("instance-id", &["i-1"]), it()), None);
    }

    /// A tag view of `resources` (id, tags), its indexes rebuilt as a
    /// snapshot's are.
    fn view(resources: &[(String, Vec<(String, String)>)]) -> projections::TagsView {
        let mut by_resource = std::collections::BTreeMap::new();
        for (id, tags) in resources {
            let tags = domain::aggregates::tags::Tags(tags.iter().cloned().collect());
            if !tags.0.is_empty() {
                by_resource.insert(id.clone(), tags);
            }
        }
        serde_json::from_value(serde_json::json!({ "by_resource": by_resource })).unwrap()
    }

    proptest! {
        /// The index answers `tag-value` (plain values and patterns) with
        /// exactly the resources the filter itself passes.
        #[test]
        fn tag_value_filters_from_the_index_agree_with_each_resources_tags(
            resources in proptest::collection::vec(
                proptest::collection::vec(("[ab]{1,2}", "[xyz*]{0,2}"), 0..4), 0..12),
            patterns in proptest::collection::vec("[xyz*?]{0,2}", 1..3),
        ) {
            let resources: Vec<(String, Vec<(String, String)>)> =
                resources.into_iter().enumerate().map(|(i, tags)| (format!("i-{i:02}"), tags)).collect();
            let tags = view(&resources);
            let filter = Filter { name: "tag-value".into(), values: patterns };
            let from_index = tagged(std::slice::from_ref(&filter), &tags).expect("answered from the index");
            let by_scan: BTreeSet<&str> = resources
                .iter()
                .filter(|(id, _)| tag_filter(&filter, tags.of(id)) == Some(true))
                .map(|(id, _)| id.as_str())
                .collect();
            prop_assert_eq!(from_index, by_scan);
        }

        #[test]
        fn a_literal_pattern_matches_only_itself(a in "[a-z0-9.-]{0,12}", b in "[a-z0-9.-]{0,12}") {
            prop_assert_eq!(wildcard(&a, &b), a == b);
            let (pattern, text) = (format!("*{a}*"), format!("xx{a}yy"));
            prop_assert!(wildcard(&pattern, &text));
        }
    }
}
