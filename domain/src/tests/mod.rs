//! Given events / when command / then events or error.

mod bootstrap;
mod codec;
mod instances;
pub(crate) mod samples;

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
    /// Decides `command` over the streams it names (absent ones are empty).
    pub fn when(&self, command: &Command) -> Result<Decision, DecideError> {
        let mut view: HashMap<StreamId, Aggregate> = HashMap::new();
        for s in command.streams() {
            view.insert(s.clone(), self.streams.get(&s).cloned().unwrap_or_default());
        }
        let decision = decide(command, &view)?;
        let named = command.streams();
        for (stream, _) in &decision.events {
            assert!(named.contains(stream), "event for unnamed stream {stream}");
        }
        Ok(decision)
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
