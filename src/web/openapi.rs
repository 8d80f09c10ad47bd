//! Completes the OpenAPI document with the answers every operation of a kind can give, so that
//! a generated client knows them: they come from the shared machinery (extractors, the
//! authentication layer, the body limit), not from the handlers, and so are not written on
//! each handler. An operation that
//!
//! - needs a login (has a security requirement) can answer 401 (none, or a wrong one) and 403
//!   (outside the caller's role or scope);
//! - takes a body can answer 400 (unreadable JSON), 413 (too large), 415 (not JSON) and 422
//!   (a field is wrong);
//! - takes parameters can answer 400 (a parameter of the wrong type) and 422 (a wrong value);
//! - takes a path parameter can answer 404 (nothing there).
//!
//! Each is added only where the handler's own documentation does not already describe it.
//!
//! It also says of parameters what a query string can carry: a parameter left out is absent,
//! never `null`, so an optional parameter's type does not include `null` (the generated
//! documentation of an `Option` field would).

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::schema::{SchemaType, Type};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder, Schema};

/// Adds the shared answers to every operation of `doc` (see the module's documentation).
pub fn complete(doc: &mut OpenApi) {
    for item in doc.paths.paths.values_mut() {
        for op in
            [&mut item.get, &mut item.post, &mut item.put, &mut item.delete, &mut item.patch].into_iter().flatten()
        {
            for (status, why) in shared_answers(op) {
                op.responses.responses.entry(status.to_owned()).or_insert_with(|| error_response(why));
            }
            for p in op.parameters.iter_mut().flatten() {
                if let RefOr::T(p) = p
                    && let Some(schema) = p.schema.as_mut()
                {
                    without_null(schema);
                }
            }
        }
    }
}

fn shared_answers(op: &Operation) -> Vec<(&'static str, &'static str)> {
    let mut answers = Vec::new();
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        answers.push(("401", "Not logged in, or the session or token is not valid"));
        answers.push(("403", "Outside the caller's role or scope, or a missing CSRF token"));
    }
    if op.request_body.is_some() {
        answers.push(("400", "The body is not readable"));
        answers.push(("413", "The body is too large"));
        answers.push(("415", "The body is not of a documented type"));
        answers.push(("422", "Invalid fields, each named"));
    }
    let params: Vec<ParameterIn> = op
        .parameters
        .iter()
        .flatten()
        .filter_map(|p| match p {
            RefOr::T(p) => Some(p.parameter_in.clone()),
            RefOr::Ref(_) => None,
        })
        .collect();
    if !params.is_empty() {
        answers.push(("400", "A parameter is not of its type"));
        answers.push(("422", "Invalid parameters, each named"));
    }
    if params.contains(&ParameterIn::Path) {
        answers.push(("404", "Nothing there"));
    }
    answers
}

/// `schema` without `null` among its types: `[integer, null]` becomes `integer`, and
/// `oneOf [null, X]` becomes `X`.
fn without_null(schema: &mut RefOr<Schema>) {
    match schema {
        RefOr::T(Schema::Object(o)) => {
            if let SchemaType::Array(types) = &o.schema_type {
                let kept: Vec<Type> = types.iter().filter(|t| **t != Type::Null).cloned().collect();
                o.schema_type = match kept.as_slice() {
                    [one] => SchemaType::Type(one.clone()),
                    _ => SchemaType::Array(kept),
                };
            }
        }
        RefOr::T(Schema::OneOf(one_of)) => {
            let is_null = |s: &RefOr<Schema>| matches!(s, RefOr::T(Schema::Object(o)) if o.schema_type == SchemaType::Type(Type::Null));
            one_of.items.retain(|s| !is_null(s));
            if one_of.items.len() == 1
                && let Some(only) = one_of.items.pop()
            {
                *schema = only;
            }
        }
        _ => {}
    }
}

fn error_response(description: &str) -> RefOr<utoipa::openapi::Response> {
    ResponseBuilder::new()
        .description(description)
        .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
        .build()
        .into()
}
