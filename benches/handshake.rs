//! Complete in-memory handshakes (`ssl::mem`): a fresh client and server session per
//! iteration on configurations built once, TLS 1.3 and 1.2, server-authenticated and
//! mutual, P-256 and RSA-2048 certificates. Mutual P-256 also with the hook and the
//! policy on the server (what they add to a handshake).

mod common;

use std::time::Duration;

use common::*;
use criterion::{criterion_group, criterion_main};
use mbedtls_verify::ssl::mem::{memory_pair, run_handshakes};
use mbedtls_verify::ssl::{ClientConfig, ServerConfig, Session, TlsVersion};

fn handshake(server: &ServerConfig, client: &ClientConfig) {
    let (a, b) = memory_pair();
    let mut c = Session::client(client, SERVER_NAME, a).unwrap();
    let mut s = Session::server(server, b).unwrap();
    let (rc, rs) = run_handshakes(&mut c, &mut s);
    rc.expect("client handshake");
    rs.expect("server handshake");
}

fn bench(c: &mut criterion::Criterion) {
    for alg in Alg::ALL {
        let p = pki(alg);
        let mut g = c.benchmark_group(format!("handshake/{}", alg.name()));
        for v in [TlsVersion::Tls13, TlsVersion::Tls12] {
            for mode in [Mode::ServerAuth, Mode::Mutual] {
                let extras: &[Extra] = if alg == Alg::P256 && mode == Mode::Mutual {
                    &[Extra::Plain, Extra::HookAndPolicy]
                } else {
                    &[Extra::Plain]
                };
                for &extra in extras {
                    let server = server_config(&p, v, mode, extra);
                    let client = client_config(&p, v, mode);
                    handshake(&server, &client);
                    let mut name = format!("{}/{}", version_name(v), mode.name());
                    if extra != Extra::Plain {
                        name = format!("{name}/{}", extra.name());
                    }
                    g.bench_function(name, |b| b.iter(|| handshake(&server, &client)));
                }
            }
        }
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = criterion(Duration::from_secs(2)).sample_size(10);
    targets = bench
}
criterion_main!(benches);
