//! The async session (feature `async`, embedded-io-async) and the blocking embedded-io
//! transport, against a blocking std client over loopback TCP.

#[path = "../mbedtls-verify/tests/common/mod.rs"]
mod pki;

use std::net::{TcpListener, TcpStream};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mbedtls_verify::ssl::asynch::AsyncSession;
use mbedtls_verify::ssl::{
    ClientAuth, ClientConfig, EmbeddedIo, Identity, ServerConfig, Session, StdIo,
};
use mbedtls_verify::trust::Trust;
use pki::*;

/// An embedded-io(-async) stream over a blocking TcpStream (ready at once when polled).
struct Tcp(TcpStream);

#[derive(Debug)]
struct TcpError(std::io::ErrorKind);
impl std::fmt::Display for TcpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TCP: {}", self.0)
    }
}
impl std::error::Error for TcpError {}
impl embedded_io::Error for TcpError {
    fn kind(&self) -> embedded_io::ErrorKind {
        match self.0 {
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock => {
                embedded_io::ErrorKind::TimedOut
            }
            std::io::ErrorKind::ConnectionReset => embedded_io::ErrorKind::ConnectionReset,
            _ => embedded_io::ErrorKind::Other,
        }
    }
}
impl embedded_io::ErrorType for Tcp {
    type Error = TcpError;
}
impl embedded_io_async::Read for Tcp {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        std::io::Read::read(&mut self.0, buf).map_err(|e| TcpError(e.kind()))
    }
}
impl embedded_io_async::Write for Tcp {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, TcpError> {
        std::io::Write::write(&mut self.0, buf).map_err(|e| TcpError(e.kind()))
    }
    async fn flush(&mut self) -> Result<(), TcpError> {
        Ok(())
    }
}
impl embedded_io::Read for Tcp {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, TcpError> {
        std::io::Read::read(&mut self.0, buf).map_err(|e| TcpError(e.kind()))
    }
}
impl embedded_io::Write for Tcp {
    fn write(&mut self, buf: &[u8]) -> Result<usize, TcpError> {
        std::io::Write::write(&mut self.0, buf).map_err(|e| TcpError(e.kind()))
    }
    fn flush(&mut self) -> Result<(), TcpError> {
        Ok(())
    }
}

/// Run a future whose I/O never pends (blocking sockets underneath).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = pin!(f);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

#[test]
fn async_server_and_embedded_io_client() {
    let root = root("Async Root");
    let server_leaf = server_leaf(&root, "device.local");
    let dev = client_leaf(&root, "device-1", vec![]);
    let server = ServerConfig::builder()
        .identity(Identity::new(server_leaf.cert.clone(), key_copy(&server_leaf.key)).unwrap())
        .client_auth(ClientAuth::Required)
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(dev.cert.clone(), key_copy(&dev.key)).unwrap())
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let client_thread = std::thread::spawn(move || {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut tls = Session::client(&client, "device.local", EmbeddedIo(Tcp(stream))).unwrap();
        tls.write_all(b"hello").unwrap();
        let mut buf = [0u8; 5];
        let mut got = 0;
        while got < 5 {
            got += tls.read(&mut buf[got..]).unwrap();
        }
        assert_eq!(&buf, b"HELLO");
        tls.close().unwrap();
    });
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    block_on(async {
        let mut tls = AsyncSession::server(&server, Tcp(stream)).unwrap();
        tls.handshake().await.unwrap();
        assert_eq!(
            tls.verified_peer().unwrap().leaf().subject().common_name(),
            Some("device-1")
        );
        let mut buf = [0u8; 5];
        let mut got = 0;
        while got < 5 {
            got += tls.read(&mut buf[got..]).await.unwrap();
        }
        tls.write_all(&buf.to_ascii_uppercase()).await.unwrap();
        let mut rest = [0u8; 8];
        assert_eq!(tls.read(&mut rest).await.unwrap(), 0, "close_notify");
    });
    client_thread.join().unwrap();
}

#[test]
fn async_server_refuses_an_untrusted_client() {
    let root = root("Async Root");
    let other = pki::root("Other");
    let server_leaf = server_leaf(&root, "device.local");
    let stranger = client_leaf(&other, "device-1", vec![]);
    let server = ServerConfig::builder()
        .identity(Identity::new(server_leaf.cert.clone(), key_copy(&server_leaf.key)).unwrap())
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .build()
        .unwrap();
    let client = ClientConfig::builder()
        .trust(Trust::anchors(root.cert.clone()).unwrap())
        .identity(Identity::new(stranger.cert.clone(), key_copy(&stranger.key)).unwrap())
        .build()
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut tls = Session::client(&client, "device.local", StdIo(stream)).unwrap();
        let _ = tls.handshake();
        let mut b = [0u8; 1];
        assert!(tls.read(&mut b).is_err() || tls.read(&mut b).unwrap_or(1) == 0);
    });
    let (stream, _) = listener.accept().unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let r = block_on(async {
        AsyncSession::server(&server, Tcp(stream))
            .unwrap()
            .handshake()
            .await
    });
    assert!(r.is_err());
    t.join().unwrap();
}
