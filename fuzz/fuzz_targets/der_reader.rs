//! The strict DER reader and writer (`mbedtls_verify::der`) and the pure-Rust parsers
//! around it (names, GeneralNames, extensions, basicConstraints, hex, dates, OIDs,
//! algorithm and EKU names), on arbitrary bytes.
//!
//! Invariants: no panic; every element read re-encodes byte for byte with `Writer`
//! (DER has one encoding); OIDs round-trip through dotted text; integers through u64;
//! the text parsers round-trip what they accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mbedtls_verify::der::{integer_to_u64, Oid, Reader, Writer};
use mbedtls_verify::policy::parse_sha256_hex;
use mbedtls_verify::x509::{
    parse_hex, to_hex, BasicConstraints, DateTime, ExtendedKeyUsage, Extensions, IpAddress, Name,
    SignatureAlgorithm, SubjectAltName,
};

fn walk(data: &[u8], depth: usize) {
    let mut r = Reader::new(data);
    let mut elements = 0;
    while !r.is_empty() && elements < 256 {
        let before = r.remaining();
        let Ok(t) = r.read_tlv() else { return };
        elements += 1;
        assert!(before.starts_with(t.raw));
        assert!(t.raw.ends_with(t.contents));
        assert_eq!(r.remaining(), &before[t.raw.len()..]);
        let mut w = Writer::new();
        w.tlv(t.tag, t.contents);
        assert_eq!(w.as_bytes(), t.raw, "DER re-encoding differs");

        let mut one = Reader::new(t.raw);
        match t.tag {
            0x01 => {
                if let Ok(b) = one.read_bool() {
                    let mut w = Writer::new();
                    w.bool(b);
                    assert_eq!(w.as_bytes(), t.raw);
                }
            }
            0x02 => {
                if let Ok(c) = one.read_integer() {
                    if let Ok(v) = integer_to_u64(c) {
                        assert_eq!(Reader::new(t.raw).read_u64(), Ok(v));
                        let mut w = Writer::new();
                        w.integer_u64(v);
                        assert_eq!(w.as_bytes(), t.raw, "INTEGER {v} re-encodes differently");
                    }
                }
            }
            0x06 => {
                if let Ok(o) = one.read_oid() {
                    let dotted = o.to_string();
                    let back = Oid::from_dotted(&dotted).expect("a valid OID's text parses");
                    assert_eq!(back, o, "OID {dotted} round trip");
                    assert!(o.arcs().count() >= 2);
                }
            }
            _ => {}
        }
        let _ = Oid::parse(t.contents).map(|o| o.to_string());
        if t.tag & 0x20 != 0 && depth < 16 {
            walk(t.contents, depth + 1);
        }
    }
}

fn text(s: &str) {
    if let Some(b) = parse_hex(s) {
        let plain: String = s.chars().filter(|&c| c != ':').collect();
        assert_eq!(to_hex(&b), plain.to_ascii_lowercase());
    }
    let _ = parse_sha256_hex(s);
    if let Some(t) = DateTime::parse_rfc3339(s) {
        assert!(t.is_valid(), "{s} parsed to an invalid date {t:?}");
        assert_eq!(DateTime::from_unix(t.unix_timestamp()), Some(t));
        let _ = t.to_string();
    }
    if let Ok(o) = Oid::from_dotted(s) {
        assert!(o.is_valid());
        assert_eq!(o.to_string(), s, "dotted OID round trip");
    }
    if let Some(e) = ExtendedKeyUsage::from_name(s) {
        assert_eq!(ExtendedKeyUsage::from_name(&e.to_string()), Some(e.clone()));
    }
    if let Some(a) = SignatureAlgorithm::from_name(s) {
        assert_eq!(
            SignatureAlgorithm::from_name(&a.to_string()),
            Some(a.clone())
        );
    }
    if let Some(ip) = IpAddress::parse(s) {
        assert_eq!(IpAddress::from_bytes(ip.as_bytes()), Some(ip));
        assert_eq!(IpAddress::parse(&ip.to_string()), Some(ip));
    }
}

fuzz_target!(|data: &[u8]| {
    walk(data, 0);

    let n = Name::from_der(data);
    let _ = (n.to_string_lossy(), n.is_well_formed(), n.common_name());
    for e in Extensions::from_der(data).take(256) {
        let _ = e.map(|e| e.oid.to_string());
    }
    let _ = BasicConstraints::from_extensions(Extensions::from_der(data));
    let bc = BasicConstraints::from_extension_value(data);
    if let BasicConstraints::Valid { ca, path_len } = bc {
        assert!(ca || path_len.is_none(), "pathLen without cA accepted");
        // A valid value is DER: it re-encodes to the same bytes.
        let mut w = Writer::new();
        w.sequence(|w| {
            if ca {
                w.bool(true);
            }
            if let Some(p) = path_len {
                w.integer_u64(u64::from(p));
            }
        });
        assert_eq!(
            w.as_bytes(),
            data,
            "basicConstraints {bc:?} is not the input"
        );
    }
    if let Some((&tag, rest)) = data.split_first() {
        let san = SubjectAltName::from_general_name(tag, rest);
        let _ = san.to_string();
        match san {
            SubjectAltName::Dns(s) | SubjectAltName::Email(s) | SubjectAltName::Uri(s) => {
                assert!(s.bytes().all(|b| (0x20..0x7F).contains(&b)));
            }
            _ => {}
        }
    }
    if let Ok(s) = std::str::from_utf8(data) {
        text(s);
    }
});
