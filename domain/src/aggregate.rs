//! The state of one stream, folded from its events ([`Aggregate`], made by
//! the registry from the areas' states), what every area's state promises
//! ([`State`], [`Evolve`]), and the read-only view of several streams that
//! a decision works on ([`StateView`]). Each area adds to that view the
//! accessor of its own state (`view.instance(id)` …).

use crate::error::DecideError;
use crate::stream::StreamId;
use crate::tags::Tags;

pub use crate::registry::{Aggregate, TagEvent};

/// The state of one kind of stream, made by the stream's first event
/// (which the registry names; it must be `Created`).
pub trait State: Sized {
    type Created;

    fn created(event: &Self::Created) -> Self;

    /// The tags of `resource` if this state keeps them (a taggable
    /// resource's own, an account's key pairs'); `None` for a state that
    /// keeps no tags.
    fn tags_mut(&mut self, resource: &str) -> Option<&mut Tags>;
}

/// A state that later events of its stream change. `Event` is the enum
/// the registry gathers them in, so that `apply` matches every one.
pub trait Evolve: State {
    type Event<'a>;

    /// Records what was decided; decides nothing.
    fn apply(&mut self, event: Self::Event<'_>);
}

impl<T: State> State for Box<T> {
    type Created = T::Created;

    fn created(event: &Self::Created) -> Self {
        Box::new(T::created(event))
    }

    fn tags_mut(&mut self, resource: &str) -> Option<&mut Tags> {
        (**self).tags_mut(resource)
    }
}

impl<T: Evolve> Evolve for Box<T> {
    type Event<'a> = T::Event<'a>;

    fn apply(&mut self, event: Self::Event<'_>) {
        (**self).apply(event)
    }
}

/// Read access to the current state of the streams a command named (or
/// its decision asked for).
pub trait StateView {
    /// The state of a stream; `None` for a stream the command did not name.
    fn get(&self, stream: &StreamId) -> Option<&Aggregate>;
}

impl<S: std::hash::BuildHasher> StateView for std::collections::HashMap<StreamId, Aggregate, S> {
    fn get(&self, stream: &StreamId) -> Option<&Aggregate> {
        std::collections::HashMap::get(self, stream)
    }
}

/// Asks for the streams the view does not have yet; `Ok` when it has all.
pub(crate) fn need(
    view: &dyn StateView,
    streams: impl IntoIterator<Item = StreamId>,
) -> Result<(), DecideError> {
    let mut missing: Vec<StreamId> = streams.into_iter().filter(|s| view.get(s).is_none()).collect();
    missing.dedup();
    if missing.is_empty() { Ok(()) } else { Err(DecideError::NeedStreams(missing)) }
}
