//! The two registry macros: `commands!` assembles [`crate::Command`] from
//! the areas' commands, `events!` assembles [`crate::Event`] and
//! [`crate::Aggregate`] from the areas' events and states. They are invoked
//! once, in `registry.rs`; every `match` they write lists each variant, so
//! a command, an event or an aggregate that is registered is handled
//! everywhere, and one that is not cannot be written
//! (docs/adr/0011-domain-by-area.md).

/// `Verb(Payload) => decide_fn,` for every command. The variant's name is
/// the command's name (its EC2 verb). The payload says which streams the
/// decision starts from (`Payload::streams(&self)`); `decide_fn(&Payload,
/// &dyn StateView)` decides it, returning a [`crate::Decision`] or only its
/// events.
macro_rules! commands {
    ($($(#[$doc:meta])* $verb:ident($payload:ty) => $decide:path,)+) => {
        /// Every command the domain decides, one per verb.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Command {
            $($(#[$doc])* $verb($payload),)+
        }

        impl Command {
            /// Every command's name.
            pub const NAMES: &'static [&'static str] = &[$(stringify!($verb)),+];

            /// The verb, for logs and audit: the variant's name.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Command::$verb(_) => stringify!($verb),)+
                }
            }

            /// The streams the decision starts from. A decision that finds it
            /// needs more (a group named in an account, the zone of an
            /// instance …) says so with [`crate::DecideError::NeedStreams`]
            /// and is decided again with them; events go only to streams
            /// that were read.
            pub fn streams(&self) -> Vec<crate::StreamId> {
                match self {
                    $(Command::$verb(c) => c.streams(),)+
                }
            }

            pub(crate) fn decide(
                &self,
                view: &dyn crate::StateView,
            ) -> Result<crate::Decision, crate::DecideError> {
                match self {
                    $(Command::$verb(c) => $decide(c, view).map(crate::Decision::from),)+
                }
            }
        }
    };
}

/// Every event, by the state that folds it, with its schema version:
///
/// - `evolving`: `Variant(State) as Events: FirstEvent = n { Later = n, … }`,
///   a kind of stream whose `State` (an [`crate::aggregate::Evolve`]) is
///   made by its first event and changed by the later ones, which the
///   macro gathers into the borrowed enum `Events` that `State` matches;
/// - `once`: `Variant(State): FirstEvent = n`, a kind of stream that holds
///   one event of its own (a claim, a record);
/// - `tags`: the tag events, folded by whichever state keeps the tagged
///   resource's tags ([`crate::aggregate::State::tags_mut`]);
/// - `unfolded`: facts no state folds (audit records).
macro_rules! events {
    (
        evolving {
            $($(#[$adoc:meta])* $agg:ident($state:ty) as $events:ident: $new:ident = $nschema:literal {
                $($ev:ident = $schema:literal,)*
            })+
        }
        once {
            $($(#[$odoc:meta])* $once:ident($ostate:ty): $onew:ident = $oschema:literal,)+
        }
        tags as $tags:ident { $($tag:ident = $tschema:literal,)+ }
        unfolded { $($unf:ident = $uschema:literal,)+ }
    ) => {
        /// Every fact the domain records.
        #[derive(Clone, Debug, PartialEq)]
        pub enum Event {
            $($new($new), $($ev($ev),)*)+
            $($onew($onew),)+
            $($tag($tag),)+
            $($unf($unf),)+
        }

        $(impl From<$new> for Event {
            fn from(e: $new) -> Event {
                Event::$new(e)
            }
        }
        $(impl From<$ev> for Event {
            fn from(e: $ev) -> Event {
                Event::$ev(e)
            }
        })*)+
        $(impl From<$onew> for Event {
            fn from(e: $onew) -> Event {
                Event::$onew(e)
            }
        })+
        $(impl From<$tag> for Event {
            fn from(e: $tag) -> Event {
                Event::$tag(e)
            }
        })+
        $(impl From<$unf> for Event {
            fn from(e: $unf) -> Event {
                Event::$unf(e)
            }
        })+

        impl Event {
            /// Every (type name, current schema version) pair.
            pub const TYPES: &'static [(&'static str, u16)] = &[
                $((stringify!($new), $nschema), $((stringify!($ev), $schema),)*)+
                $((stringify!($onew), $oschema),)+
                $((stringify!($tag), $tschema),)+
                $((stringify!($unf), $uschema),)+
            ];

            /// The type name stored in the envelope.
            pub fn type_name(&self) -> &'static str {
                match self {
                    $(Event::$new(_) => stringify!($new), $(Event::$ev(_) => stringify!($ev),)*)+
                    $(Event::$onew(_) => stringify!($onew),)+
                    $(Event::$tag(_) => stringify!($tag),)+
                    $(Event::$unf(_) => stringify!($unf),)+
                }
            }

            /// The schema version this build writes.
            pub fn schema(&self) -> u16 {
                match self {
                    $(Event::$new(_) => $nschema, $(Event::$ev(_) => $schema,)*)+
                    $(Event::$onew(_) => $oschema,)+
                    $(Event::$tag(_) => $tschema,)+
                    $(Event::$unf(_) => $uschema,)+
                }
            }

            /// The payload bytes (postcard) of the event, without its type.
            /// The buffer starts at 256 bytes, more than most events take,
            /// so that it is not grown byte run by byte run.
            pub fn encode(&self) -> Vec<u8> {
                let out = Vec::with_capacity(256);
                let bytes = match self {
                    $(Event::$new(e) => postcard::to_extend(e, out), $(Event::$ev(e) => postcard::to_extend(e, out),)*)+
                    $(Event::$onew(e) => postcard::to_extend(e, out),)+
                    $(Event::$tag(e) => postcard::to_extend(e, out),)+
                    $(Event::$unf(e) => postcard::to_extend(e, out),)+
                };
                bytes.expect("encoding an in-memory event cannot fail")
            }

            /// Decodes a payload by its stored type name and schema version.
            /// Older schema versions are upcast (`crate::event::upcast`).
            pub fn decode(
                event_type: &str,
                schema: u16,
                bytes: &[u8],
            ) -> Result<Event, crate::event::CodecError> {
                let malformed = |source| crate::event::CodecError::Malformed {
                    event_type: event_type.to_owned(),
                    schema,
                    source,
                };
                if let Some(old) = crate::event::upcast(event_type, schema, bytes) {
                    return old.map_err(malformed);
                }
                fn read<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, postcard::Error> {
                    postcard::from_bytes(bytes)
                }
                match (event_type, schema) {
                    $(
                        (stringify!($new), $nschema) => read(bytes).map(Event::$new).map_err(malformed),
                        $((stringify!($ev), $schema) => read(bytes).map(Event::$ev).map_err(malformed),)*
                    )+
                    $((stringify!($onew), $oschema) => read(bytes).map(Event::$onew).map_err(malformed),)+
                    $((stringify!($tag), $tschema) => read(bytes).map(Event::$tag).map_err(malformed),)+
                    $((stringify!($unf), $uschema) => read(bytes).map(Event::$unf).map_err(malformed),)+
                    _ => Err(crate::event::CodecError::UnknownType { event_type: event_type.to_owned(), schema }),
                }
            }
        }

        $(
            /// The events that change this state after its first, as it folds them.
            #[derive(Clone, Copy, Debug, PartialEq)]
            pub enum $events<'a> {
                $($ev(&'a $ev),)*
            }

            impl<'a> $events<'a> {
                /// `event` as one of this state's later events, if it is one.
                pub fn of(event: &'a Event) -> Option<Self> {
                    match event {
                        $(Event::$ev(e) => Some($events::$ev(e)),)*
                        _ => None,
                    }
                }
            }
        )+

        /// A tag event, for the state that keeps the tagged resource's tags.
        #[derive(Clone, Copy, Debug, PartialEq)]
        pub enum $tags<'a> {
            $($tag(&'a $tag),)+
        }

        /// The folded state of one stream. `Empty` is a stream with no events.
        #[derive(Clone, Debug, Default, PartialEq)]
        pub enum Aggregate {
            #[default]
            Empty,
            $($(#[$adoc])* $agg($state),)+
            $($(#[$odoc])* $once($ostate),)+
        }

        impl Aggregate {
            /// Folds one event of this stream. Total: a stream's first event
            /// makes its state (a stream is made once), each later event
            /// goes to the state of its kind of stream, and an event that
            /// does not belong to this kind of stream leaves the state as
            /// it is (the domain never writes one, and evolve must not fail
            /// on replay).
            pub fn evolve(&mut self, event: &Event) {
                use crate::aggregate::{Evolve, State};
                match event {
                    $(
                        Event::$new(e) => {
                            if self.is_empty() {
                                *self = Aggregate::$agg(<$state as State>::created(e));
                            }
                        }
                        $(Event::$ev(e) => {
                            if let Aggregate::$agg(state) = self {
                                Evolve::apply(state, $events::$ev(e));
                            }
                        })*
                    )+
                    $(Event::$onew(e) => {
                        if self.is_empty() {
                            *self = Aggregate::$once(<$ostate as State>::created(e));
                        }
                    })+
                    $(Event::$tag(e) => self.tag($tags::$tag(e)),)+
                    $(Event::$unf(_) => {})+
                }
            }

            /// Folds a tag event into the state that keeps the resource's tags.
            fn tag(&mut self, event: $tags<'_>) {
                use crate::aggregate::State;
                let resource = event.resource();
                let tags = match self {
                    Aggregate::Empty => None,
                    $(Aggregate::$agg(state) => State::tags_mut(state, resource),)+
                    $(Aggregate::$once(state) => State::tags_mut(state, resource),)+
                };
                if let Some(tags) = tags {
                    tags.apply(event);
                }
            }

            pub fn is_empty(&self) -> bool {
                matches!(self, Aggregate::Empty)
            }
        }
    };
}
