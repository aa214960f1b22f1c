//! The envelope every record is stored in, and its checksummed encoding.
//!
//! A record is `crc32c(rest) as u32 LE`, then the rest: one byte of record
//! format ([`FORMAT`]) and the postcard bytes of [`EnvelopeRef`]. The
//! position is stored inside too, so a record copied to the wrong key is
//! detected like a flipped byte.

use crate::error::ReadError;
use serde::{Deserialize, Serialize};

/// The record format this build writes. A later format keeps decoding the
/// earlier ones.
pub const FORMAT: u8 = 1;

/// Who and what caused an append; copied into every envelope of it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    pub account: String,
    pub user: String,
    pub access_key: String,
    /// The API action or command (`RunInstances`, `ReportInstanceRunning` …).
    pub action: String,
    /// Where the request came from (`203.0.113.9:51234`, `node:nc-…`).
    pub source: String,
    pub request_id: String,
    /// The request that started the chain of work this belongs to.
    pub correlation_id: String,
    /// The immediate cause: a request id, or `event:<position>` for work
    /// done in reaction to an event.
    pub causation_id: String,
}

/// An event to append: its type name, schema version and payload bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewEvent {
    pub event_type: String,
    pub schema: u16,
    pub payload: Vec<u8>,
}

/// A stored event, read back and verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedEvent {
    pub position: u64,
    pub stream: String,
    pub version: u64,
    pub event_type: String,
    pub schema: u16,
    /// Microseconds since the Unix epoch; never decreases along the log.
    pub recorded_at: i64,
    pub metadata: Metadata,
    pub payload: Vec<u8>,
}

impl RecordedEvent {
    /// The borrowed view, as [`crate::EventLog::scan`] hands it out.
    pub fn as_envelope(&self) -> EnvelopeRef<'_> {
        EnvelopeRef {
            position: self.position,
            stream: &self.stream,
            version: self.version,
            event_type: &self.event_type,
            schema: self.schema,
            recorded_at: self.recorded_at,
            account: &self.metadata.account,
            user: &self.metadata.user,
            access_key: &self.metadata.access_key,
            action: &self.metadata.action,
            source: &self.metadata.source,
            request_id: &self.metadata.request_id,
            correlation_id: &self.metadata.correlation_id,
            causation_id: &self.metadata.causation_id,
            payload: &self.payload,
        }
    }
}

/// The stored form, borrowing from the record bytes (fast replay decodes
/// without copying).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvelopeRef<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub schema: u16,
    pub recorded_at: i64,
    pub account: &'a str,
    pub user: &'a str,
    pub access_key: &'a str,
    pub action: &'a str,
    pub source: &'a str,
    pub request_id: &'a str,
    pub correlation_id: &'a str,
    pub causation_id: &'a str,
    pub payload: &'a [u8],
}

impl EnvelopeRef<'_> {
    pub fn to_owned(&self) -> RecordedEvent {
        RecordedEvent {
            position: self.position,
            stream: self.stream.to_owned(),
            version: self.version,
            event_type: self.event_type.to_owned(),
            schema: self.schema,
            recorded_at: self.recorded_at,
            metadata: Metadata {
                account: self.account.to_owned(),
                user: self.user.to_owned(),
                access_key: self.access_key.to_owned(),
                action: self.action.to_owned(),
                source: self.source.to_owned(),
                request_id: self.request_id.to_owned(),
                correlation_id: self.correlation_id.to_owned(),
                causation_id: self.causation_id.to_owned(),
            },
            payload: self.payload.to_vec(),
        }
    }
}

/// The record's bytes, encoded in one buffer sized up front: the checksum's
/// place, the format byte and the envelope, then the checksum over them.
pub(crate) fn encode_record(envelope: &EnvelopeRef<'_>) -> Vec<u8> {
    let mut record = Vec::with_capacity(encoded_len_bound(envelope));
    record.extend_from_slice(&[0, 0, 0, 0, FORMAT]);
    let mut record = postcard::to_extend(envelope, record).expect("an envelope always encodes");
    let sum = crc32c::crc32c(&record[4..]).to_le_bytes();
    record[..4].copy_from_slice(&sum);
    record
}

/// At least the bytes of [`encode_record`]'s output: each string and the
/// payload with a varint length of at most 10 bytes, each number at most
/// 10 bytes, the checksum and the format byte.
fn encoded_len_bound(e: &EnvelopeRef<'_>) -> usize {
    let texts = [
        e.stream,
        e.event_type,
        e.account,
        e.user,
        e.access_key,
        e.action,
        e.source,
        e.request_id,
        e.correlation_id,
        e.causation_id,
    ];
    let bytes: usize = texts.iter().map(|t| t.len() + 10).sum::<usize>() + e.payload.len() + 10;
    5 + bytes + 4 * 10
}

/// Checks a record's checksum and position and decodes it.
pub fn decode_record(position: u64, record: &[u8]) -> Result<EnvelopeRef<'_>, ReadError> {
    let corrupt = |reason: String| ReadError::Corrupt { position, reason };
    if record.len() < 4 {
        return Err(corrupt(format!("record is {} bytes long", record.len())));
    }
    let (sum, body) = record.split_at(4);
    let stored = u32::from_le_bytes([sum[0], sum[1], sum[2], sum[3]]);
    let actual = crc32c::crc32c(body);
    if stored != actual {
        return Err(corrupt(format!("checksum {actual:08x} does not match stored {stored:08x}")));
    }
    let (format, body) = body.split_first().ok_or_else(|| corrupt("record has no format".into()))?;
    if *format != FORMAT {
        return Err(corrupt(format!("unknown record format {format}")));
    }
    let envelope: EnvelopeRef<'_> =
        postcard::from_bytes(body).map_err(|e| corrupt(format!("envelope does not decode: {e}")))?;
    if envelope.position != position {
        return Err(corrupt(format!("record claims position {}", envelope.position)));
    }
    Ok(envelope)
}

/// A record found in raw bytes: where it starts, how long it is, and the
/// position it claims (its checksum checked, see [`find_records`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    pub offset: usize,
    pub len: usize,
    pub position: u64,
}

/// Every record in `bytes` (e.g. a log file whose database structures are
/// damaged): a record is recognised by its format byte, an envelope that
/// decodes after it, and a checksum over both that matches. A random match
/// has odds of one in 2^32 per place tried. Records are not searched inside
/// one already found.
pub(crate) fn find_records(bytes: &[u8]) -> Vec<Found> {
    let mut found = Vec::new();
    let mut at = 0usize;
    while at + 5 < bytes.len() {
        if bytes[at + 4] == FORMAT
            && let Ok((envelope, rest)) = postcard::take_from_bytes::<EnvelopeRef<'_>>(&bytes[at + 5..])
        {
            let end = bytes.len() - rest.len();
            let stored = u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
            if envelope.position > 0 && crc32c::crc32c(&bytes[at + 4..end]) == stored {
                found.push(Found { offset: at, len: end - at, position: envelope.position });
                at = end;
                continue;
            }
        }
        at += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_found_among_other_bytes_and_a_damaged_one_is_not() {
        let mut second = sample();
        second.position = 8;
        let (a, b) = (encode_record(&sample()), encode_record(&second));
        let mut bytes = vec![1u8, 0, 0, 0, 1, 7, 9];
        bytes.extend_from_slice(&a);
        bytes.extend_from_slice(&[0, 1, 1, 0, 255]);
        let b_at = bytes.len();
        bytes.extend_from_slice(&b);
        bytes.extend_from_slice(&a[..a.len() - 1]);
        let found = find_records(&bytes);
        assert_eq!(
            found,
            vec![
                Found { offset: 7, len: a.len(), position: 7 },
                Found { offset: b_at, len: b.len(), position: 8 }
            ]
        );
        assert_eq!(decode_record(8, &bytes[b_at..b_at + b.len()]).unwrap(), second);
        bytes[b_at + 20] ^= 0x10;
        assert_eq!(find_records(&bytes).len(), 1);
    }

    fn sample() -> EnvelopeRef<'static> {
        EnvelopeRef {
            position: 7,
            stream: "instance/i-1",
            version: 2,
            event_type: "InstanceRunning",
            schema: 1,
            recorded_at: 1_700_000_000_000_000,
            account: "123456789012",
            user: "admin",
            access_key: "AKIAEXAMPLE",
            action: "RunInstances",
            source: "127.0.0.1:5000",
            request_id: "req-1",
            correlation_id: "req-1",
            causation_id: "req-1",
            payload: b"payload",
        }
    }

    #[test]
    fn records_round_trip() {
        let bytes = encode_record(&sample());
        assert_eq!(decode_record(7, &bytes).unwrap(), sample());
    }

    #[test]
    fn a_record_is_its_checksum_then_the_format_byte_and_envelope_in_a_buffer_never_grown() {
        let long = "x".repeat(300);
        let payload = vec![0xA5u8; 70_000];
        let mut widest = sample();
        (widest.position, widest.version, widest.recorded_at, widest.schema) =
            (u64::MAX, u64::MAX, i64::MIN, u16::MAX);
        (widest.stream, widest.request_id, widest.payload) = (&long, &long, &payload);
        let empty = EnvelopeRef {
            stream: "",
            event_type: "",
            account: "",
            user: "",
            access_key: "",
            action: "",
            source: "",
            request_id: "",
            correlation_id: "",
            causation_id: "",
            payload: b"",
            ..sample()
        };
        for envelope in [sample(), widest, empty] {
            let record = encode_record(&envelope);
            let mut body = vec![FORMAT];
            body.extend_from_slice(&postcard::to_allocvec(&envelope).unwrap());
            let mut expected = crc32c::crc32c(&body).to_le_bytes().to_vec();
            expected.extend_from_slice(&body);
            assert_eq!(record, expected);
            assert!(encoded_len_bound(&envelope) >= record.len());
            assert!(record.capacity() == encoded_len_bound(&envelope), "the buffer grew");
        }
    }

    #[test]
    fn every_flipped_byte_is_detected() {
        let bytes = encode_record(&sample());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x40;
            assert!(
                matches!(decode_record(7, &bad), Err(ReadError::Corrupt { position: 7, .. })),
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn a_record_under_the_wrong_position_or_truncated_is_corrupt() {
        let bytes = encode_record(&sample());
        assert!(matches!(decode_record(8, &bytes), Err(ReadError::Corrupt { position: 8, .. })));
        assert!(decode_record(7, &bytes[..bytes.len() - 1]).is_err());
        assert!(decode_record(7, &bytes[..2]).is_err());
    }
}
