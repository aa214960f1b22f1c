//! Reads a fuzzer's bytes as a sequence of small values, deterministically:
//! the same bytes give the same values, and running out gives empty ones.

pub struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn new(data: &'a [u8]) -> Input<'a> {
        Input { data }
    }

    pub fn byte(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    /// Bytes whose length is the next byte (up to 255).
    pub fn bytes(&mut self) -> Vec<u8> {
        let n = usize::from(self.byte()).min(self.data.len());
        let (taken, rest) = self.data.split_at(n);
        self.data = rest;
        taken.to_vec()
    }

    /// Text whose length in bytes is the next byte, invalid UTF-8 replaced.
    pub fn text(&mut self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }
}
