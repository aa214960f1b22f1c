//! Given events / when command / then events or error.

mod accounts;
mod addresses;
mod attempts;
mod block_devices;
mod buckets;
mod cloud;
mod clusters;
mod codec;
mod ebs_images;
mod images;
mod instances;
mod lifecycle;
mod login_profiles;
mod registry;
pub(crate) mod samples;
mod security_groups;
mod tags;
mod volumes;

use crate::*;
use std::collections::HashMap;

/// The streams given, folded; a command decides over them through the
/// decide driver, as the controller does.
pub(crate) struct Given {
    pub streams: HashMap<StreamId, Folded>,
}

pub(crate) fn given(events: &[(StreamId, Event)]) -> Given {
    let mut g = Given { streams: HashMap::new() };
    g.and(events);
    g
}

/// What a decision reads of the given streams: a copy of each, made when
/// the decision names it (a stream not given is empty).
struct Reading<'g> {
    given: &'g HashMap<StreamId, Folded>,
    read: HashMap<StreamId, Folded>,
}

impl Streams for Reading<'_> {
    type Error = std::convert::Infallible;

    fn load(&mut self, stream: &StreamId) -> Result<(), Self::Error> {
        if !self.read.contains_key(stream) {
            self.read.insert(stream.clone(), self.given.get(stream).cloned().unwrap_or_default());
        }
        Ok(())
    }

    fn folded(&self, stream: &StreamId) -> Option<&Folded> {
        self.read.get(stream)
    }

    fn folded_mut(&mut self, stream: &StreamId) -> Option<&mut Folded> {
        self.read.get_mut(stream)
    }
}

impl Given {
    /// More given events, folded as the log would.
    pub fn and(&mut self, events: &[(StreamId, Event)]) {
        for (stream, event) in events {
            self.streams.entry(stream.clone()).or_default().evolve(event);
        }
    }

    /// Decides `command` over the streams it names and the ones the
    /// decision asks for; a decision that asks again for a stream it read,
    /// keeps asking, or decides for a stream it did not read fails the test.
    pub fn when(&self, command: &Command) -> Result<Decision, DecideError> {
        self.driven(command).map(|(driven, _)| driven.decision)
    }

    fn driven(&self, command: &Command) -> Result<(Driven, Reading<'_>), DecideError> {
        let mut reading = Reading { given: &self.streams, read: HashMap::new() };
        match drive(command, &mut reading) {
            Ok(driven) => Ok((driven, reading)),
            Err(drive::DriveError::Refused(refusal)) => Err(refusal),
            Err(drive::DriveError::Bug(bug)) => panic!("{bug}"),
            Err(drive::DriveError::Load(never)) => match never {},
        }
    }

    /// The state of a stream given or decided so far.
    pub fn state(&self, stream: &StreamId) -> Option<&Aggregate> {
        self.streams.get(stream).map(|f| &f.state)
    }

    /// To set up a state no sequence of commands reaches.
    pub fn state_mut(&mut self, stream: &StreamId) -> Option<&mut Aggregate> {
        self.streams.get_mut(stream).map(|f| &mut f.state)
    }

    /// Decides and folds the events in, as the log would.
    pub fn then_apply(&mut self, command: &Command) -> Result<Decision, DecideError> {
        let (driven, mut reading) = self.driven(command)?;
        driven.apply_to(&mut reading);
        let read = reading.read;
        self.streams.extend(read);
        Ok(driven.decision)
    }
}

pub(crate) fn event_types(decision: &Decision) -> Vec<&'static str> {
    decision.events.iter().map(|(_, e)| e.type_name()).collect()
}
