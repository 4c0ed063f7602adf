//! The shared upstream client over TLS, against a local TLS server with a self-signed
//! certificate: HTTP/2 when the upstream offers it by ALPN (HTTP/1.1 when it does not), one
//! pooled connection for sequential requests, and a connect timeout that covers the TLS
//! handshake (a host that accepts TCP but never answers the handshake).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests fail by panicking"
)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use switchyard_providers::client::HttpClient;
use tokio::net::TcpListener;

/// A TLS server offering `alpn` that answers every request with the HTTP version it saw.
/// Returns its address, a root store trusting its certificate, and its accepted-connection
/// count.
async fn tls_upstream(alpn: &[&[u8]]) -> (SocketAddr, rustls::RootCertStore, Arc<AtomicUsize>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let issued = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let cert = issued.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.signing_key.serialize_der()));
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.clone()).unwrap();
    let mut config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    let seen = format!("{:?}", req.version());
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(seen))))
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (addr, roots, accepted)
}

fn get(port: u16) -> Request<Full<Bytes>> {
    Request::get(format!("https://localhost:{port}/v1/models"))
        .body(Full::new(Bytes::new()))
        .unwrap()
}

/// Sends a GET and returns the response's version and the version the server saw.
async fn exchange(client: &HttpClient, port: u16) -> (Version, String) {
    let resp = tokio::time::timeout(Duration::from_secs(10), client.send(get(port)))
        .await
        .expect("no answer within 10 s")
        .expect("request failed");
    let version = resp.version();
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (version, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn http2_is_used_when_the_upstream_offers_it_and_its_connection_is_reused() {
    let (addr, roots, accepted) = tls_upstream(&[b"h2", b"http/1.1"]).await;
    let client = HttpClient::with_roots(Duration::from_secs(5), roots).unwrap();
    for _ in 0..3 {
        let (version, seen) = exchange(&client, addr.port()).await;
        assert_eq!(version, Version::HTTP_2);
        assert_eq!(seen, "HTTP/2.0");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "one pooled connection");
}

#[tokio::test]
async fn http1_is_used_when_the_upstream_offers_only_http1() {
    let (addr, roots, accepted) = tls_upstream(&[b"http/1.1"]).await;
    let client = HttpClient::with_roots(Duration::from_secs(5), roots).unwrap();
    for _ in 0..3 {
        let (version, seen) = exchange(&client, addr.port()).await;
        assert_eq!(version, Version::HTTP_11);
        assert_eq!(seen, "HTTP/1.1");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1, "kept alive and reused");
}

#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    let (addr, _roots, _) = tls_upstream(&[b"h2"]).await;
    let client = HttpClient::new(Duration::from_secs(5)).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), client.send(get(addr.port())))
        .await
        .expect("no answer within 10 s");
    let Err(err) = outcome else {
        panic!("a self-signed certificate must not be trusted by default");
    };
    assert!(err.is_connect(), "{err}");
}

#[tokio::test]
async fn the_connect_timeout_covers_a_tls_handshake_that_never_completes() {
    // Accepts TCP connections and holds them without a word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let client = HttpClient::new(Duration::from_millis(200)).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), client.send(get(port)))
        .await
        .expect("the connect timeout must end a stuck TLS handshake");
    let Err(err) = outcome else {
        panic!("nothing was answered");
    };
    assert!(err.is_connect(), "{err}");
    let mut chain = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(s) = source {
        chain.push_str(&format!(": {s}"));
        source = s.source();
    }
    assert!(chain.contains("timed out"), "{chain}");
}
