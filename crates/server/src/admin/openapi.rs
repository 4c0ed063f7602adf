//! `GET /admin/openapi.json`: the OpenAPI 3.1 description of the admin API, compiled in from
//! `docs/openapi.json`. The tests below keep it in sync with [`super::routes`]: every route is
//! documented and every documented operation exists.

use axum::body::Body;
use axum::response::Response;
use http::HeaderValue;
use switchyard_types::GatewayError;

use super::Ctx;

/// The document, as shipped in `docs/openapi.json`.
pub const OPENAPI_JSON: &str = include_str!("../../../../docs/openapi.json");

/// `GET /admin/openapi.json`.
pub async fn serve(_ctx: Ctx) -> Result<Response, GatewayError> {
    let mut resp = Response::new(Body::from(OPENAPI_JSON));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::collections::BTreeSet;

    const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

    fn doc() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("docs/openapi.json is valid JSON")
    }

    fn documented() -> BTreeSet<(String, String)> {
        let doc = doc();
        let paths = doc["paths"].as_object().expect("paths object");
        let mut ops = BTreeSet::new();
        for (path, item) in paths {
            for m in METHODS {
                if item.get(m).is_some() {
                    ops.insert((m.to_owned(), path.clone()));
                }
            }
        }
        ops
    }

    fn routed() -> BTreeSet<(String, String)> {
        super::super::routes()
            .into_iter()
            .map(|r| {
                (
                    r.method.as_str().to_ascii_lowercase(),
                    format!("/admin{}", r.path),
                )
            })
            .collect()
    }

    #[test]
    fn every_route_is_documented_and_every_documented_operation_is_routed() {
        let documented = documented();
        let routed = routed();
        let missing: Vec<_> = routed.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes missing from docs/openapi.json: {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(
            extra.is_empty(),
            "documented operations with no route: {extra:?}"
        );
    }

    #[test]
    fn document_is_openapi_3_1_with_complete_operations() {
        let doc = doc();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
        assert!(doc["info"]["title"].is_string());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        let mut ids = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for m in METHODS {
                let Some(op) = item.get(m) else { continue };
                let id = op["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{m} {path} has no operationId"));
                assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
                assert!(op["summary"].is_string(), "{m} {path} has no summary");
                let responses = op["responses"].as_object().unwrap();
                assert!(
                    responses.keys().any(|k| k.starts_with('2')),
                    "{m} {path} documents no success response"
                );
                assert!(responses.contains_key("401"), "{m} {path} lacks 401");
                if path.contains('{') {
                    let params = item["parameters"]
                        .as_array()
                        .or_else(|| op["parameters"].as_array())
                        .unwrap_or_else(|| panic!("{path} documents no path parameter"));
                    let resolve = |p: &Value| match p["$ref"].as_str() {
                        Some(r) => doc
                            .pointer(r.trim_start_matches('#'))
                            .cloned()
                            .unwrap_or_default(),
                        None => p.clone(),
                    };
                    for name in path.split('{').skip(1).filter_map(|s| s.split('}').next()) {
                        assert!(
                            params
                                .iter()
                                .map(resolve)
                                .any(|p| p["in"] == "path" && p["name"] == name),
                            "{path} does not document its `{name}` parameter"
                        );
                    }
                }
            }
        }
        // Every `$ref` points at a schema that exists.
        let text = OPENAPI_JSON;
        for part in text.split("\"$ref\": \"#/components/").skip(1) {
            let target = part.split('"').next().unwrap();
            let (kind, name) = target.split_once('/').unwrap();
            assert!(
                doc["components"][kind][name].is_object(),
                "dangling $ref #/components/{target}"
            );
            if kind == "schemas" {
                assert!(schemas.contains_key(name));
            }
        }
    }
}
