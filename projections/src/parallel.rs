//! Folding on two threads: one reads the log and decodes its events, the
//! other folds them into the read models, in the same order and with the
//! same result as [`ReadModels::apply`] one record at a time. A replay
//! spends about as long decoding events as folding them, so on a machine
//! with two cores this folds a long log in about the time of the slower
//! half (issue 14, target 2).

use crate::error::ProjectionError;
use crate::models::ReadModels;
use domain::event::{CodecError, Event};
use eventlog::EnvelopeRef;
use std::ops::ControlFlow;
use std::sync::mpsc;

/// Records handed over at a time: large enough that the hand-over costs
/// nothing per record, small enough that the folding thread starts at once.
const BATCH: usize = 1024;

/// Batches in flight between the two threads.
const IN_FLIGHT: usize = 8;

/// One record decoded, in a [`Batch`].
struct Decoded {
    position: u64,
    recorded_at: i64,
    /// Where its stream's name ends in [`Batch::streams`] (it starts where
    /// the previous one's ends).
    stream_end: usize,
    event: Result<Event, CodecError>,
}

/// Consecutive records decoded, with their streams' names end to end.
#[derive(Default)]
struct Batch {
    streams: String,
    records: Vec<Decoded>,
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

/// Folds into `models` every record that `read` visits, in order, decoding
/// them on a second thread: `read` runs there with a visitor, and must
/// visit the records that follow `models.position`, in order (as
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
    fold_in_batches(models, read, BATCH, IN_FLIGHT)
}

/// [`fold_decoding_aside`] handing `size` records over at a time, with at
/// most `in_flight` batches between the threads.
pub(crate) fn fold_in_batches<E: Send>(
    models: &mut ReadModels,
    read: impl FnOnce(Visitor<'_>) -> Result<(), E> + Send,
    size: usize,
    in_flight: usize,
) -> Result<u64, FoldFailed<E>> {
    let (batches, received) = mpsc::sync_channel::<Batch>(in_flight);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            let mut batch = Batch::default();
            let mut visit = |envelope: &EnvelopeRef<'_>| {
                batch.streams.push_str(envelope.stream);
                batch.records.push(Decoded {
                    position: envelope.position,
                    recorded_at: envelope.recorded_at,
                    stream_end: batch.streams.len(),
                    event: Event::decode(envelope.event_type, envelope.schema, envelope.payload),
                });
                if batch.records.len() < size {
                    return ControlFlow::Continue(());
                }
                // The folding side gone (it failed): stop reading.
                match batches.send(std::mem::take(&mut batch)) {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(_) => ControlFlow::Break(()),
                }
            };
            let read = read(&mut visit);
            if !batch.records.is_empty() {
                let _ = batches.send(batch);
            }
            read
        });
        let mut folded = 0u64;
        let mut failure = None;
        'batches: for batch in received.iter() {
            let mut start = 0;
            for record in batch.records {
                let stream = &batch.streams[start..record.stream_end];
                start = record.stream_end;
                if let Err(e) =
                    models.apply_decoded(record.position, stream, record.event, record.recorded_at)
                {
                    failure = Some(e);
                    break 'batches;
                }
                folded += 1;
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
