//! Async sessions over `embedded-io-async` streams (feature `async`), e.g. an
//! `embassy_net::tcp::TcpSocket` on bare-metal ESP32 firmware.
//!
//! mbedTLS is synchronous: the session runs it over an in-memory buffer and, whenever
//! mbedTLS needs bytes that have not arrived, sends what it queued and awaits the
//! stream. No mbedTLS call ever spans an `.await`, so verification callbacks run
//! exactly as in blocking sessions.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use embedded_io_async::{Read, Write};

use super::{ClientConfig, IoStatus, ServerConfig, Session, Transport, VerifiedPeer};
use crate::error::{Error, Result};

/// The buffers between mbedTLS and the async stream.
#[derive(Debug, Default)]
pub struct Buffered {
    rx: VecDeque<u8>,
    tx: Vec<u8>,
    eof: bool,
}

impl Transport for Buffered {
    fn send(&mut self, data: &[u8]) -> IoStatus {
        self.tx.extend_from_slice(data);
        IoStatus::Done(data.len())
    }

    fn recv(&mut self, buf: &mut [u8]) -> IoStatus {
        if self.rx.is_empty() {
            return if self.eof {
                IoStatus::Done(0)
            } else {
                IoStatus::WouldBlock
            };
        }
        let n = buf.len().min(self.rx.len());
        for (dst, src) in buf.iter_mut().zip(self.rx.drain(..n)) {
            *dst = src;
        }
        IoStatus::Done(n)
    }
}

/// A TLS session over an async stream.
#[derive(Debug)]
pub struct AsyncSession<S> {
    tls: Session<Buffered>,
    io: S,
}

impl<S: Read + Write> AsyncSession<S> {
    /// A server session over `io` (as [`Session::server`]); nothing is sent before [`handshake`](Self::handshake).
    pub fn server(config: &ServerConfig, io: S) -> Result<Self> {
        Ok(AsyncSession {
            tls: Session::server(config, Buffered::default())?,
            io,
        })
    }

    /// A client session over `io` that checks the server's certificate against `server_name` (as [`Session::client`]).
    pub fn client(config: &ClientConfig, server_name: &str, io: S) -> Result<Self> {
        Ok(AsyncSession {
            tls: Session::client(config, server_name, Buffered::default())?,
            io,
        })
    }

    async fn flush(&mut self) -> Result<()> {
        let tx = core::mem::take(&mut self.tls.transport_mut().tx);
        if !tx.is_empty() {
            self.io.write_all(&tx).await.map_err(io_err)?;
            self.io.flush().await.map_err(io_err)?;
        }
        Ok(())
    }

    async fn fill(&mut self) -> Result<()> {
        let mut chunk = [0u8; 512];
        let n = self.io.read(&mut chunk).await.map_err(io_err)?;
        let b = self.tls.transport_mut();
        if n == 0 {
            b.eof = true;
        }
        b.rx.extend(chunk[..n].iter().copied());
        Ok(())
    }

    /// Run a synchronous session call until it no longer waits on the stream.
    async fn drive<R>(
        &mut self,
        mut op: impl FnMut(&mut Session<Buffered>) -> Result<R>,
    ) -> Result<R> {
        loop {
            let r = op(&mut self.tls);
            self.flush().await?;
            match r {
                Err(Error::WantRead) => self.fill().await?,
                Err(Error::WantWrite) => {}
                other => return other,
            }
        }
    }

    /// Run the handshake to the end (`mbedtls_ssl_handshake`): the verify hook, the CA callback and the policy run inside it.
    #[doc(alias = "mbedtls_ssl_handshake")]
    pub async fn handshake(&mut self) -> Result<()> {
        self.drive(|s| s.handshake()).await
    }

    /// `Ok(0)`: the peer closed with close_notify.
    #[doc(alias = "mbedtls_ssl_read")]
    pub async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        self.drive(|s| s.read(buf)).await
    }

    /// Send all of `data` (`mbedtls_ssl_write`).
    #[doc(alias = "mbedtls_ssl_write")]
    pub async fn write_all(&mut self, data: &[u8]) -> Result<()> {
        self.drive(|s| s.write_all(data)).await
    }

    /// Send close_notify (`mbedtls_ssl_close_notify`).
    #[doc(alias = "mbedtls_ssl_close_notify")]
    pub async fn close(&mut self) -> Result<()> {
        self.drive(|s| s.close()).await
    }

    /// As [`Session::verified_peer`].
    pub fn verified_peer(&self) -> Option<VerifiedPeer<'_>> {
        self.tls.verified_peer()
    }

    /// The underlying session (version, ciphersuite, ALPN).
    pub fn session(&self) -> &Session<Buffered> {
        &self.tls
    }
}

fn io_err<E: embedded_io_async::Error>(e: E) -> Error {
    Error::Transport(alloc::format!("{:?}: {e}", e.kind()))
}
