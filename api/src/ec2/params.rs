//! Query parameters of an EC2 request: lookups, numbered lists
//! (`InstanceId.1`, `InstanceId.2` …) and filters
//! (`Filter.1.Name`, `Filter.1.Value.1` …), with EC2's errors.

use crate::ec2::error::{Code, Ec2Error};
use std::collections::BTreeMap;

/// Most parameters one request may have (CreateTags of 1,000 resources
/// with 50 tags needs 1,100).
pub const MAX_PARAMETERS: usize = 2_000;
/// Longest parameter name, in bytes.
pub const MAX_NAME_LENGTH: usize = 256;
/// Most entries of one numbered list in a request (`InstanceId.N`,
/// `ResourceId.N`, `Filter.N.Value.M` of all filters …): the ids one call
/// may name.
pub const MAX_LIST_ENTRIES: usize = 1_000;
/// Most filters one request may have, and values one filter may have
/// (EC2's limits).
pub const MAX_FILTERS: usize = 50;
pub const MAX_FILTER_VALUES: usize = 200;

/// The decoded parameters of one request (query string and form body).
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// One `Filter.N`: a name and the values any of which may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// `true` or `false`, in any case, as EC2 takes them. A refusal quotes
/// the value as it was sent, not as it was compared.
pub(crate) fn boolean(value: &str) -> Option<bool> {
    if value.eq_ignore_ascii_case("true") {
        Some(true)
    } else if value.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

impl Params {
    pub fn from_pairs(pairs: impl IntoIterator<Item = (String, String)>) -> Params {
        Params { map: pairs.into_iter().collect() }
    }

    /// The parameters of a request as it came, refused when it is
    /// ambiguous (a name given twice: which one would count?) or when a
    /// name or value holds a character an XML answer could not carry (a
    /// control character other than tab, line feed and carriage return),
    /// which EC2 refuses too.
    ///
    /// Limits: at most [`MAX_PARAMETERS`] parameters, names at most
    /// [`MAX_NAME_LENGTH`] bytes, each numbered list at most
    /// [`MAX_LIST_ENTRIES`] entries (values are bounded by the body limit).
    pub fn from_request(pairs: Vec<(String, String)>) -> Result<Params, Ec2Error> {
        if pairs.len() > MAX_PARAMETERS {
            return Err(Ec2Error::invalid(format!(
                "The request has {} parameters; at most {MAX_PARAMETERS} are accepted.",
                pairs.len()
            )));
        }
        let mut map = BTreeMap::new();
        let mut lists: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for (name, value) in pairs {
            if name.len() > MAX_NAME_LENGTH {
                return Err(Ec2Error::invalid(format!(
                    "A parameter name is longer than {MAX_NAME_LENGTH} bytes."
                )));
            }
            if let Some(c) = name.chars().chain(value.chars()).find(|&c| !crate::ec2::xml::xml_char(c)) {
                let shown: String = name.chars().filter(|&c| crate::ec2::xml::xml_char(c)).collect();
                let what =
                    if shown == name { format!("parameter {name}") } else { "a parameter name".into() };
                return Err(Ec2Error::invalid(format!(
                    "Value for {what} is invalid: it contains the control character U+{:04X}.",
                    u32::from(c)
                )));
            }
            if map.contains_key(&name) {
                return Err(Ec2Error::invalid(format!(
                    "The parameter {name} is given more than once; the request is ambiguous."
                )));
            }
            if let Some(shape) = list_shape(&name) {
                let count = lists.entry(shape).or_default();
                *count += 1;
                if *count > MAX_LIST_ENTRIES {
                    let shape = list_shape(&name).unwrap_or_default();
                    return Err(Ec2Error::invalid(format!(
                        "The request has more than {MAX_LIST_ENTRIES} values for {shape}."
                    )));
                }
            }
            map.insert(name, value);
        }
        Ok(Params { map })
    }

    /// Every (name, value), by name.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    pub fn required(&self, name: &str) -> Result<&str, Ec2Error> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Ec2Error::missing(name)),
        }
    }

    /// An integer parameter, if given.
    pub fn int(&self, name: &str) -> Result<Option<i64>, Ec2Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                Ec2Error::invalid(format!(
                    "Value ({v}) for parameter {name} is invalid. Expected an integer."
                ))
            }),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, Ec2Error> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => boolean(v).map(Some).ok_or_else(|| {
                Ec2Error::invalid(format!("Value ({v}) for parameter {name} is invalid. Expected a boolean."))
            }),
        }
    }

    /// `prefix.1`, `prefix.2` … in numeric order (gaps allowed).
    pub fn list(&self, prefix: &str) -> Vec<&str> {
        let mut items: Vec<(u64, &str)> = self
            .map
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(prefix)?.strip_prefix('.')?;
                n.parse::<u64>().ok().map(|n| (n, v.as_str()))
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items.into_iter().map(|(_, v)| v).collect()
    }

    /// `prefix.N.field` for every N, in numeric order, as (N, value).
    pub fn list_fields(&self, prefix: &str, field: &str) -> Vec<(u64, String)> {
        let mut items: Vec<(u64, String)> = self
            .map
            .iter()
            .filter_map(|(k, v)| {
                let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
                let (n, f) = rest.split_once('.')?;
                (f == field).then(|| n.parse::<u64>().ok().map(|n| (n, v.clone())))?
            })
            .collect();
        items.sort_by_key(|(n, _)| *n);
        items
    }

    /// `Filter.N.Name` / `Filter.N.Value.M`.
    pub fn filters(&self) -> Result<Vec<Filter>, Ec2Error> {
        let mut by_index: BTreeMap<u64, (Option<String>, BTreeMap<u64, String>)> = BTreeMap::new();
        for (k, v) in &self.map {
            let Some(rest) = k.strip_prefix("Filter.") else {
                continue;
            };
            let mut parts = rest.splitn(3, '.');
            let index = parts.next().and_then(|n| n.parse::<u64>().ok());
            let (Some(index), Some(field)) = (index, parts.next()) else {
                continue;
            };
            let entry = by_index.entry(index).or_default();
            match (field, parts.next()) {
                ("Name", None) => entry.0 = Some(v.clone()),
                ("Value", Some(m)) => {
                    if let Ok(m) = m.parse::<u64>() {
                        entry.1.insert(m, v.clone());
                    }
                }
                _ => {}
            }
        }
        if by_index.len() > MAX_FILTERS {
            return Err(Ec2Error::new(
                Code::FilterLimitExceeded,
                format!("The request has {} filters; at most {MAX_FILTERS} are accepted.", by_index.len()),
            ));
        }
        if let Some((_, values)) = by_index.values().find(|(_, values)| values.len() > MAX_FILTER_VALUES) {
            return Err(Ec2Error::new(
                Code::FilterLimitExceeded,
                format!("A filter has {} values; at most {MAX_FILTER_VALUES} are accepted.", values.len()),
            ));
        }
        by_index
            .into_values()
            .map(|(name, values)| match name {
                Some(name) => Ok(Filter { name, values: values.into_values().collect() }),
                None => Err(Ec2Error::missing("Filter.N.Name")),
            })
            .collect()
    }
}

/// The list a numbered parameter belongs to, its numbers written `N`
/// (`Filter.3.Value.7` → `Filter.N.Value.N`); `None` for a plain name.
fn list_shape(name: &str) -> Option<String> {
    let mut numbered = false;
    let parts: Vec<&str> = name
        .split('.')
        .map(|part| {
            if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
                numbered = true;
                "N"
            } else {
                part
            }
        })
        .collect();
    numbered.then(|| parts.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())))
    }

    #[test]
    fn booleans_are_taken_in_any_case_and_refused_as_sent() {
        let params = p(&[("A", "TRUE"), ("B", "False"), ("C", "YeS"), ("D", "")]);
        assert_eq!(params.bool("A").unwrap(), Some(true));
        assert_eq!(params.bool("B").unwrap(), Some(false));
        assert_eq!(params.bool("Missing").unwrap(), None);
        // The refusal quotes the value the client sent (found by the
        // `query` fuzz target: it quoted the value lowercased).
        let e = params.bool("C").unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        assert!(e.message.contains("Value (YeS) for parameter C"), "{}", e.message);
        assert!(params.bool("D").is_err());
    }

    #[test]
    fn numbered_lists_come_in_numeric_order() {
        let params =
            p(&[("InstanceId.10", "c"), ("InstanceId.2", "b"), ("InstanceId.1", "a"), ("InstanceIdX", "no")]);
        assert_eq!(params.list("InstanceId"), vec!["a", "b", "c"]);
        assert!(params.list("Other").is_empty());
    }

    #[test]
    fn filters_group_names_and_values() {
        let params = p(&[
            ("Filter.1.Name", "instance-state-name"),
            ("Filter.1.Value.2", "stopped"),
            ("Filter.1.Value.1", "running"),
            ("Filter.2.Name", "instance-type"),
            ("Filter.2.Value.1", "m1.small"),
        ]);
        assert_eq!(
            params.filters().unwrap(),
            vec![
                Filter {
                    name: "instance-state-name".into(),
                    values: vec!["running".into(), "stopped".into()]
                },
                Filter { name: "instance-type".into(), values: vec!["m1.small".into()] },
            ]
        );
        assert_eq!(p(&[("Filter.1.Value.1", "x")]).filters().unwrap_err().code, "MissingParameter");
    }

    fn request(pairs: &[(&str, &str)]) -> Result<Params, Ec2Error> {
        Params::from_request(pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect())
    }

    #[test]
    fn a_repeated_parameter_is_refused_not_overwritten() {
        let e = request(&[
            ("Action", "DescribeInstances"),
            ("Action", "TerminateInstances"),
            ("InstanceId.1", "i-0123456789abcdef0"),
        ])
        .unwrap_err();
        assert_eq!(e.code, "InvalidParameterValue");
        assert!(e.message.contains("Action"), "{}", e.message);
        // The same value twice is just as ambiguous a request.
        assert!(request(&[("InstanceId.1", "i-1"), ("InstanceId.1", "i-1")]).is_err());
        let ok = request(&[("Action", "DescribeInstances"), ("InstanceId.1", "i-1")]).unwrap();
        assert_eq!(ok.get("Action"), Some("DescribeInstances"));
    }

    #[test]
    fn control_characters_in_names_and_values_are_refused() {
        for (name, value) in
            [("Tag.1.Value", "a\u{1}b"), ("KeyName", "k\u{1}"), ("X\u{7}", "v"), ("N", "\u{fffe}")]
        {
            let e = request(&[(name, value)]).unwrap_err();
            assert_eq!(e.code, "InvalidParameterValue");
            assert!(e.message.chars().all(crate::ec2::xml::xml_char), "{:?}", e.message);
        }
        let ok = request(&[("Description", "tab\tand\nnew line"), ("Tag.1.Value", "日本語 ✓")]).unwrap();
        assert_eq!(ok.get("Tag.1.Value"), Some("日本語 ✓"));
    }

    #[test]
    fn numbers_and_required_values_are_checked() {
        let params = p(&[("MinCount", "2"), ("MaxCount", "two"), ("Empty", "")]);
        assert_eq!(params.int("MinCount").unwrap(), Some(2));
        assert_eq!(params.int("MaxCount").unwrap_err().code, "InvalidParameterValue");
        assert_eq!(params.required("Empty").unwrap_err().code, "MissingParameter");
        assert_eq!(params.int("None").unwrap(), None);
    }
}
