//! AWS Signature Version 4 (header form), written against AWS's published algorithm and test
//! suite. Hand-written on `ring` (already compiled for rustls) instead of the `aws-sigv4` crate:
//! measured here, `aws-sigv4` + `aws-credential-types` add ~30 crates (smithy runtime, `time`,
//! RustCrypto; 14 s of a cold debug build on 2 cores) and need Rust 1.94 while the workspace
//! targets 1.85. The algorithm itself is ~150 lines, tested against AWS's vectors
//! (tests/bedrock_sigv4.rs) and an independently computed Bedrock request (tests/bedrock.rs).
//!
//! Non-S3 rules: the canonical URI URI-encodes each path segment of the path *as sent* (so an
//! already-encoded Bedrock model id `a%3Ab` is signed as `a%253Ab`); query keys and values are
//! encoded and sorted; header values are trimmed with inner runs of spaces collapsed.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use http::{HeaderName, HeaderValue};
use ring::{digest, hmac};
use switchyard_types::{GatewayError, Secret};

use crate::WireRequest;

/// Static AWS credentials. `Debug` never shows the secrets.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub access_key_id: Secret<String>,
    pub secret_access_key: Secret<String>,
    pub session_token: Option<Secret<String>>,
}

/// `YYYYMMDD'T'HHMMSS'Z'` for `t` (UTC).
pub fn amz_date(t: SystemTime) -> String {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date from days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// Hex SHA-256 of `data` (the payload hash).
pub fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac_sha256(key: &[u8], data: &[u8]) -> hmac::Tag {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data)
}

/// RFC 3986 encoding as SigV4 wants it: unreserved characters stay, every other byte is `%XX`
/// (upper-case hex); `/` stays only when `keep_slash`.
pub fn uri_encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (keep_slash && b == b'/')
        {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex_val(b[i + 1]), hex_val(b[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Canonical URI: each segment of the path as sent, encoded once more.
pub fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    uri_encode(path, true)
}

/// Canonical query string: keys and values decoded, re-encoded, sorted.
pub fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (
                uri_encode(&percent_decode(k), false),
                uri_encode(&percent_decode(v), false),
            )
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// Lower-cased names, trimmed values with inner space runs collapsed, duplicates joined with
/// `,`, sorted by name.
fn canonical_headers(headers: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.to_ascii_lowercase();
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        match out.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => {
                v.push(',');
                v.push_str(&value);
            }
            None => out.push((name, value)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// The pieces of one signing computation, exposed for tests and for fake upstreams that verify
/// signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    pub canonical_request: String,
    pub string_to_sign: String,
    pub signed_headers: String,
    pub signature: String,
    /// The full `Authorization` header value.
    pub authorization: String,
}

/// What is signed: the request as it goes on the wire.
#[derive(Debug, Clone, Copy)]
pub struct SignedRequest<'a> {
    pub method: &'a str,
    /// The path as sent (already percent-encoded where needed).
    pub path: &'a str,
    pub query: &'a str,
    /// Every header to sign, `host` and `x-amz-date` included.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body.
    pub payload_hash: &'a str,
}

/// Who signs, where, and when.
#[derive(Debug, Clone, Copy)]
pub struct SigningScope<'a> {
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub region: &'a str,
    pub service: &'a str,
    /// `YYYYMMDD'T'HHMMSS'Z'`, equal to the `x-amz-date` header.
    pub amz_date: &'a str,
}

/// Signs a request described by its parts.
pub fn sign_parts(req: &SignedRequest<'_>, scope: &SigningScope<'_>) -> Signature {
    let SignedRequest {
        method,
        path,
        query,
        headers,
        payload_hash,
    } = *req;
    let SigningScope {
        access_key_id,
        secret_access_key,
        region,
        service,
        amz_date,
    } = *scope;
    let headers = canonical_headers(headers);
    let signed_headers = headers
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut canonical = String::new();
    let _ = write!(
        canonical,
        "{method}\n{}\n{}\n",
        canonical_uri(path),
        canonical_query(query)
    );
    for (n, v) in &headers {
        let _ = writeln!(canonical, "{n}:{v}");
    }
    let _ = write!(canonical, "\n{signed_headers}\n{payload_hash}");
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac_sha256(
        format!("AWS4{secret_access_key}").as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac_sha256(k_date.as_ref(), region.as_bytes());
    let k_service = hmac_sha256(k_region.as_ref(), service.as_bytes());
    let k_signing = hmac_sha256(k_service.as_ref(), b"aws4_request");
    let signature = hex(hmac_sha256(k_signing.as_ref(), string_to_sign.as_bytes()).as_ref());
    let authorization = format!(
        "AWS4-HMAC-SHA256 Credential={access_key_id}/{scope}, SignedHeaders={signed_headers}, Signature={signature}"
    );
    Signature {
        canonical_request: canonical,
        string_to_sign,
        signed_headers,
        signature,
        authorization,
    }
}

/// `scheme://authority/path?query` -> (authority, path, query).
pub fn split_url(url: &str) -> Option<(&str, &str, &str)> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let auth_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    let after = &rest[auth_end..];
    let (path, query) = after.split_once('?').unwrap_or((after, ""));
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.is_empty() {
        return None;
    }
    Some((authority, path, query))
}

/// Signs `req` at `now`: adds `x-amz-date`, `x-amz-content-sha256`, `x-amz-security-token`
/// (with session credentials) and `Authorization`. Signed: `host`, `content-type` and every
/// `x-amz-*` header.
pub fn sign_request(
    mut req: WireRequest,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: SystemTime,
) -> Result<WireRequest, GatewayError> {
    let (authority, path, query) = split_url(&req.url)
        .ok_or_else(|| GatewayError::internal("bedrock: cannot sign a URL without a host"))?;
    let (authority, path, query) = (authority.to_string(), path.to_string(), query.to_string());
    let date = amz_date(now);
    let payload_hash = sha256_hex(&req.body);
    req.headers.retain(|(n, _)| {
        !matches!(
            n.as_str(),
            "authorization" | "x-amz-date" | "x-amz-content-sha256" | "x-amz-security-token"
        )
    });
    req.header(HeaderName::from_static("x-amz-date"), &date)?;
    req.header(
        HeaderName::from_static("x-amz-content-sha256"),
        &payload_hash,
    )?;
    if let Some(token) = &creds.session_token {
        req.secret_header(
            HeaderName::from_static("x-amz-security-token"),
            token.expose(),
        )?;
    }
    let mut to_sign: Vec<(&str, &str)> = vec![("host", authority.as_str())];
    for (name, value) in &req.headers {
        let n = name.as_str();
        if n == "content-type" || n.starts_with("x-amz-") {
            let v = value.to_str().map_err(|_| {
                GatewayError::internal(format!("bedrock: header {n} is not visible ASCII"))
            })?;
            to_sign.push((n, v));
        }
    }
    let sig = sign_parts(
        &SignedRequest {
            method: req.method.as_str(),
            path: &path,
            query: &query,
            headers: &to_sign,
            payload_hash: &payload_hash,
        },
        &SigningScope {
            access_key_id: creds.access_key_id.expose(),
            secret_access_key: creds.secret_access_key.expose(),
            region,
            service,
            amz_date: &date,
        },
    );
    let mut v = HeaderValue::from_str(&sig.authorization)
        .map_err(|_| GatewayError::internal("bedrock: access key id is not a valid header"))?;
    v.set_sensitive(true);
    req.headers.push((http::header::AUTHORIZATION, v));
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_format_in_utc() {
        let t = UNIX_EPOCH + std::time::Duration::from_secs(1_440_938_160);
        assert_eq!(amz_date(t), "20150830T123600Z");
        assert_eq!(amz_date(UNIX_EPOCH), "19700101T000000Z");
        // Leap day.
        let t = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400);
        assert_eq!(amz_date(t), "20000229T000000Z");
    }

    #[test]
    fn encoding_rules() {
        assert_eq!(uri_encode("a:b/c d~", false), "a%3Ab%2Fc%20d~");
        assert_eq!(
            canonical_uri("/model/a%3Ab/converse"),
            "/model/a%253Ab/converse"
        );
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(canonical_query("b=2&a=1&a=0"), "a=0&a=1&b=2");
        assert_eq!(canonical_query("x=a%20b"), "x=a%20b");
        assert_eq!(percent_decode("%zz%4"), "%zz%4");
    }

    #[test]
    fn splits_urls() {
        assert_eq!(
            split_url("https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse"),
            Some((
                "bedrock-runtime.us-east-1.amazonaws.com",
                "/model/x/converse",
                ""
            ))
        );
        assert_eq!(
            split_url("http://127.0.0.1:8080/a?b=c"),
            Some(("127.0.0.1:8080", "/a", "b=c"))
        );
        assert_eq!(split_url("http://h"), Some(("h", "", "")));
        assert_eq!(split_url("ftp://h/x"), None);
        assert_eq!(split_url("https:///x"), None);
    }
}
