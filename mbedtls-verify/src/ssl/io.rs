//! Transports: how a session moves bytes. Implement [`Transport`] for any byte pipe
//! (a socket, an `embedded-io` stream, an in-memory buffer, a pair of callbacks).

use alloc::string::String;
use core::ffi::c_void;

use crate::sys;

/// The outcome of one transport call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IoStatus {
    /// `n` bytes were sent or received (`0` on receive means the peer closed).
    Done(usize),
    /// Nothing can be done now (non-blocking transports); the session reports
    /// `WantRead` / `WantWrite` and the call must be repeated later.
    WouldBlock,
    /// The transport failed; the text is kept for the error the session returns.
    Failed(String),
}

/// A byte transport under a TLS session.
pub trait Transport {
    /// Send some of `data`; mbedTLS calls this from `mbedtls_ssl_*` through its send callback.
    fn send(&mut self, data: &[u8]) -> IoStatus;
    /// Receive into `buf`; `Done(0)` means the peer closed.
    fn recv(&mut self, buf: &mut [u8]) -> IoStatus;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        (**self).send(data)
    }
    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        (**self).recv(buf)
    }
}

/// A `std::io::Read + Write` stream (e.g. `TcpStream`) as a transport.
#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
#[derive(Debug)]
pub struct StdIo<S>(pub S);

#[cfg(feature = "std")]
#[cfg_attr(docsrs, doc(cfg(feature = "std")))]
impl<S: std::io::Read + std::io::Write> Transport for StdIo<S> {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        loop {
            match self.0.write(data) {
                Ok(n) => return IoStatus::Done(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return IoStatus::WouldBlock;
                }
                Err(e) => return IoStatus::Failed(alloc::format!("{e}")),
            }
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        loop {
            match self.0.read(buf) {
                Ok(n) => return IoStatus::Done(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    return IoStatus::WouldBlock;
                }
                Err(e) => return IoStatus::Failed(alloc::format!("{e}")),
            }
        }
    }
}

/// What the BIO trampolines see: the transport and what happened on the last call.
pub(crate) struct IoCtx<T> {
    pub(crate) transport: T,
    pub(crate) blocked: bool,
    pub(crate) error: Option<String>,
}

/// Returned to mbedTLS when the transport failed (fatal).
pub(crate) const IO_FAILED: i32 = sys::MBEDTLS_ERR_SSL_INTERNAL_ERROR;

#[allow(unsafe_code)]
pub(crate) unsafe extern "C" fn send_trampoline<T: Transport>(
    ctx: *mut c_void,
    buf: *const u8,
    len: usize,
) -> i32 {
    if ctx.is_null() || (buf.is_null() && len > 0) {
        return IO_FAILED;
    }
    // SAFETY: ctx is the session's boxed IoCtx<T>, used only by this session's calls.
    let io = unsafe { &mut *(ctx as *mut IoCtx<T>) };
    let data = if len == 0 {
        &[][..]
    } else {
        // SAFETY: mbedTLS passes len readable bytes.
        unsafe { core::slice::from_raw_parts(buf, len) }
    };
    let status = crate::platform::guard(|| io.transport.send(data))
        .unwrap_or(IoStatus::Failed("transport panicked".into()));
    io.finish(status, sys::MBEDTLS_ERR_SSL_WANT_WRITE)
}

#[allow(unsafe_code)]
pub(crate) unsafe extern "C" fn recv_trampoline<T: Transport>(
    ctx: *mut c_void,
    buf: *mut u8,
    len: usize,
) -> i32 {
    if ctx.is_null() || (buf.is_null() && len > 0) {
        return IO_FAILED;
    }
    // SAFETY: as in send_trampoline.
    let io = unsafe { &mut *(ctx as *mut IoCtx<T>) };
    let out = if len == 0 {
        &mut [][..]
    } else {
        // SAFETY: mbedTLS passes len writable bytes.
        unsafe { core::slice::from_raw_parts_mut(buf, len) }
    };
    let status = crate::platform::guard(|| io.transport.recv(out))
        .unwrap_or(IoStatus::Failed("transport panicked".into()));
    io.finish(status, sys::MBEDTLS_ERR_SSL_WANT_READ)
}

impl<T> IoCtx<T> {
    fn finish(&mut self, status: IoStatus, want: i32) -> i32 {
        match status {
            IoStatus::Done(n) => i32::try_from(n).unwrap_or(i32::MAX),
            IoStatus::WouldBlock => {
                self.blocked = true;
                want
            }
            IoStatus::Failed(e) => {
                self.error = Some(e);
                IO_FAILED
            }
        }
    }
}

/// A blocking `embedded-io` stream (`Read + Write`) as a transport (feature `embedded-io`).
#[cfg(feature = "embedded-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-io")))]
#[derive(Debug)]
pub struct EmbeddedIo<S>(pub S);

#[cfg(feature = "embedded-io")]
#[cfg_attr(docsrs, doc(cfg(feature = "embedded-io")))]
impl<S: embedded_io::Read + embedded_io::Write> Transport for EmbeddedIo<S> {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        match self.0.write(data) {
            Ok(n) => IoStatus::Done(n),
            Err(e) => IoStatus::Failed(alloc::format!("{:?}: {e}", embedded_io::Error::kind(&e))),
        }
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        match self.0.read(buf) {
            Ok(n) => IoStatus::Done(n),
            Err(e) => IoStatus::Failed(alloc::format!("{:?}: {e}", embedded_io::Error::kind(&e))),
        }
    }
}
