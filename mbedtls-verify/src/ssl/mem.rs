//! An in-memory, single-threaded transport pair: a client and a server session in the
//! same program (tests, benchmarks, device self-tests). Non-blocking: a read with
//! nothing queued reports `WouldBlock`; [`run_handshakes`] alternates the two sides.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;

use super::{IoStatus, Session, Transport};
use crate::error::{Error, Result};

#[derive(Debug, Default)]
struct Pipe {
    bytes: VecDeque<u8>,
    writer_gone: bool,
}

/// One end of an in-memory connection.
#[derive(Debug)]
pub struct MemoryTransport {
    inbox: Rc<RefCell<Pipe>>,
    outbox: Rc<RefCell<Pipe>>,
}

/// Two connected ends: what one sends, the other receives.
pub fn memory_pair() -> (MemoryTransport, MemoryTransport) {
    let a = Rc::new(RefCell::new(Pipe::default()));
    let b = Rc::new(RefCell::new(Pipe::default()));
    (
        MemoryTransport {
            inbox: a.clone(),
            outbox: b.clone(),
        },
        MemoryTransport {
            inbox: b,
            outbox: a,
        },
    )
}

impl MemoryTransport {
    /// Bytes queued towards the other end and not yet read.
    pub fn pending_out(&self) -> usize {
        self.outbox.borrow().bytes.len()
    }

    /// Queue raw bytes towards this end, as if the peer had sent them (bad-input tests).
    pub fn inject(&self, data: &[u8]) {
        self.inbox.borrow_mut().bytes.extend(data.iter().copied());
    }
}

impl Drop for MemoryTransport {
    fn drop(&mut self) {
        self.outbox.borrow_mut().writer_gone = true;
    }
}

impl Transport for MemoryTransport {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        self.outbox.borrow_mut().bytes.extend(data.iter().copied());
        IoStatus::Done(data.len())
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        let mut p = self.inbox.borrow_mut();
        if p.bytes.is_empty() {
            return if p.writer_gone {
                IoStatus::Done(0)
            } else {
                IoStatus::WouldBlock
            };
        }
        let n = buf.len().min(p.bytes.len());
        for (dst, src) in buf.iter_mut().zip(p.bytes.drain(..n)) {
            *dst = src;
        }
        IoStatus::Done(n)
    }
}

/// Drive both handshakes to completion, alternating sides. Returns each side's result
/// (a side that failed stops; the other then fails too, or is left waiting).
pub fn run_handshakes(
    client: &mut Session<MemoryTransport>,
    server: &mut Session<MemoryTransport>,
) -> (Result<()>, Result<()>) {
    let mut c: Option<Result<()>> = None;
    let mut s: Option<Result<()>> = None;
    // Each round moves at least one flight; a handshake needs a handful.
    for _ in 0..64 {
        if c.is_none() {
            match client.handshake() {
                Err(Error::WantRead | Error::WantWrite) => {}
                r => c = Some(r),
            }
        }
        if s.is_none() {
            match server.handshake() {
                Err(Error::WantRead | Error::WantWrite) => {}
                r => s = Some(r),
            }
        }
        match (&c, &s) {
            (Some(_), Some(_)) => break,
            (Some(Err(_)), None) | (None, Some(Err(_))) => {
                // One side failed; give the other one chance to read the alert.
                let _ = if c.is_none() {
                    client.handshake()
                } else {
                    server.handshake()
                };
                break;
            }
            _ => {}
        }
    }
    (
        c.unwrap_or(Err(Error::WantRead)),
        s.unwrap_or(Err(Error::WantRead)),
    )
}
