//! The sidecar of a blob: the CRC32C of every block, so a read checks the
//! blocks it serves without hashing the whole blob.
//!
//! Format (little-endian): `YKBS`, version `u32` (1), blob size `u64`,
//! block size `u32`, block count `u32`, one `u32` CRC32C per block, then a
//! `u32` CRC32C of everything before it. The last block may be short; an
//! empty blob has no block.

use std::io;

const MAGIC: &[u8; 4] = b"YKBS";
const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 8 + 4 + 4;
/// Block sizes a sidecar may declare (one is written today: [`crate::BLOCK`]).
const BLOCK_SIZES: std::ops::RangeInclusive<u64> = 4096..=(64 << 20);

/// A blob's size and block checksums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sums {
    pub size: u64,
    pub block: u64,
    pub crcs: Vec<u32>,
}

impl Sums {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER + 4 * self.crcs.len() + 4);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&(self.block as u32).to_le_bytes());
        out.extend_from_slice(&(self.crcs.len() as u32).to_le_bytes());
        for crc in &self.crcs {
            out.extend_from_slice(&crc.to_le_bytes());
        }
        let total = crc32c::crc32c(&out);
        out.extend_from_slice(&total.to_le_bytes());
        out
    }

    /// Reads a sidecar; anything malformed is `InvalidData`.
    pub fn decode(bytes: &[u8]) -> io::Result<Sums> {
        let bad =
            |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("bad checksum sidecar: {why}"));
        if bytes.len() < HEADER + 4 {
            return Err(bad("too short"));
        }
        let (body, total) = bytes.split_at(bytes.len() - 4);
        if crc32c::crc32c(body).to_le_bytes() != total {
            return Err(bad("its own checksum does not match"));
        }
        let u32_at = |at: usize| u32::from_le_bytes([body[at], body[at + 1], body[at + 2], body[at + 3]]);
        if &body[..4] != MAGIC || u32_at(4) != VERSION {
            return Err(bad("unknown magic or version"));
        }
        let mut size = [0u8; 8];
        size.copy_from_slice(&body[8..16]);
        let size = u64::from_le_bytes(size);
        let block = u64::from(u32_at(16));
        let count = u32_at(20) as usize;
        if !BLOCK_SIZES.contains(&block) {
            return Err(bad("block size out of bounds"));
        }
        if count as u64 != size.div_ceil(block) || body.len() != HEADER + 4 * count {
            return Err(bad("block count does not match the size"));
        }
        let crcs = (0..count).map(|i| u32_at(HEADER + 4 * i)).collect();
        Ok(Sums { size, block, crcs })
    }

    /// The number of bytes in block `index`.
    pub fn block_len(&self, index: u64) -> u64 {
        self.block.min(self.size - index * self.block)
    }

    /// Checks one block's bytes against its CRC.
    pub fn check(&self, index: u64, bytes: &[u8]) -> bool {
        self.crcs.get(index as usize) == Some(&crc32c::crc32c(bytes))
            && bytes.len() as u64 == self.block_len(index)
    }
}

/// Builds [`Sums`] from bytes arriving in pieces of any size.
#[derive(Debug)]
pub struct SumsBuilder {
    block: u64,
    size: u64,
    current: u32,
    crcs: Vec<u32>,
}

impl SumsBuilder {
    pub fn new(block: u64) -> SumsBuilder {
        SumsBuilder { block, size: 0, current: 0, crcs: Vec::new() }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            let filled = self.size % self.block;
            let take = ((self.block - filled) as usize).min(bytes.len());
            self.current = crc32c::crc32c_append(self.current, &bytes[..take]);
            self.size += take as u64;
            bytes = &bytes[take..];
            if self.size.is_multiple_of(self.block) {
                self.crcs.push(self.current);
                self.current = 0;
            }
        }
    }

    pub fn finish(mut self) -> Sums {
        if !self.size.is_multiple_of(self.block) {
            self.crcs.push(self.current);
        }
        Sums { size: self.size, block: self.block, crcs: self.crcs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sums_of(bytes: &[u8], block: u64) -> Sums {
        let crcs = bytes.chunks(block as usize).map(crc32c::crc32c).collect();
        Sums { size: bytes.len() as u64, block, crcs }
    }

    proptest! {
        #[test]
        fn built_in_pieces_equals_built_at_once_and_round_trips(
            data in proptest::collection::vec(any::<u8>(), 0..20_000),
            cuts in proptest::collection::vec(0usize..20_000, 0..8),
        ) {
            let mut builder = SumsBuilder::new(4096);
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(data.len())).collect();
            cuts.push(0);
            cuts.push(data.len());
            cuts.sort();
            for pair in cuts.windows(2) {
                builder.update(&data[pair[0]..pair[1]]);
            }
            let sums = builder.finish();
            prop_assert_eq!(&sums, &sums_of(&data, 4096));
            prop_assert_eq!(Sums::decode(&sums.encode()).unwrap(), sums);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Sums::decode(&bytes);
        }
    }

    #[test]
    fn any_flipped_bit_of_a_sidecar_is_invalid_data() {
        let encoded = sums_of(&[7u8; 10_000], 4096).encode();
        for at in 0..encoded.len() * 8 {
            let mut damaged = encoded.clone();
            damaged[at / 8] ^= 1 << (at % 8);
            let e = Sums::decode(&damaged).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidData);
        }
        assert!(Sums::decode(&encoded[..encoded.len() - 1]).is_err());
    }
}
