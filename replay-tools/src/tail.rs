//! `yukari replay tail`: records as readable lines, with filters.

use crate::time;
use domain::Event;
use eventlog::EnvelopeRef;

/// Which records to show; every field set must match.
#[derive(Clone, Debug, Default)]
pub struct TailFilter {
    /// The stream id starts with this (`instance/`, `instance/i-…`, `cluster`).
    pub stream: Option<String>,
    /// Account id.
    pub account: Option<String>,
    /// Action, any case.
    pub action: Option<String>,
    /// Event type, any case.
    pub event_type: Option<String>,
}

impl TailFilter {
    pub fn matches(&self, e: &EnvelopeRef<'_>) -> bool {
        self.stream.as_deref().is_none_or(|s| e.stream.starts_with(s))
            && self.account.as_deref().is_none_or(|a| e.account == a)
            && self.action.as_deref().is_none_or(|a| e.action.eq_ignore_ascii_case(a))
            && self.event_type.as_deref().is_none_or(|t| e.event_type.eq_ignore_ascii_case(t))
    }
}

/// One line: time, position, stream@version, event, who and what, and the
/// decoded event (shortened).
pub fn line(e: &EnvelopeRef<'_>) -> String {
    let body = match Event::decode(e.event_type, e.schema, e.payload) {
        Ok(event) => {
            let text = format!("{event:?}");
            // `Name(Name { … })` → `{ … }`
            let inner = text
                .strip_prefix(e.event_type)
                .and_then(|t| t.strip_prefix('('))
                .and_then(|t| t.strip_suffix(')'))
                .and_then(|t| t.strip_prefix(e.event_type))
                .map(str::trim)
                .unwrap_or(&text);
            clip(inner, 200)
        }
        Err(err) => format!("<{err}>"),
    };
    let who = if e.user.is_empty() { e.account.to_owned() } else { format!("{}/{}", e.account, e.user) };
    format!(
        "{} #{} {}@{} {} {}  [{} by {} from {} req {}]",
        time::format(e.recorded_at),
        e.position,
        e.stream,
        e.version,
        e.event_type,
        body,
        if e.action.is_empty() { "-" } else { e.action },
        who,
        if e.source.is_empty() { "-" } else { e.source },
        if e.request_id.is_empty() { "-" } else { e.request_id },
    )
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::event::InstanceRunning;
    use domain::{InstanceId, NodeId, Timestamp};

    #[test]
    fn lines_are_readable_and_filters_match() {
        let mut records = crate::testing::Envelopes::default();
        let id = InstanceId::from_bits(1);
        let running = InstanceRunning { node: NodeId::from_bits(2), at: Timestamp(5) };
        records.push(&format!("instance/{id}"), 1_795_600_800_000_000, running.into());
        let mut record = records.records.remove(0);
        record.metadata.action = "ReportInstanceRunning".into();
        record.metadata.account = "000000000000".into();
        let e = record.as_envelope();
        assert_eq!(
            line(&e),
            format!(
                "2026-11-25T10:00:00.000000Z #1 instance/{id}@1 InstanceRunning {{ node: NodeId(\"nc-00000000000000002\"), at: Timestamp(5) }}  \
                 [ReportInstanceRunning by 000000000000 from - req req-1]"
            )
        );
        let only = |f: TailFilter| f.matches(&e);
        assert!(only(TailFilter { stream: Some("instance/".into()), ..TailFilter::default() }));
        assert!(!only(TailFilter { stream: Some("cluster/".into()), ..TailFilter::default() }));
        assert!(only(TailFilter { event_type: Some("instancerunning".into()), ..TailFilter::default() }));
        assert!(!only(TailFilter { action: Some("RunInstances".into()), ..TailFilter::default() }));
        assert!(only(TailFilter { account: Some("000000000000".into()), ..TailFilter::default() }));
    }
}
