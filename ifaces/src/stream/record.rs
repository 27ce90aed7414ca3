//! Length-prefixed records on a byte stream (`tcpsock`, `unixsock`): each frame
//! is sent as a 2-byte big-endian length followed by that many bytes, so the
//! largest frame is 65 535 bytes and an empty record is invalid.
//!
//! The reader never takes bytes past the end of the current record, so after
//! a frame has been returned every further byte is still in the kernel's
//! buffer: a caller that waits for readability again misses nothing.
//! The writer keeps at most one partly sent record; while it is pending new
//! frames are dropped rather than queued (the kernel's send buffer is the queue).

use std::io;

/// The length field's size.
pub const HEADER_LEN: usize = 2;
/// The largest frame a record can carry.
pub const MAX_RECORD: usize = u16::MAX as usize;

/// Reassembles records from reads of any size.
#[derive(Debug)]
pub(crate) struct RecordReader {
    buf: Box<[u8]>,
    filled: usize,
}

impl RecordReader {
    pub(crate) fn new() -> Self {
        Self {
            buf: vec![0; HEADER_LEN + MAX_RECORD].into_boxed_slice(),
            filled: 0,
        }
    }

    fn body_len(&self) -> Option<usize> {
        (self.filled >= HEADER_LEN)
            .then(|| usize::from(u16::from_be_bytes([self.buf[0], self.buf[1]])))
    }

    /// Where the next bytes go: the rest of the header, or of the body. Never
    /// empty between `take` calls that return None.
    pub(crate) fn spare(&mut self) -> &mut [u8] {
        let end = HEADER_LEN + self.body_len().unwrap_or(0);
        &mut self.buf[self.filled..end]
    }

    /// `n` bytes were written into `spare()`.
    pub(crate) fn advance(&mut self, n: usize) {
        self.filled += n;
    }

    /// The body of the record just completed, if any; the reader then starts
    /// the next record.
    pub(crate) fn take(&mut self) -> Option<&[u8]> {
        let len = self.body_len()?;
        if self.filled < HEADER_LEN + len {
            return None;
        }
        self.filled = 0;
        Some(&self.buf[HEADER_LEN..HEADER_LEN + len])
    }

    /// Copies from `input` up to the end of the first record completed;
    /// returns the bytes consumed and that record's body.
    #[cfg(test)]
    pub(crate) fn feed(&mut self, input: &[u8]) -> (usize, Option<Vec<u8>>) {
        let mut used = 0;
        loop {
            if let Some(body) = self.take() {
                return (used, Some(body.to_vec()));
            }
            let spare = self.spare();
            let n = spare.len().min(input.len() - used);
            if n == 0 {
                return (used, None);
            }
            spare[..n].copy_from_slice(&input[used..used + n]);
            self.advance(n);
            used += n;
        }
    }
}

/// The header of a frame, or None if the frame is too long for a record.
pub(crate) fn header(len: usize) -> Option<[u8; HEADER_LEN]> {
    u16::try_from(len).ok().map(u16::to_be_bytes)
}

/// What [`RecordWriter::write`] did with a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Written {
    /// All of it went out.
    Sent,
    /// Part went out; the rest is pending and goes out with `flush`.
    Partly,
    /// Nothing went out (stream full or a record still pending): dropped.
    WouldBlock,
    /// Longer than [`MAX_RECORD`]: dropped.
    TooLong,
}

/// Writes records through a `send` function that takes up to two slices
/// (gathered, e.g. `sendmsg`) and returns how many bytes it took, 0 meaning
/// "would block".
#[derive(Debug)]
pub(crate) struct RecordWriter {
    pending: Vec<u8>,
    sent: usize,
}

impl RecordWriter {
    pub(crate) fn new() -> Self {
        Self {
            pending: Vec::new(),
            sent: 0,
        }
    }

    pub(crate) fn has_pending(&self) -> bool {
        self.sent < self.pending.len()
    }

    pub(crate) fn write(
        &mut self,
        frame: &[u8],
        mut send: impl FnMut(&[&[u8]]) -> io::Result<usize>,
    ) -> io::Result<Written> {
        let Some(hdr) = header(frame.len()) else {
            return Ok(Written::TooLong);
        };
        if !self.flush(&mut send)? {
            return Ok(Written::WouldBlock);
        }
        let n = send(&[&hdr, frame])?;
        if n == 0 {
            return Ok(Written::WouldBlock);
        }
        if n == HEADER_LEN + frame.len() {
            return Ok(Written::Sent);
        }
        // Keep the unsent tail: the stream must not lose or split a record.
        self.pending.clear();
        self.pending.extend_from_slice(&hdr[n.min(HEADER_LEN)..]);
        self.pending
            .extend_from_slice(&frame[n.saturating_sub(HEADER_LEN)..]);
        self.sent = 0;
        Ok(Written::Partly)
    }

    /// Sends what is pending; true when nothing is left.
    pub(crate) fn flush(
        &mut self,
        mut send: impl FnMut(&[&[u8]]) -> io::Result<usize>,
    ) -> io::Result<bool> {
        while self.has_pending() {
            let n = send(&[&self.pending[self.sent..]])?;
            if n == 0 {
                return Ok(false);
            }
            self.sent += n;
        }
        self.pending.clear();
        self.sent = 0;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(body: &[u8]) -> Vec<u8> {
        let mut r = header(body.len()).unwrap().to_vec();
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn header_bytes() {
        assert_eq!(header(0), Some([0, 0]));
        assert_eq!(header(1), Some([0, 1]));
        assert_eq!(header(0x1234), Some([0x12, 0x34]));
        assert_eq!(header(65_535), Some([0xff, 0xff]));
        assert_eq!(header(65_536), None);
    }

    #[test]
    fn two_records_in_one_read_come_out_one_at_a_time() {
        let mut input = record(b"hello");
        input.extend(record(b"world!"));
        let mut r = RecordReader::new();
        assert_eq!(r.feed(&input), (7, Some(b"hello".to_vec())));
        // The reader stopped at the record's end; the rest is untouched.
        assert_eq!(r.feed(&input[7..]), (8, Some(b"world!".to_vec())));
        assert_eq!(r.feed(&[]), (0, None));
    }

    #[test]
    fn partial_records_byte_by_byte() {
        let input = [0x00, 0x03, b'a', b'b', b'c', 0x00];
        let mut r = RecordReader::new();
        for (i, b) in input[..4].iter().enumerate() {
            assert_eq!(r.feed(&[*b]), (1, None), "byte {i}");
        }
        assert_eq!(r.feed(&input[4..5]), (1, Some(b"abc".to_vec())));
        // Half a header stays pending.
        assert_eq!(r.feed(&input[5..]), (1, None));
        assert_eq!(r.feed(&[0x01]), (1, None));
        assert_eq!(r.feed(b"zq"), (1, Some(b"z".to_vec())));
    }

    #[test]
    fn the_reader_never_asks_past_the_record() {
        let mut r = RecordReader::new();
        assert_eq!(r.spare().len(), 2);
        r.spare()[..2].copy_from_slice(&[0x01, 0x00]);
        r.advance(2);
        assert_eq!(r.take(), None);
        assert_eq!(r.spare().len(), 256);
        // An empty record completes with its header.
        let mut r = RecordReader::new();
        assert_eq!(r.feed(&[0, 0, 0, 1, 7]), (2, Some(vec![])));
        // The largest record fits.
        let big = vec![0xabu8; MAX_RECORD];
        assert_eq!(r.feed(&record(&big)), (HEADER_LEN + MAX_RECORD, Some(big)));
    }

    /// A stream that takes at most `budget` more bytes.
    struct Sink {
        out: Vec<u8>,
        budget: usize,
    }

    impl Sink {
        fn send(&mut self, parts: &[&[u8]]) -> io::Result<usize> {
            let mut n = 0;
            for part in parts {
                let take = part.len().min(self.budget);
                self.out.extend_from_slice(&part[..take]);
                self.budget -= take;
                n += take;
            }
            Ok(n)
        }
    }

    #[test]
    fn partial_writes_keep_the_stream_whole() {
        let mut w = RecordWriter::new();
        let mut sink = Sink {
            out: Vec::new(),
            budget: 1,
        };
        // One byte of the header goes out, the rest is pending.
        assert_eq!(w.write(b"abc", |p| sink.send(p)).unwrap(), Written::Partly);
        assert!(w.has_pending());
        // Still blocked: the next frame is dropped, not interleaved.
        assert_eq!(
            w.write(b"xyz", |p| sink.send(p)).unwrap(),
            Written::WouldBlock
        );
        sink.budget = 2;
        assert!(!w.flush(|p| sink.send(p)).unwrap());
        sink.budget = 100;
        assert!(w.flush(|p| sink.send(p)).unwrap());
        assert_eq!(w.write(b"de", |p| sink.send(p)).unwrap(), Written::Sent);
        let mut want = record(b"abc");
        want.extend(record(b"de"));
        assert_eq!(sink.out, want);

        // Nothing taken at all: dropped whole, nothing pending.
        sink.budget = 0;
        assert_eq!(
            w.write(b"f", |p| sink.send(p)).unwrap(),
            Written::WouldBlock
        );
        assert!(!w.has_pending());
        // Too long for the 16-bit length: dropped before any byte goes out.
        sink.budget = usize::MAX;
        assert_eq!(
            w.write(&vec![0; MAX_RECORD + 1], |p| sink.send(p)).unwrap(),
            Written::TooLong
        );
        assert_eq!(sink.out, want);

        // A split inside the body.
        let mut sink = Sink {
            out: Vec::new(),
            budget: 4,
        };
        assert_eq!(
            w.write(b"hello", |p| sink.send(p)).unwrap(),
            Written::Partly
        );
        sink.budget = 100;
        assert!(w.flush(|p| sink.send(p)).unwrap());
        assert_eq!(sink.out, record(b"hello"));
    }
}
