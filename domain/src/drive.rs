//! The decide driver, written once: read the streams a command names,
//! decide, read the streams the decision asks for (`NeedStreams`) and
//! decide again, then turn the decision into appends that expect the
//! versions read, in the order decided (docs/adr/0011-domain-by-area.md).
//!
//! It is the pure part of the loop. The caller says where streams come
//! from (the log inside its writer, a cache, given events in a test) by
//! implementing [`Streams`], and stores the appends itself (a log
//! transaction, a test's list of records), retrying a conflict by driving
//! again. It knows no storage, no clock and no task.

use crate::aggregate::{Aggregate, StateView};
use crate::command::Command;
use crate::decide::{Decision, decide};
use crate::error::DecideError;
use crate::event::Event;
use crate::stream::StreamId;
use std::collections::{HashMap, HashSet};

/// How many times one decision may ask for more streams.
pub const MAX_ROUNDS: usize = 8;

/// A stream as a decision read it: its state and its version (how many
/// events it holds; 0 for a stream without any, which is empty).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Folded {
    pub version: u64,
    pub state: Aggregate,
}

impl Folded {
    /// Folds the stream's next event.
    pub fn evolve(&mut self, event: &Event) {
        self.state.evolve(event);
        self.version += 1;
    }
}

/// Where the driver reads streams from.
pub trait Streams {
    type Error;

    /// Reads `stream` if it is not read yet. A stream without events reads
    /// as empty, at version 0.
    fn load(&mut self, stream: &StreamId) -> Result<(), Self::Error>;

    /// A stream read.
    fn folded(&self, stream: &StreamId) -> Option<&Folded>;

    fn folded_mut(&mut self, stream: &StreamId) -> Option<&mut Folded>;
}

/// Every stream in the map; one not in it is empty (a new stream, or one
/// of a test that gave it no events).
impl<S: std::hash::BuildHasher> Streams for HashMap<StreamId, Folded, S> {
    type Error = std::convert::Infallible;

    fn load(&mut self, stream: &StreamId) -> Result<(), Self::Error> {
        if !self.contains_key(stream) {
            self.insert(stream.clone(), Folded::default());
        }
        Ok(())
    }

    fn folded(&self, stream: &StreamId) -> Option<&Folded> {
        self.get(stream)
    }

    fn folded_mut(&mut self, stream: &StreamId) -> Option<&mut Folded> {
        self.get_mut(stream)
    }
}

/// A decision that could not be driven to an end: the domain's mistake,
/// never the caller's.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum DecisionBug {
    #[error("{command} still needs streams {streams:?} after {MAX_ROUNDS} rounds")]
    TooManyRounds { command: &'static str, streams: Vec<StreamId> },
    #[error("{command} asked again for {stream}, which it had read")]
    AskedAgain { command: &'static str, stream: StreamId },
    #[error("{command} decided an event for {stream}, a stream it did not read")]
    Unread { command: &'static str, stream: StreamId },
}

#[derive(Debug, thiserror::Error)]
pub enum DriveError<E> {
    /// The domain refused the command.
    #[error(transparent)]
    Refused(DecideError),
    /// A stream could not be read.
    #[error(transparent)]
    Load(E),
    #[error(transparent)]
    Bug(DecisionBug),
}

/// A decision and the streams it read: its events go to those streams only.
#[derive(Clone, Debug, PartialEq)]
pub struct Driven {
    pub decision: Decision,
    pub read: Vec<StreamId>,
}

/// Consecutive events of one stream of a decision, to append expecting the
/// version the stream had before them.
#[derive(Clone, Debug, PartialEq)]
pub struct Append<'d> {
    pub stream: &'d StreamId,
    pub expected: u64,
    pub events: Vec<&'d Event>,
}

/// The streams a decision read, and only those: a decision cannot depend
/// on a stream it did not name or ask for.
struct Read<'s, S> {
    streams: &'s S,
    read: HashSet<&'s StreamId>,
}

impl<S: Streams> StateView for Read<'_, S> {
    fn get(&self, stream: &StreamId) -> Option<&Aggregate> {
        if !self.read.contains(stream) {
            return None;
        }
        self.streams.folded(stream).map(|f| &f.state)
    }
}

/// Decides `command` over the streams it names, reading more as the
/// decision asks, at most [`MAX_ROUNDS`] times.
pub fn drive<S: Streams>(command: &Command, streams: &mut S) -> Result<Driven, DriveError<S::Error>> {
    let mut read = command.streams();
    let mut rounds = 0;
    loop {
        for stream in &read {
            streams.load(stream).map_err(DriveError::Load)?;
        }
        let view = Read { streams: &*streams, read: read.iter().collect() };
        let more = match decide(command, &view) {
            Err(DecideError::NeedStreams(more)) => more,
            Err(refusal) => return Err(DriveError::Refused(refusal)),
            Ok(decision) => {
                let unread = decision.events.iter().find(|(stream, _)| !view.read.contains(stream));
                if let Some((stream, _)) = unread {
                    let stream = stream.clone();
                    return Err(DriveError::Bug(DecisionBug::Unread { command: command.name(), stream }));
                }
                drop(view);
                return Ok(Driven { decision, read });
            }
        };
        if let Some(stream) = more.iter().find(|s| view.read.contains(s)) {
            let stream = stream.clone();
            return Err(DriveError::Bug(DecisionBug::AskedAgain { command: command.name(), stream }));
        }
        drop(view);
        if rounds == MAX_ROUNDS {
            return Err(DriveError::Bug(DecisionBug::TooManyRounds {
                command: command.name(),
                streams: more,
            }));
        }
        rounds += 1;
        read.extend(more);
    }
}

impl Driven {
    /// The decision's events as appends, in the order decided: one per run
    /// of consecutive events of a stream (so the log keeps that order),
    /// each expecting the version its stream had before the run.
    pub fn appends<S: Streams>(&self, streams: &S) -> Vec<Append<'_>> {
        let mut versions: HashMap<&StreamId, u64> = HashMap::new();
        let mut appends: Vec<Append<'_>> = Vec::new();
        for (stream, event) in &self.decision.events {
            let version =
                versions.entry(stream).or_insert_with(|| streams.folded(stream).map_or(0, |f| f.version));
            match appends.last_mut() {
                Some(last) if last.stream == stream => last.events.push(event),
                _ => appends.push(Append { stream, expected: *version, events: vec![event] }),
            }
            *version += 1;
        }
        appends
    }

    /// Folds the decided events into the streams read, as the log holds
    /// them once the appends are stored.
    pub fn apply_to<S: Streams>(&self, streams: &mut S) {
        for (stream, event) in &self.decision.events {
            if let Some(folded) = streams.folded_mut(stream) {
                folded.evolve(event);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::samples::{admin, bootstrap, default_group, run};

    #[test]
    fn appends_follow_the_decided_order_and_expect_the_versions_read() {
        let mut streams: HashMap<StreamId, Folded> = HashMap::new();
        let boot = drive(&bootstrap(4), &mut streams).unwrap();
        boot.apply_to(&mut streams);
        let launch = drive(&run(admin(), 1, 1, 1, None), &mut streams).unwrap();
        assert!(launch.read.contains(&StreamId::security_group(&default_group(admin()))), "asked for");
        let appends = launch.appends(&streams);
        // Runs of one stream, in the decided order; a stream seen again
        // later gets a second append expecting the version after the first.
        let order: Vec<(&str, u64, usize)> =
            appends.iter().map(|a| (a.stream.as_str(), a.expected, a.events.len())).collect();
        let flat: Vec<&Event> = appends.iter().flat_map(|a| a.events.iter().copied()).collect();
        let decided: Vec<&Event> = launch.decision.events.iter().map(|(_, e)| e).collect();
        assert_eq!(flat, decided);
        // The instance's stream: requested and placed, then (after the
        // cluster's and the network's events) addressed.
        let instance = StreamId::instance(&crate::InstanceId::from_bits(1000));
        let runs: Vec<(u64, usize)> =
            appends.iter().filter(|a| a.stream == &instance).map(|a| (a.expected, a.events.len())).collect();
        assert_eq!(runs, [(0, 2), (2, 1)], "{order:?}");
        launch.apply_to(&mut streams);
        assert_eq!(streams[&instance].version, 3);
    }

    #[test]
    fn a_refusal_is_returned_as_such() {
        let mut streams: HashMap<StreamId, Folded> = HashMap::new();
        match drive(&run(admin(), 1, 1, 1, None), &mut streams) {
            Err(DriveError::Refused(DecideError::CloudNotInitialized)) => {}
            other => panic!("{other:?}"),
        }
    }
}
