//! The SigV4 signer against cases of AWS's Signature Version 4 test suite (service `service`,
//! region `us-east-1`, example credentials, 2015-08-30T12:36:00Z).

use switchyard_providers::bedrock::sigv4::{sha256_hex, sign_parts, SignedRequest, SigningScope};

const DATE: &str = "20150830T123600Z";
const HOST: &str = "example.amazonaws.com";
const STS_TOKEN: &str = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==";

fn sign(method: &str, path: &str, query: &str, extra: &[(&str, &str)], body: &str) -> String {
    let mut headers = vec![("Host", HOST), ("X-Amz-Date", DATE)];
    headers.extend_from_slice(extra);
    let hash = sha256_hex(body.as_bytes());
    sign_parts(
        &SignedRequest {
            method,
            path,
            query,
            headers: &headers,
            payload_hash: &hash,
        },
        &SigningScope {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
        },
    )
    .authorization
}

fn expect(signed_headers: &str, signature: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
         SignedHeaders={signed_headers}, Signature={signature}"
    )
}

#[test]
fn get_vanilla() {
    assert_eq!(
        sign("GET", "/", "", &[], ""),
        expect(
            "host;x-amz-date",
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
}

#[test]
fn get_vanilla_canonical_request_and_string_to_sign() {
    let hash = sha256_hex(b"");
    let s = sign_parts(
        &SignedRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &[("Host", HOST), ("X-Amz-Date", DATE)],
            payload_hash: &hash,
        },
        &SigningScope {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
            service: "service",
            amz_date: DATE,
        },
    );
    assert_eq!(
        s.canonical_request,
        "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
         e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert_eq!(
        s.string_to_sign,
        "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
         bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
    );
}

#[test]
fn post_vanilla() {
    assert_eq!(
        sign("POST", "/", "", &[], ""),
        expect(
            "host;x-amz-date",
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        )
    );
}

#[test]
fn get_vanilla_query_order_key_case() {
    assert_eq!(
        sign("GET", "/", "Param2=value2&Param1=value1", &[], ""),
        expect(
            "host;x-amz-date",
            "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"
        )
    );
}

#[test]
fn post_vanilla_query() {
    assert_eq!(
        sign("POST", "/", "Param1=value1", &[], ""),
        expect(
            "host;x-amz-date",
            "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"
        )
    );
}

#[test]
fn get_unreserved_and_utf8_paths() {
    assert_eq!(
        sign(
            "GET",
            "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            "",
            &[],
            ""
        ),
        expect(
            "host;x-amz-date",
            "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"
        )
    );
    assert_eq!(
        sign("GET", "/ሴ", "", &[], ""),
        expect(
            "host;x-amz-date",
            "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"
        )
    );
}

#[test]
fn post_header_value_case() {
    assert_eq!(
        sign("POST", "/", "", &[("My-Header1", "VALUE1")], ""),
        expect(
            "host;my-header1;x-amz-date",
            "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"
        )
    );
}

#[test]
fn post_sts_token_signed() {
    assert_eq!(
        sign("POST", "/", "", &[("X-Amz-Security-Token", STS_TOKEN)], ""),
        expect(
            "host;x-amz-date;x-amz-security-token",
            "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"
        )
    );
}

#[test]
fn post_x_www_form_urlencoded() {
    assert_eq!(
        sign(
            "POST",
            "/",
            "",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "Param1=value1"
        ),
        expect(
            "content-type;host;x-amz-date",
            "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"
        )
    );
    assert_eq!(
        sign(
            "POST",
            "/",
            "",
            &[(
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf8"
            )],
            "Param1=value1"
        ),
        expect(
            "content-type;host;x-amz-date",
            "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"
        )
    );
}
