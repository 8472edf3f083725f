//! embassy-net's `TcpSocket` as the stream `mbedtls_verify::ssl::asynch::AsyncSession`
//! runs over.
//!
//! `AsyncSession` is generic over `embedded_io_async` **0.6** `Read + Write`; embassy-net
//! 0.9 implements those traits from embedded-io-async **0.7**, which are different traits
//! to the compiler. This wrapper forwards to the socket's own async `read`, `write` and
//! `flush` (it borrows the socket, so the accept loop can reuse it after the session).

use embassy_net::tcp::TcpSocket;
use embedded_io_async::{ErrorKind, ErrorType, Read, Write};

/// A borrowed, connected TCP socket.
pub struct TcpStream<'s, 'a>(pub &'s mut TcpSocket<'a>);

/// The peer reset the connection (embassy-net's only read/write error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionReset;

impl embedded_io_async::Error for ConnectionReset {
    fn kind(&self) -> ErrorKind {
        ErrorKind::ConnectionReset
    }
}

impl ErrorType for TcpStream<'_, '_> {
    type Error = ConnectionReset;
}

impl Read for TcpStream<'_, '_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, ConnectionReset> {
        self.0.read(buf).await.map_err(|_| ConnectionReset)
    }
}

impl Write for TcpStream<'_, '_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, ConnectionReset> {
        self.0.write(buf).await.map_err(|_| ConnectionReset)
    }

    async fn flush(&mut self) -> Result<(), ConnectionReset> {
        self.0.flush().await.map_err(|_| ConnectionReset)
    }
}
