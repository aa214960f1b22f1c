//! Folding on two threads: one reads the log, the other folds its events
//! into the read models, in the same order and with the same result as
//! [`ReadModels::apply`] one record at a time. Decoding the events is
//! shared between the two: the reading side decodes the first part of
//! each batch and hands the rest over as read, and the share moves
//! towards whichever side waits for the other (issue 14, target 2). A
//! replay spends about as long reading as decoding, and about as long
//! decoding as folding, so on a machine with two cores this keeps both
//! busy instead of leaving the folding side waiting for the reading one.

use crate::error::ProjectionError;
use crate::models::ReadModels;
use domain::event::{CodecError, Event};
use eventlog::EnvelopeRef;
use std::ops::ControlFlow;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, TryRecvError, TrySendError};

/// Records handed over at a time: large enough that the hand-over costs
/// nothing per record, small enough that the folding thread starts at once.
const BATCH: usize = 1024;

/// Batches in flight between the two threads.
const IN_FLIGHT: usize = 8;

/// One record read, in a [`Batch`]. Its texts and payload are kept end to
/// end in the batch: each starts where the one before it ends.
struct Entry {
    position: u64,
    recorded_at: i64,
    schema: u16,
    /// Where its stream's name ends in [`Batch::text`].
    stream_end: usize,
    /// Where its event type ends in [`Batch::text`], after its stream's
    /// name (right there, empty, when the reading side decoded it).
    type_end: usize,
    /// Where its payload ends in [`Batch::payloads`] (where the one before
    /// it ends, when the reading side decoded it).
    payload_end: usize,
}

/// Consecutive records read: the first `decoded.len()` of them decoded by
/// the reading side, the others left for the folding side to decode.
#[derive(Default)]
struct Batch {
    text: String,
    payloads: Vec<u8>,
    entries: Vec<Entry>,
    decoded: Vec<Result<Event, CodecError>>,
}

impl Batch {
    fn clear(&mut self) {
        self.text.clear();
        self.payloads.clear();
        self.entries.clear();
        self.decoded.clear();
    }
}

/// Why [`fold_decoding_aside`] stopped early.
#[derive(Debug)]
pub enum FoldFailed<E> {
    /// Reading the log failed (every record before the failure was folded).
    Read(E),
    /// A record could not be folded (every record before it was).
    Fold(ProjectionError),
}

impl<E> From<FoldFailed<E>> for ProjectionError
where
    ProjectionError: From<E>,
{
    fn from(failed: FoldFailed<E>) -> Self {
        match failed {
            FoldFailed::Read(e) => e.into(),
            FoldFailed::Fold(e) => e,
        }
    }
}

/// A visitor of the log's records, as [`eventlog::EventLog::scan`] takes.
pub type Visitor<'a> = &'a mut (dyn FnMut(&EnvelopeRef<'_>) -> ControlFlow<()> + Send);

/// Folds into `models` every record that `read` visits, in order, on two
/// threads: `read` runs on the second with a visitor, and must visit the
/// records that follow `models.position`, in order (as
/// `log.scan(models.position + 1, visitor)` does). Returns how many records
/// were folded.
///
/// A record that cannot be folded stops the fold there, with the same
/// error as [`ReadModels::apply`] gives, and the reading with it; a
/// failure to read stops it after the records read before it.
pub fn fold_decoding_aside<E: Send>(
    models: &mut ReadModels,
    read: impl FnOnce(Visitor<'_>) -> Result<(), E> + Send,
) -> Result<u64, FoldFailed<E>> {
    fold_in_batches(models, read, BATCH, IN_FLIGHT, None)
}

/// [`fold_decoding_aside`] handing `size` records over at a time, with at
/// most `in_flight` batches between the threads; `fixed_share`, if given,
/// is how many records of each batch the reading side decodes, instead of
/// a share that follows the two sides' speeds.
pub(crate) fn fold_in_batches<E: Send>(
    models: &mut ReadModels,
    read: impl FnOnce(Visitor<'_>) -> Result<(), E> + Send,
    size: usize,
    in_flight: usize,
    fixed_share: Option<usize>,
) -> Result<u64, FoldFailed<E>> {
    let size = size.max(1);
    let (batches, received) = mpsc::sync_channel::<Batch>(in_flight);
    // Batches folded go back to the reading side, to be filled again
    // without growing new buffers.
    let spares = Mutex::new(Vec::<Batch>::new());
    // How many records of a batch the reading side decodes: more when the
    // folding side is behind (the channel is full), fewer when it waits.
    let share = AtomicUsize::new(fixed_share.unwrap_or(size / 2).min(size));
    let step = (size / 32).max(1);
    let (share, spares, adapt) = (&share, &spares, fixed_share.is_none());
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Batch::default();
            let mut decode_first = share.load(Ordering::Relaxed);
            let mut visit = |envelope: &EnvelopeRef<'_>| {
                batch.text.push_str(envelope.stream);
                let stream_end = batch.text.len();
                if batch.entries.len() < decode_first {
                    batch.decoded.push(Event::decode(envelope.event_type, envelope.schema, envelope.payload));
                } else {
                    batch.text.push_str(envelope.event_type);
                    batch.payloads.extend_from_slice(envelope.payload);
                }
                batch.entries.push(Entry {
                    position: envelope.position,
                    recorded_at: envelope.recorded_at,
                    schema: envelope.schema,
                    stream_end,
                    type_end: batch.text.len(),
                    payload_end: batch.payloads.len(),
                });
                if batch.entries.len() < size {
                    return ControlFlow::Continue(());
                }
                let next = spares.lock().ok().and_then(|mut spares| spares.pop()).unwrap_or_default();
                let sent = match batches.try_send(std::mem::replace(&mut batch, next)) {
                    Ok(()) => Ok(()),
                    Err(TrySendError::Full(full)) => {
                        if adapt {
                            let _ = share.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
                                Some((k + step).min(size))
                            });
                        }
                        batches.send(full).map_err(|_| ())
                    }
                    Err(TrySendError::Disconnected(_)) => Err(()),
                };
                decode_first = share.load(Ordering::Relaxed);
                // The folding side gone (it failed): stop reading.
                match sent {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(()) => ControlFlow::Break(()),
                }
            };
            let read = read(&mut visit);
            if !batch.entries.is_empty() {
                let _ = batches.send(batch);
            }
            read
        });
        let mut folded = 0u64;
        let mut failure = None;
        'batches: loop {
            let mut batch = match received.try_recv() {
                Ok(batch) => batch,
                Err(TryRecvError::Empty) => {
                    if adapt {
                        let _ = share.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |k| {
                            Some(k.saturating_sub(step))
                        });
                    }
                    match received.recv() {
                        Ok(batch) => batch,
                        Err(_) => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            let Batch { text, payloads, entries, decoded } = &mut batch;
            let mut decoded = decoded.drain(..);
            let (mut text_at, mut payload_at) = (0, 0);
            for entry in entries.iter() {
                let stream = &text[text_at..entry.stream_end];
                let event = match decoded.next() {
                    Some(event) => event,
                    None => Event::decode(
                        &text[entry.stream_end..entry.type_end],
                        entry.schema,
                        &payloads[payload_at..entry.payload_end],
                    ),
                };
                (text_at, payload_at) = (entry.type_end, entry.payload_end);
                if let Err(e) = models.apply_decoded(entry.position, stream, event, entry.recorded_at) {
                    failure = Some(e);
                    break 'batches;
                }
                folded += 1;
            }
            drop(decoded);
            batch.clear();
            if let Ok(mut spares) = spares.lock() {
                spares.push(batch);
            }
        }
        // Lets the reader see that no one folds any more.
        drop(received);
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (failure, read) {
            (Some(e), _) => Err(FoldFailed::Fold(e)),
            (None, Err(e)) => Err(FoldFailed::Read(e)),
            (None, Ok(())) => Ok(folded),
        }
    })
}
