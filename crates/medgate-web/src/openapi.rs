//! Checks of a module's OpenAPI document against its source, for the modules' tests: every
//! route is documented and nothing else, every `$ref` resolves, every error code a handler
//! sends is described. They read source text (`include_str!`), so they need no server.
//! A mismatch panics: they are assertions.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

/// Every path given to `.route(` in a router's source text.
pub fn route_paths_in(source: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let mut rest = source;
    while let Some(start) = rest.find(".route(") {
        rest = &rest[start + ".route(".len()..];
        let Some(open) = rest.find('"') else { break };
        let after = &rest[open + 1..];
        let Some(close) = after.find('"') else { break };
        paths.push(after[..close].to_owned());
        rest = &after[close..];
    }
    paths
}

/// The OpenAPI 3.1 document `json` (named `name` in the messages) describes every path of
/// `routes` and no other path.
pub fn assert_documents_exactly(json: &str, name: &str, routes: &[String]) {
    let document: serde_json::Value = serde_json::from_str(json).unwrap();
    assert_eq!(document["openapi"], "3.1.0", "{name}");
    let documented = document["paths"].as_object().unwrap();
    for route in routes {
        assert!(documented.contains_key(route), "route {route} is not in {name}");
    }
    for path in documented.keys() {
        assert!(
            routes.contains(path),
            "{name} documents {path}, which the router lacks"
        );
    }
}

/// Every `$ref` of an OpenAPI document (the repository's or the registry's) names a
/// component the document defines.
pub fn assert_references_resolve(json: &str) {
    let document: serde_json::Value = serde_json::from_str(json).unwrap();
    for kind in ["schemas", "responses", "parameters"] {
        let defined = document["components"][kind].as_object().unwrap();
        let marker = format!("\"#/components/{kind}/");
        for piece in json.split(marker.as_str()).skip(1) {
            let name = piece.split('"').next().unwrap();
            assert!(defined.contains_key(name), "unresolved $ref {kind}/{name}");
        }
    }
}

/// The error codes a source file gives `ApiError`s: the string literal right after
/// `bad_request(`, `forbidden(`, `bad(` or `StatusCode::NAME,`.
pub fn error_codes_in(source: &str) -> Vec<String> {
    let source = source.split("#[cfg(test)]").next().unwrap();
    let mut codes = Vec::new();
    for marker in ["bad_request(", "forbidden(", "bad(", "StatusCode::"] {
        for piece in source.split(marker).skip(1) {
            let rest = if marker == "StatusCode::" {
                let Some((name, rest)) = piece.split_once(',') else { continue };
                if !name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    continue;
                }
                rest
            } else {
                piece
            };
            let Some(rest) = rest.trim_start().strip_prefix('"') else { continue };
            let code = rest.split('"').next().unwrap();
            if !code.is_empty() && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                codes.push(code.to_owned());
            }
        }
    }
    codes
}

