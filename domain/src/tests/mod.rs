//! Given events / when command / then events or error.

mod addresses;
mod attempts;
mod bootstrap;
mod codec;
mod groups_and_keys;
mod instances;
mod lifecycle;
mod login_profiles;
mod nodes;
pub(crate) mod samples;
mod tags;

use crate::*;
use std::collections::HashMap;

/// The streams a command sees, folded from the given events.
pub(crate) struct Given {
    pub streams: HashMap<StreamId, Aggregate>,
}

pub(crate) fn given(events: &[(StreamId, Event)]) -> Given {
    let mut streams: HashMap<StreamId, Aggregate> = HashMap::new();
    for (stream, event) in events {
        streams.entry(stream.clone()).or_default().evolve(event);
    }
    Given { streams }
}

impl Given {
    /// Decides `command` over the streams it names, adding the ones the
    /// decision asks for, as the decide loop does (absent ones are empty).
    pub fn when(&self, command: &Command) -> Result<Decision, DecideError> {
        let mut named = command.streams();
        for _ in 0..8 {
            let view: HashMap<StreamId, Aggregate> =
                named.iter().map(|s| (s.clone(), self.streams.get(s).cloned().unwrap_or_default())).collect();
            match decide(command, &view) {
                Err(DecideError::NeedStreams(more)) => {
                    assert!(more.iter().all(|m| !named.contains(m)), "asked again for {more:?}");
                    named.extend(more);
                }
                Err(e) => return Err(e),
                Ok(decision) => {
                    for (stream, _) in &decision.events {
                        assert!(named.contains(stream), "event for unread stream {stream}");
                    }
                    return Ok(decision);
                }
            }
        }
        panic!("{} kept asking for streams", command.name());
    }

    /// Decides and folds the events in, as the log would.
    pub fn then_apply(&mut self, command: &Command) -> Result<Decision, DecideError> {
        let decision = self.when(command)?;
        for (stream, event) in &decision.events {
            self.streams.entry(stream.clone()).or_default().evolve(event);
        }
        Ok(decision)
    }
}

pub(crate) fn event_types(decision: &Decision) -> Vec<&'static str> {
    decision.events.iter().map(|(_, e)| e.type_name()).collect()
}
