//! The body format of the admin log endpoints: stored records one after
//! another, each as `position: u64 LE`, `length: u32 LE` and the record's
//! stored bytes (checksum first), so the reader verifies every record with
//! `eventlog::decode_record` exactly as if it read the log file.

/// Appends one record's frame to `out`.
pub fn encode(out: &mut Vec<u8>, position: u64, record: &[u8]) {
    out.extend_from_slice(&position.to_le_bytes());
    out.extend_from_slice(&(record.len() as u32).to_le_bytes());
    out.extend_from_slice(record);
}

/// Splits frames off the front of a growing buffer.
#[derive(Debug, Default)]
pub struct Decoder {
    buffer: Vec<u8>,
    start: usize,
}

/// A frame whose length cannot be right (more than this is not a record).
const MAX_RECORD: usize = 64 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("a frame claims {0} bytes: the stream is not a record stream")]
    TooLong(usize),
    #[error("the stream ends inside a frame ({0} bytes left over)")]
    Truncated(usize),
}

impl Decoder {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.start > 0 && self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Result<Option<(u64, Vec<u8>)>, FrameError> {
        let rest = &self.buffer[self.start..];
        if rest.len() < 12 {
            return Ok(None);
        }
        let position = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
        let length = u32::from_le_bytes(rest[8..12].try_into().expect("4 bytes")) as usize;
        if length > MAX_RECORD {
            return Err(FrameError::TooLong(length));
        }
        if rest.len() < 12 + length {
            return Ok(None);
        }
        let record = rest[12..12 + length].to_vec();
        self.start += 12 + length;
        if self.start > (1 << 20) && self.start * 2 > self.buffer.len() {
            self.buffer.drain(..self.start);
            self.start = 0;
        }
        Ok(Some((position, record)))
    }

    /// Checks that nothing is left over at the end of the stream.
    pub fn finish(&self) -> Result<(), FrameError> {
        match self.buffer.len() - self.start {
            0 => Ok(()),
            n => Err(FrameError::Truncated(n)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_survive_any_split() {
        let mut bytes = Vec::new();
        encode(&mut bytes, 1, b"first");
        encode(&mut bytes, 2, b"");
        encode(&mut bytes, 3, &[7u8; 300]);
        for chunk in [1, 5, 12, 13, 64, 1000] {
            let mut d = Decoder::default();
            let mut out = Vec::new();
            for piece in bytes.chunks(chunk) {
                d.push(piece);
                while let Some(frame) = d.next_frame().unwrap() {
                    out.push(frame);
                }
            }
            d.finish().unwrap();
            assert_eq!(out, vec![(1, b"first".to_vec()), (2, vec![]), (3, vec![7u8; 300])]);
        }
        let mut d = Decoder::default();
        d.push(&bytes[..bytes.len() - 1]);
        while d.next_frame().unwrap().is_some() {}
        assert_eq!(d.finish(), Err(FrameError::Truncated(311)));
    }
}
