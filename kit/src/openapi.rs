//! What the services' OpenAPI documents share: the RFC 9457 problem and the RFC 6749
//! §5.2 error as schemas, and [`problem_api`], which gives every operation of a
//! bearer-protected API its security requirement and its common problem responses.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};

/// The name of the bearer security scheme of an admin API.
pub const BEARER: &str = "bearer";

/// An RFC 9457 problem, as [`crate::serve::problem`] writes it
/// (`application/problem+json`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status says what kind of problem it is.
    #[schema(example = "about:blank")]
    pub r#type: String,
    #[schema(example = "Invalid request")]
    pub title: String,
    #[schema(example = 400)]
    pub status: u16,
    /// What is wrong, for a person.
    pub detail: String,
    /// The member, parameter or header at fault (400 only).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "recipient_email")]
    pub field: Option<String>,
}

/// An OAuth 2.0 error (RFC 6749 §5.2), as [`crate::serve::oauth_error`] writes it: the
/// errors of protocol endpoints.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthError {
    /// A spec error code: `invalid_request`, `invalid_grant`, `invalid_token`, …
    #[schema(example = "invalid_request")]
    pub error: String,
    pub error_description: Option<String>,
}

/// The operations of a path item.
pub fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
    .into_iter()
    .flatten()
}

/// Declares the bearer scheme and the problem responses, and gives every operation tagged
/// `tag` the bearer requirement and, unless it declares its own, the responses 401, 429
/// (token throttling, [`crate::throttle`]) and 500, 400 when it takes a body or a query,
/// 404 when its path names a resource.
pub fn problem_api(doc: &mut OpenApi, tag: &str, token: &str) {
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(token))
                .build(),
        ),
    );
    for (name, description) in [
        (
            "BadRequest",
            "The request is wrong; `field` names the member, parameter or header at fault",
        ),
        ("Unauthorized", "Missing or wrong bearer token"),
        ("NotFound", "No such resource"),
        (
            "TooManyRequests",
            "Too many wrong tokens from the client's address: refused, even with the right token, for the seconds in `Retry-After`",
        ),
        ("InternalError", "The server could not complete the request"),
    ] {
        let mut response = ResponseBuilder::new().description(description).content(
            "application/problem+json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
        if name == "TooManyRequests" {
            response = response.header(
                "Retry-After",
                HeaderBuilder::new()
                    .schema(
                        ObjectBuilder::new()
                            .schema_type(Type::Integer)
                            .minimum(Some(1)),
                    )
                    .description(Some("Seconds until the address may try again"))
                    .build(),
            );
        }
        components
            .responses
            .insert(name.to_owned(), RefOr::T(response.build()));
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in operations(item) {
            if op.tags.iter().flatten().any(|t| t == tag) {
                protect(path, op);
            }
        }
    }
}

fn protect(path: &str, op: &mut Operation) {
    op.security = Some(vec![SecurityRequirement::new::<_, _, &str>(BEARER, [])]);
    let takes_input = op.request_body.is_some()
        || op
            .parameters
            .as_ref()
            .is_some_and(|ps| ps.iter().any(|p| p.parameter_in == ParameterIn::Query));
    let mut common: BTreeMap<&str, &str> = BTreeMap::new();
    if takes_input {
        common.insert("400", "BadRequest");
    }
    common.insert("401", "Unauthorized");
    if path.contains('{') {
        common.insert("404", "NotFound");
    }
    common.insert("429", "TooManyRequests");
    common.insert("500", "InternalError");
    for (status, name) in common {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
    }
}
