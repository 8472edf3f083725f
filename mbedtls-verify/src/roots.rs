//! Public root certificates kept in flash and found through the CA callback.
//!
//! A [`RootBundle`] is one compact, read-only byte string — the certificates' DER, plus an
//! index sorted by subject name — that firmware stores as static bytes
//! (`include_bytes!`). Used as [`Trust`] ([`RootBundle::trust`]), it answers mbedTLS's CA
//! callback (`mbedtls_ssl_conf_ca_cb`): for the certificate whose issuer is sought, a
//! binary search over the index finds the roots whose subject is that issuer name, and
//! only those are parsed — in place, without a copy (`mbedtls_x509_crt_parse_der_nocopy`)
//! when the bundle is `'static`. Loading a whole public root set with
//! `mbedtls_ssl_conf_ca_chain` instead parses every root up front and keeps them all in RAM.
//!
//! The bundle only proposes candidates: mbedTLS still checks each one (name, signature,
//! CA bit, validity), so a wrong or damaged index can hide a root (the chain then fails
//! as untrusted) but never make an untrusted chain pass. Names are compared byte for
//! byte (the issuer's DER against the root's subject DER); a chain whose issuer name is
//! encoded differently from its root's subject is not found (fail closed). Public CAs
//! issue with the root's subject bytes copied, as RFC 5280 §4.1.2.4 asks.
//!
//! Build a bundle with [`RootBundle::build`] (or the CLI: `mbedtls-verify bundle build
//! --out roots.bin ROOTS.pem...`).
//!
//! # Format (version 1)
//!
//! | bytes | what |
//! |---|---|
//! | 0–3 | magic `MVRB` |
//! | 4 | version, 1 |
//! | 5–7 | zero |
//! | 8–11 | number of certificates `n`, little-endian |
//! | 12 … 12 + 12·n | index entries, sorted by subject bytes (ties by certificate bytes): certificate offset (u32 LE, from the start of the bundle), certificate length (u32 LE), subject offset inside the certificate (u16 LE), subject length (u16 LE) |
//! | then | the certificates' DER, one after another |

use alloc::vec::Vec;
use core::cmp::Ordering;
use core::fmt;

use crate::error::{Error, Result};
use crate::sync::Arc;
use crate::trust::{CaCandidates, CaLookupError, Trust};
use crate::x509::{CertChain, CertRef};

const MAGIC: &[u8; 4] = b"MVRB";
const VERSION: u8 = 1;
const HEADER: usize = 12;
const ENTRY: usize = 12;

/// Where a bundle's bytes live.
#[derive(Clone)]
enum Bytes {
    /// In flash (or any `'static` memory): candidates are parsed in place.
    Static(&'static [u8]),
    /// On the heap: candidates are copied into mbedTLS's allocator.
    Owned(Arc<Vec<u8>>),
}

impl Bytes {
    fn get(&self) -> &[u8] {
        match self {
            Bytes::Static(b) => b,
            Bytes::Owned(v) => v.as_slice(),
        }
    }
}

/// A sorted, indexed set of root certificates (see the module documentation).
#[derive(Clone)]
pub struct RootBundle {
    bytes: Bytes,
    count: usize,
}

impl fmt::Debug for RootBundle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootBundle")
            .field("roots", &self.count)
            .field("bytes", &self.bytes.get().len())
            .field("static", &matches!(self.bytes, Bytes::Static(_)))
            .finish()
    }
}

/// One index entry, resolved to slices of the bundle.
#[derive(Debug, Clone, Copy)]
struct Entry<'b> {
    cert: &'b [u8],
    subject: &'b [u8],
}

fn u32_at(b: &[u8], at: usize) -> usize {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
}

fn u16_at(b: &[u8], at: usize) -> usize {
    u16::from_le_bytes([b[at], b[at + 1]]) as usize
}

fn bad(what: &str) -> Error {
    Error::InvalidInput(alloc::format!("root bundle: {what}"))
}

impl RootBundle {
    /// A bundle in static memory (e.g. `include_bytes!` in flash): checked once here
    /// (header, bounds, order; O(n), nothing parsed), then used in place.
    pub fn from_static(bytes: &'static [u8]) -> Result<Self> {
        Self::checked(Bytes::Static(bytes))
    }

    /// A bundle read at run time (e.g. from a file); candidates are copied when used.
    pub fn from_vec(bytes: Vec<u8>) -> Result<Self> {
        Self::checked(Bytes::Owned(Arc::new(bytes)))
    }

    fn checked(bytes: Bytes) -> Result<Self> {
        let b = bytes.get();
        if b.len() < HEADER || &b[..4] != MAGIC {
            return Err(bad("not a bundle (no MVRB header)"));
        }
        if b[4] != VERSION || b[5..8] != [0, 0, 0] {
            return Err(bad("unsupported version"));
        }
        let count = u32_at(b, 8);
        let index_end = count
            .checked_mul(ENTRY)
            .and_then(|n| n.checked_add(HEADER))
            .filter(|&e| e <= b.len())
            .ok_or_else(|| bad("index runs past the end"))?;
        let mut prev: Option<Entry<'_>> = None;
        for i in 0..count {
            let e = entry_in(b, i).ok_or_else(|| bad("an entry points outside the bundle"))?;
            let cert_start = e.cert.as_ptr() as usize - b.as_ptr() as usize;
            if cert_start < index_end || e.subject.is_empty() {
                return Err(bad("an entry overlaps the index or has no subject"));
            }
            if let Some(p) = prev {
                if order(&p, &e) == Ordering::Greater {
                    return Err(bad("the index is not sorted"));
                }
            }
            prev = Some(e);
        }
        Ok(RootBundle { bytes, count })
    }

    fn entry(&self, i: usize) -> Option<Entry<'_>> {
        entry_in(self.bytes.get(), i)
    }

    /// How many roots the bundle holds.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Every root's DER, in the bundle's (subject) order.
    pub fn certificates(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.count).filter_map(|i| self.entry(i).map(|e| e.cert))
    }

    /// The bundle's bytes (what to store in flash).
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get()
    }

    /// The DER of every root whose subject is exactly `issuer` (DER): a binary search,
    /// then the run of equal subjects.
    pub fn find<'s, 'i>(
        &'s self,
        issuer: &'i [u8],
    ) -> impl Iterator<Item = &'s [u8]> + use<'s, 'i> {
        find_in(self.bytes.get(), self.count, issuer)
    }

    /// The candidates for `child`'s issuer, as the CA callback hands them to mbedTLS:
    /// parsed in place from a `'static` bundle, copied from an owned one.
    #[doc(alias = "mbedtls_x509_crt_parse_der_nocopy")]
    pub fn candidates(&self, child: CertRef<'_>) -> Result<CaCandidates> {
        let mut out = CaCandidates::none();
        let issuer = child.issuer().der();
        match &self.bytes {
            Bytes::Static(b) => {
                for der in find_in(b, self.count, issuer) {
                    out.push_static_der(der)?;
                }
            }
            Bytes::Owned(v) => {
                for der in find_in(v, self.count, issuer) {
                    out.push_der(der)?;
                }
            }
        }
        Ok(out)
    }

    /// Trust the bundle's roots through the CA callback (`mbedtls_ssl_conf_ca_cb`); a
    /// root that fails to parse fails the verification.
    #[doc(alias = "mbedtls_ssl_conf_ca_cb")]
    pub fn trust(self) -> Trust {
        Trust::callback(move |child| {
            self.candidates(child)
                .map_err(|e| CaLookupError(alloc::format!("root bundle: {e}")))
        })
    }

    /// Every root, parsed into one chain: what `mbedtls_ssl_conf_ca_chain` would load
    /// (for comparison, or for [`Trust::anchors`]).
    pub fn to_chain(&self) -> Result<CertChain> {
        let mut chain = CertChain::new()?;
        for der in self.certificates() {
            chain.push_der(der)?;
        }
        Ok(chain)
    }

    /// Build a bundle from DER certificates (any order; exact duplicates are kept once).
    /// Each is parsed to find its subject; a certificate that does not parse, or whose
    /// subject is longer than 65 535 bytes, is an error.
    pub fn build<'c>(certs: impl IntoIterator<Item = &'c [u8]>) -> Result<Vec<u8>> {
        let mut items: Vec<(Vec<u8>, usize, usize)> = Vec::new();
        for der in certs {
            let chain = CertChain::from_der(der)?;
            let cert = chain.first().ok_or_else(|| bad("empty certificate"))?;
            let whole = cert.der();
            let subject = cert.subject().der();
            let s_off = subject.as_ptr() as usize - whole.as_ptr() as usize;
            if s_off > usize::from(u16::MAX) || subject.len() > usize::from(u16::MAX) {
                return Err(bad("a subject name is too large"));
            }
            items.push((whole.to_vec(), s_off, subject.len()));
        }
        items.sort_by(|x, y| {
            x.0[x.1..x.1 + x.2]
                .cmp(&y.0[y.1..y.1 + y.2])
                .then_with(|| x.0.cmp(&y.0))
        });
        items.dedup_by(|a, b| a.0 == b.0);
        let count = u32::try_from(items.len()).map_err(|_| bad("too many certificates"))?;
        let mut out = Vec::new();
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&[VERSION, 0, 0, 0]);
        out.extend_from_slice(&count.to_le_bytes());
        let mut off = HEADER + items.len() * ENTRY;
        for (der, s_off, s_len) in &items {
            let o = u32::try_from(off).map_err(|_| bad("bundle larger than 4 GiB"))?;
            let l = u32::try_from(der.len()).map_err(|_| bad("certificate too large"))?;
            out.extend_from_slice(&o.to_le_bytes());
            out.extend_from_slice(&l.to_le_bytes());
            out.extend_from_slice(&(*s_off as u16).to_le_bytes());
            out.extend_from_slice(&(*s_len as u16).to_le_bytes());
            off += der.len();
        }
        for (der, _, _) in &items {
            out.extend_from_slice(der);
        }
        Ok(out)
    }
}

/// Entry `i` of the bundle `b`, or `None` if its offsets do not fit.
fn entry_in(b: &[u8], i: usize) -> Option<Entry<'_>> {
    let at = HEADER + i * ENTRY;
    let (off, len) = (u32_at(b, at), u32_at(b, at + 4));
    let (s_off, s_len) = (u16_at(b, at + 8), u16_at(b, at + 10));
    let cert = b.get(off..off.checked_add(len)?)?;
    let subject = cert.get(s_off..s_off.checked_add(s_len)?)?;
    Some(Entry { cert, subject })
}

/// The certificates of `b` (holding `count` checked entries) whose subject is `issuer`.
fn find_in<'b, 'i>(
    b: &'b [u8],
    count: usize,
    issuer: &'i [u8],
) -> impl Iterator<Item = &'b [u8]> + use<'b, 'i> {
    let first = partition_point(count, |i| {
        entry_in(b, i).is_some_and(|e| e.subject < issuer)
    });
    (first..count)
        .map_while(move |i| entry_in(b, i).filter(|e| e.subject == issuer))
        .map(|e| e.cert)
}

fn order(a: &Entry<'_>, b: &Entry<'_>) -> Ordering {
    a.subject.cmp(b.subject).then_with(|| a.cert.cmp(b.cert))
}

/// The first index in `0..n` for which `before` is false (`before` is true, then false).
fn partition_point(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::CertificateBuilder;
    use crate::pk::{KeyType, PrivateKey};

    fn root(cn: &str) -> Vec<u8> {
        let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
        CertificateBuilder::new(&alloc::format!("CN={cn}"))
            .ca(None)
            .self_signed_der(&key)
            .unwrap()
    }

    #[test]
    fn build_sorts_and_find_returns_every_root_of_a_subject() {
        let (a, b1, b2, c) = (root("A"), root("B"), root("B"), root("C"));
        let bytes = RootBundle::build([&c[..], &b1, &a, &b2, &a]).unwrap();
        let bundle = RootBundle::from_vec(bytes).unwrap();
        assert_eq!(bundle.len(), 4, "the duplicate of A is kept once");
        let subject_of = |der: &[u8]| {
            CertChain::from_der(der)
                .unwrap()
                .first()
                .unwrap()
                .subject()
                .der()
                .to_vec()
        };
        let b_subject = subject_of(&b1);
        let found: Vec<&[u8]> = bundle.find(&b_subject).collect();
        assert_eq!(found.len(), 2);
        assert!(found.contains(&&b1[..]) && found.contains(&&b2[..]));
        assert_eq!(bundle.find(&subject_of(&a)).collect::<Vec<_>>(), [&a[..]]);
        assert_eq!(bundle.find(&subject_of(&c)).collect::<Vec<_>>(), [&c[..]]);
        assert_eq!(bundle.find(&subject_of(&root("D"))).count(), 0);
        assert_eq!(bundle.to_chain().unwrap().len(), 4);
    }

    #[test]
    fn damaged_bundles_are_refused() {
        let bytes = RootBundle::build([&root("A")[..], &root("B")]).unwrap();
        assert!(RootBundle::from_vec(bytes.clone()).is_ok());
        let mut magic = bytes.clone();
        magic[0] = b'X';
        assert!(RootBundle::from_vec(magic).is_err());
        let mut version = bytes.clone();
        version[4] = 2;
        assert!(RootBundle::from_vec(version).is_err());
        let mut count = bytes.clone();
        count[8] = 200;
        assert!(RootBundle::from_vec(count).is_err());
        let mut past_end = bytes.clone();
        past_end[HEADER + 4] = 0xFF; // first certificate's length
        past_end[HEADER + 5] = 0xFF;
        assert!(RootBundle::from_vec(past_end).is_err());
        // Swap the two index entries: no longer sorted.
        let mut unsorted = bytes.clone();
        let (e0, e1) = (HEADER, HEADER + ENTRY);
        let first: Vec<u8> = unsorted[e0..e1].to_vec();
        unsorted.copy_within(e1..e1 + ENTRY, e0);
        unsorted[e1..e1 + ENTRY].copy_from_slice(&first);
        assert!(RootBundle::from_vec(unsorted).is_err());
        assert!(RootBundle::from_vec(bytes[..bytes.len() - 1].to_vec()).is_err());
        assert!(RootBundle::from_vec(Vec::new()).is_err());
    }
}
