//! Lists the public items of a crate whose docs have no code example, from rustdoc's JSON
//! output (`cargo +nightly rustdoc -- -Z unstable-options --output-format json`), and fails
//! when there is one. The DoD asks for an example on every public item; rustdoc's own lint
//! for it (`missing_doc_code_examples`) skips items defined in private modules and re-exported,
//! which is most of this crate.
//!
//! Usage: `doc-examples path/to/crate.json`.

use serde_json::Value;
use std::collections::HashSet;
use std::process::ExitCode;

/// Walks the public API from the crate root: modules, re-exports, types' inherent methods and
/// associated items, traits' items.
struct Walk<'a> {
    index: &'a serde_json::Map<String, Value>,
    seen: HashSet<String>,
    missing: Vec<String>,
}

impl Walk<'_> {
    fn visit(&mut self, id: &Value, path: &str, in_trait: bool) {
        let key = id.to_string();
        if !self.seen.insert(key.clone()) {
            return;
        }
        let Some(item) = self.index.get(&key) else { return };
        if item["crate_id"] != 0 || is_hidden(item) {
            return;
        }
        let public = item["visibility"] == "public" || in_trait;
        let Some((kind, inner)) = item["inner"].as_object().and_then(|inner| inner.iter().next()) else {
            return;
        };
        let name = item["name"].as_str().unwrap_or("");
        let here = if name.is_empty() { path.to_owned() } else { format!("{path}::{name}") };
        let skipped = matches!(kind.as_str(), "impl" | "use" | "variant" | "struct_field");
        if public && !skipped && !item["docs"].as_str().unwrap_or("").contains("```") {
            let span = &item["span"];
            self.missing.push(format!(
                "{}:{}: {kind} {here}",
                span["filename"].as_str().unwrap_or("?"),
                span["begin"][0]
            ));
        }
        match kind.as_str() {
            "module" if public => {
                for child in inner["items"].as_array().into_iter().flatten() {
                    self.visit(child, &here, false);
                }
            }
            "use" if public && !inner["id"].is_null() => self.visit(&inner["id"], path, false),
            "trait" if public => {
                for child in inner["items"].as_array().into_iter().flatten() {
                    self.visit(child, &here, true);
                }
            }
            "struct" | "enum" | "union" if public => {
                for impl_id in inner["impls"].as_array().into_iter().flatten() {
                    let Some(imp) = self.index.get(&impl_id.to_string()) else { continue };
                    let imp = &imp["inner"]["impl"];
                    let inherent = imp["trait"].is_null()
                        && imp["is_synthetic"] != true
                        && imp["blanket_impl"].is_null();
                    if inherent {
                        for child in imp["items"].as_array().into_iter().flatten() {
                            self.visit(child, &here, false);
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

/// `#[doc(hidden)]` items are not part of the documented API.
fn is_hidden(item: &Value) -> bool {
    item["attrs"].as_array().into_iter().flatten().any(|attr| attr.to_string().contains("hidden"))
}

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: doc-examples CRATE.json");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) => {
            eprintln!("doc-examples: cannot read {path}: {error}");
            return ExitCode::from(2);
        }
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(doc) => doc,
        Err(error) => {
            eprintln!("doc-examples: {path} is not rustdoc JSON: {error}");
            return ExitCode::from(2);
        }
    };
    let Some(index) = doc["index"].as_object() else {
        eprintln!("doc-examples: {path} has no item index");
        return ExitCode::from(2);
    };
    let mut walk = Walk { index, seen: HashSet::new(), missing: Vec::new() };
    walk.visit(&doc["root"], "", false);
    let checked = walk.seen.len();
    if walk.missing.is_empty() {
        println!("doc-examples: every public item has an example ({checked} items walked)");
        return ExitCode::SUCCESS;
    }
    walk.missing.sort();
    for line in &walk.missing {
        println!("{line}");
    }
    println!("doc-examples: {} public items without a doc example", walk.missing.len());
    ExitCode::FAILURE
}
