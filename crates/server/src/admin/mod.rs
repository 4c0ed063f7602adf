//! The admin API under `/admin`: teams, virtual keys, spend reports, the request log, the audit
//! log and the API's own OpenAPI description.
//!
//! Every route is one row of [`ROUTES`]: method, path, the [`Access`] it needs and its handler.
//! One dispatcher runs the same stages for all of them, in this order:
//!
//! 1. authenticate the caller ([`rbac::authenticate`]): 401 / 403 before anything else is read;
//! 2. check the route's access level against the caller's role ([`rbac::check_access`]);
//! 3. read the body (at most [`MAX_BODY_BYTES`]);
//! 4. run the handler, which applies team scoping and validation, makes the change, invalidates
//!    the key cache and appends the audit entry;
//! 5. render errors OpenAI-shaped (`{"error": {...}}`) with `x-request-id`.
//!
//! The table is also what the OpenAPI test checks against `docs/openapi.json`, so a route can
//! not be added without being documented.

pub mod audit;
pub mod input;
pub mod keys;
pub mod logs;
pub mod openapi;
pub mod output;
pub mod rbac;
pub mod spend;
pub mod teams;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{on, MethodFilter};
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Uri};
use switchyard_ingress::Dialect;
use switchyard_types::{ErrorClass, GatewayError};

use crate::errors::error_response;
use crate::pipeline;
use crate::state::AppState;

pub use rbac::{Access, Caller};

/// Largest admin request body accepted (413 above it).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// What a handler gets: the state, the authenticated caller, and the request's parts.
pub struct Ctx {
    pub app: Arc<AppState>,
    pub caller: Caller,
    /// Path parameters, in the order they appear in the route's path.
    pub params: Vec<String>,
    /// The raw query string, if any.
    pub query: Option<String>,
    pub body: Bytes,
}

impl Ctx {
    /// The `i`-th path parameter.
    pub fn param(&self, i: usize) -> Result<&str, GatewayError> {
        self.params
            .get(i)
            .map(String::as_str)
            .ok_or_else(|| GatewayError::internal("route is missing a path parameter"))
    }
}

pub type HandlerFuture = Pin<Box<dyn Future<Output = Result<Response, GatewayError>> + Send>>;
pub type Handler = fn(Ctx) -> HandlerFuture;

/// One admin route. `path` is relative to `/admin` and uses `{name}` parameters, exactly as
/// the OpenAPI document spells them (after its `/admin` prefix).
pub struct Route {
    pub method: Method,
    pub path: &'static str,
    pub access: Access,
    pub handler: Handler,
}

/// Every admin route. Order does not matter; each (method, path) appears once.
pub fn routes() -> Vec<Route> {
    fn r(method: Method, path: &'static str, access: Access, handler: Handler) -> Route {
        Route {
            method,
            path,
            access,
            handler,
        }
    }
    use Access::{MasterOnly, Read, Write};
    vec![
        r(Method::POST, "/teams", MasterOnly, |c| {
            Box::pin(teams::create(c))
        }),
        r(Method::GET, "/teams", Read, |c| Box::pin(teams::list(c))),
        r(Method::GET, "/teams/{id}", Read, |c| {
            Box::pin(teams::get(c))
        }),
        r(Method::PATCH, "/teams/{id}", MasterOnly, |c| {
            Box::pin(teams::update(c))
        }),
        r(Method::DELETE, "/teams/{id}", MasterOnly, |c| {
            Box::pin(teams::delete(c))
        }),
        r(Method::POST, "/keys", Write, |c| Box::pin(keys::create(c))),
        r(Method::GET, "/keys", Read, |c| Box::pin(keys::list(c))),
        r(Method::GET, "/keys/{id}", Read, |c| Box::pin(keys::get(c))),
        r(Method::PATCH, "/keys/{id}", Write, |c| {
            Box::pin(keys::update(c))
        }),
        r(Method::DELETE, "/keys/{id}", Write, |c| {
            Box::pin(keys::revoke(c))
        }),
        r(Method::POST, "/keys/{id}/rotate", Write, |c| {
            Box::pin(keys::rotate(c))
        }),
        r(Method::GET, "/spend", Read, |c| Box::pin(spend::report(c))),
        r(Method::GET, "/logs", Read, |c| Box::pin(logs::list(c))),
        r(Method::GET, "/logs/{request_id}", Read, |c| {
            Box::pin(logs::get(c))
        }),
        r(Method::GET, "/audit", Read, |c| Box::pin(audit::list(c))),
        r(Method::GET, "/openapi.json", Read, |c| {
            Box::pin(openapi::serve(c))
        }),
    ]
}

/// Routes mounted at `/admin`.
pub fn router() -> Router<Arc<AppState>> {
    let mut router = Router::new();
    for route in routes() {
        let Ok(filter) = MethodFilter::try_from(route.method.clone()) else {
            continue;
        };
        let (handler, access) = (route.handler, route.access);
        router = router.route(
            route.path,
            on(
                filter,
                move |State(app): State<Arc<AppState>>,
                      params: Result<Path<Vec<(String, String)>>, PathRejection>,
                      headers: HeaderMap,
                      uri: Uri,
                      body: Body| {
                    dispatch(app, access, handler, params, headers, uri, body)
                },
            ),
        );
    }
    router.method_not_allowed_fallback(method_not_allowed)
}

async fn dispatch(
    app: Arc<AppState>,
    access: Access,
    handler: Handler,
    params: Result<Path<Vec<(String, String)>>, PathRejection>,
    headers: HeaderMap,
    uri: Uri,
    body: Body,
) -> Response {
    let rid = pipeline::request_id(&headers);
    let result = async {
        let caller = rbac::authenticate(&app, &headers).await?;
        rbac::check_access(&caller, access)?;
        let params = match params {
            Ok(Path(pairs)) => pairs.into_iter().map(|(_, v)| v).collect(),
            Err(PathRejection::MissingPathParams(_)) => Vec::new(),
            Err(e) => {
                return Err(GatewayError::bad_request(format!(
                    "invalid path parameter: {}",
                    e.body_text()
                )))
            }
        };
        let body = pipeline::read_body(&headers, body, MAX_BODY_BYTES).await?;
        let ctx = Ctx {
            app: app.clone(),
            caller,
            params,
            query: uri.query().map(str::to_owned),
            body,
        };
        handler(ctx).await
    }
    .await;
    let mut resp = match result {
        Ok(resp) => resp,
        Err(e) => {
            if e.status >= 500 {
                tracing::error!(status = e.status, error = %e.message, path = %uri.path(), "admin request failed");
            }
            error_response(Dialect::OpenAi, &e, &rid)
        }
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&rid) {
        h.insert("x-request-id", v);
    }
    // Responses may carry a key secret (create, rotate): never let a proxy or browser keep them.
    h.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    resp
}

async fn method_not_allowed(headers: HeaderMap, method: Method, uri: Uri) -> Response {
    let rid = pipeline::request_id(&headers);
    let e = GatewayError::client(
        ErrorClass::BadRequest,
        format!("method {method} is not allowed on {}", uri.path()),
    )
    .with_status(405)
    .with_code("method_not_allowed");
    error_response(Dialect::OpenAi, &e, &rid)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_route_is_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for r in routes() {
            assert!(r.path.starts_with('/'), "{}", r.path);
            assert!(
                seen.insert((r.method.clone(), r.path)),
                "duplicate route {} {}",
                r.method,
                r.path
            );
            assert!(MethodFilter::try_from(r.method.clone()).is_ok());
            if r.method != Method::GET {
                assert_ne!(
                    r.access,
                    Access::Read,
                    "{} {} changes state",
                    r.method,
                    r.path
                );
            }
        }
    }
}
