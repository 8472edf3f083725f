//! A minimal SNTP client (RFC 4330, unicast, client mode) over embassy-net UDP: one
//! request, one answer, the transmit timestamp as the time.
//!
//! SNTP is unauthenticated. What this client does about it: the request carries a random
//! 64-bit nonce in its transmit timestamp, and only an answer from the queried address
//! and port that echoes it (as the originate timestamp) is accepted; the answer must be
//! from a synchronised server (leap indicator not 3, stratum 1-15). `clock::set` then
//! refuses any time older than the firmware's build. An on-path attacker can still shift
//! the clock forward or back above that floor; a product that needs more uses an
//! authenticated time source.

use embassy_net::dns::DnsQueryType;
use embassy_net::udp::{PacketMetadata, UdpSocket};
use embassy_net::{IpAddress, Stack};
use embassy_time::{Duration, with_timeout};

/// Seconds from 1900-01-01 (NTP era 0) to 1970-01-01.
const NTP_TO_UNIX: i64 = 2_208_988_800;
const NTP_PORT: u16 = 123;
const PACKET: usize = 48;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error {
    /// The server name did not resolve.
    Dns,
    /// The UDP socket could not be bound or the request not sent.
    Socket,
    /// No acceptable answer within the time limit.
    Timeout,
    /// No entropy for the nonce.
    NoEntropy,
    /// An answer that is not a valid, synchronised server reply to this request.
    BadReply,
}

/// Ask `server` (a name or an IPv4 address) for the time; Unix seconds.
pub async fn query(stack: Stack<'_>, server: &str, timeout: Duration) -> Result<i64, Error> {
    let addrs = stack
        .dns_query(server, DnsQueryType::A)
        .await
        .map_err(|_| Error::Dns)?;
    let addr: IpAddress = *addrs.first().ok_or(Error::Dns)?;

    let mut rx_meta = [PacketMetadata::EMPTY; 2];
    let mut rx_buf = [0u8; 2 * PACKET];
    let mut tx_meta = [PacketMetadata::EMPTY; 1];
    let mut tx_buf = [0u8; PACKET];
    let mut socket = UdpSocket::new(stack, &mut rx_meta, &mut rx_buf, &mut tx_meta, &mut tx_buf);
    socket.bind(0).map_err(|_| Error::Socket)?; // an ephemeral port

    let mut nonce = [0u8; 8];
    if !crate::entropy::fill(&mut nonce) {
        return Err(Error::NoEntropy);
    }
    let mut request = [0u8; PACKET];
    request[0] = (4 << 3) | 3; // LI 0, version 4, mode 3 (client)
    request[40..48].copy_from_slice(&nonce);
    socket
        .send_to(&request, (addr, NTP_PORT))
        .await
        .map_err(|_| Error::Socket)?;

    let answer = async {
        let mut reply = [0u8; 2 * PACKET];
        loop {
            let Ok((n, meta)) = socket.recv_from(&mut reply).await else {
                continue;
            };
            if meta.endpoint.addr != addr || meta.endpoint.port != NTP_PORT {
                continue; // not from the server we asked
            }
            return parse_reply(&reply[..n], &nonce);
        }
    };
    with_timeout(timeout, answer)
        .await
        .map_err(|_| Error::Timeout)?
}

/// Validate a server reply to the request that carried `nonce`; its time in Unix seconds.
fn parse_reply(reply: &[u8], nonce: &[u8; 8]) -> Result<i64, Error> {
    if reply.len() < PACKET {
        return Err(Error::BadReply);
    }
    let leap = reply[0] >> 6;
    let version = (reply[0] >> 3) & 7;
    let mode = reply[0] & 7;
    let stratum = reply[1];
    if leap == 3 || !(3..=4).contains(&version) || mode != 4 || !(1..=15).contains(&stratum) {
        return Err(Error::BadReply);
    }
    if reply[24..32] != nonce[..] {
        return Err(Error::BadReply); // not an answer to our request
    }
    let secs = u32::from_be_bytes([reply[40], reply[41], reply[42], reply[43]]);
    if secs == 0 {
        return Err(Error::BadReply);
    }
    // RFC 4330 section 3: with the top bit clear the time is in era 1 (from 2036-02-07).
    let ntp = if secs & 0x8000_0000 == 0 {
        i64::from(secs) + (1i64 << 32)
    } else {
        i64::from(secs)
    };
    Ok(ntp - NTP_TO_UNIX)
}
