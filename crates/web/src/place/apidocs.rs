//! The API's documentation page (`/api/v1/docs`), drawn on the server from the
//! embedded OpenAPI document itself, so the two cannot drift apart and nothing is
//! fetched from a CDN: every operation with its summary, parameters (where, type,
//! allowed values, default) and answers, and a link to try it.

use axum::extract::State;
use axum::response::Html;
use maud::{html, Markup};
use serde_json::Value;

use crate::shell::page;
use crate::{AppState, WebError};

/// The embedded OpenAPI 3.1 document.
pub const OPENAPI: &str = include_str!("../../assets/openapi.json");

/// A parameter, following a `$ref` into `components/parameters`.
fn resolve<'a>(doc: &'a Value, p: &'a Value) -> &'a Value {
    match p.get("$ref").and_then(Value::as_str) {
        Some(r) => r
            .strip_prefix("#/")
            .map(|path| path.split('/').fold(doc, |v, k| &v[k]))
            .unwrap_or(p),
        None => p,
    }
}

/// A schema as a person reads it: its type, allowed values, bounds and default.
fn describe(schema: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(t) = schema.get("type").and_then(Value::as_str) {
        parts.push(t.to_owned());
    }
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        let list: Vec<String> = values
            .iter()
            .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
            .collect();
        parts.push(format!("one of {}", list.join(", ")));
    }
    if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
        parts.push(format!("matching {p}"));
    }
    match (schema.get("minimum"), schema.get("maximum")) {
        (Some(a), Some(b)) => parts.push(format!("from {a} to {b}")),
        (Some(a), None) => parts.push(format!("at least {a}")),
        (None, Some(b)) => parts.push(format!("at most {b}")),
        _ => {}
    }
    if let Some(d) = schema.get("default") {
        parts.push(format!(
            "default {}",
            d.as_str().map_or_else(|| d.to_string(), str::to_owned)
        ));
    }
    parts.join("; ")
}

fn operation(doc: &Value, path: &str, method: &str, op: &Value) -> Markup {
    let id = op["operationId"].as_str().unwrap_or(path);
    let params: Vec<&Value> = op
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(|p| resolve(doc, p)).collect())
        .unwrap_or_default();
    let responses: Vec<(&String, &Value)> = op
        .get("responses")
        .and_then(Value::as_object)
        .map(|r| r.iter().collect())
        .unwrap_or_default();
    let runnable = !path.contains('{');
    html! {
        section aria-labelledby=(id) {
            h3 id=(id) { code { (method.to_ascii_uppercase()) " /api/v1" (path) } }
            @if let Some(s) = op["summary"].as_str() { p { (s) } }
            @if let Some(d) = op["description"].as_str() { p { (d) } }
            @if !params.is_empty() {
                div class="table-scroll" role="region" tabindex="0" aria-label="Parameters" { table {
                    caption { "Parameters of " (id) }
                    thead { tr { th scope="col" { "Name" } th scope="col" { "In" } th scope="col" { "Required" } th scope="col" { "Values" } th scope="col" { "Meaning" } } }
                    tbody {
                        @for p in &params {
                            tr {
                                th scope="row" { code { (p["name"].as_str().unwrap_or("")) } }
                                td { (p["in"].as_str().unwrap_or("")) }
                                td { (if p["required"].as_bool().unwrap_or(false) { "yes" } else { "no" }) }
                                td { (describe(&p["schema"])) }
                                td { (p["description"].as_str().unwrap_or("")) }
                            }
                        }
                    }
                } }
            }
            @if !responses.is_empty() {
                p { "Answers: " @for (i, (status, r)) in responses.iter().enumerate() { @if i > 0 { "; " } strong { (status) } " " (r["description"].as_str().unwrap_or("")) } "." }
            }
            @if runnable { p { a href=(format!("/api/v1{path}")) { "Try " code { "/api/v1" (path) } } } }
        }
    }
}

pub async fn docs(State(state): State<AppState>) -> Result<Html<String>, WebError> {
    let doc: Value = serde_json::from_str(OPENAPI)
        .map_err(|e| WebError::Internal(format!("the OpenAPI document does not parse: {e}")))?;
    let mut ops = Vec::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, methods) in paths {
            if let Some(methods) = methods.as_object() {
                for (method, op) in methods {
                    ops.push(operation(&doc, path, method, op));
                }
            }
        }
    }
    let info = &doc["info"];
    Ok(page(
        &state,
        "Open data API",
        html! {
            p class="lead" { (info["description"].as_str().unwrap_or("")) }
            p { "Version " (info["version"].as_str().unwrap_or("")) ", licence " (info["license"]["name"].as_str().unwrap_or("")) ". The machine-readable description: " a href="/api/v1/openapi.json" { "OpenAPI 3.1 document" } ". Lists take " code { "page" } " and " code { "per_page" } " (50 by default) and answer in the envelope " code { "contents, total_items, total_pages, page_number, size, first_page, last_page, empty" } "; " code { "format=csv" } " gives every item as CSV. Every answer carries an ETag." }
            h2 { "Operations" }
            @for op in &ops { (op) }
        },
    ))
}
