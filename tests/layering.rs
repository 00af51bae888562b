//! The layer diagram of docs/ARCHITECTURE.md, checked against the code: every `crate::<module>`
//! path in `src/` (imports and qualified paths alike; comments are skipped) must point to a
//! module on a strictly lower layer. Same-layer references are sideways and refused too, so the
//! planes cannot call each other and the leaves stay leaves.
//!
//! When this fails, either the new reference runs the wrong way (move the type down to where
//! both users can reach it, or pass it in from above), or the diagram changed on purpose:
//! update `LAYERS` and docs/ARCHITECTURE.md together.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Top-level modules by layer, lowest first. Keep in step with docs/ARCHITECTURE.md.
const LAYERS: &[(&str, &[&str])] = &[
    ("bottom", &["util"]),
    ("wire", &["http", "catalog", "config"]),
    ("protocol", &["s3", "logging", "metrics", "health"]),
    ("backends", &["backend"]),
    ("shared state", &["state"]),
    ("planes", &["server", "replication", "admin"]),
    ("application", &["proxy", "import"]),
    ("command line", &["cli"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a line without its `//` comment (string literals holding `//` are rare in this
/// code base and would only hide a reference, never invent one).
fn code_of(line: &str) -> &str {
    match line.find("//") {
        Some(i) => &line[..i],
        None => line,
    }
}

/// Every `crate::<name>` in a line of code.
fn crate_refs(code: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        let before = rest[..i].chars().next_back();
        let after = &rest[i + "crate::".len()..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        // `$crate::` (macros) and `s3_orchestrator::`-like suffixes are not paths of this crate.
        if !before.is_some_and(|c| c == '$' || c.is_ascii_alphanumeric() || c == '_') {
            out.push(&after[..name_len]);
        }
        rest = &after[name_len..];
    }
    out
}

#[test]
fn imports_only_run_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules: BTreeMap<String, usize> = BTreeMap::new();
    let mut violations = Vec::new();
    for file in &files {
        let rel = file.strip_prefix(&src).expect("under src");
        let first = rel.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" || module == "main" {
            continue; // the crate root wires the layers together
        }
        let Some(own) = layer_of(&module) else {
            violations.push(format!(
                "src/{module}: a top-level module that is on no layer (add it to LAYERS and docs/ARCHITECTURE.md)"
            ));
            continue;
        };
        *modules.entry(module.clone()).or_default() += 1;
        let text = std::fs::read_to_string(file).expect("readable source");
        for (n, line) in text.lines().enumerate() {
            for target in crate_refs(code_of(line)) {
                if target == module {
                    continue;
                }
                let Some(theirs) = layer_of(target) else {
                    // The crate root (`lib.rs`: `run`, `Running`) wires the layers together;
                    // only the top layer, the command line, starts it.
                    if own == LAYERS.len() - 1 {
                        continue;
                    }
                    violations.push(format!(
                        "{}:{}: {module} -> crate::{target}, which is in no layer (an item at \
                         the crate root, or a module missing from LAYERS)",
                        rel.display(),
                        n + 1,
                    ));
                    continue;
                };
                if theirs >= own {
                    let how = if theirs == own { "sideways" } else { "upward" };
                    violations.push(format!(
                        "{}:{}: {module} ({}) -> {target} ({}) runs {how}",
                        rel.display(),
                        n + 1,
                        LAYERS[own].0,
                        LAYERS[theirs].0,
                    ));
                }
            }
        }
    }
    // Every layer's modules exist: a renamed module must be renamed here too.
    for (_, names) in LAYERS {
        for name in *names {
            assert!(
                modules.contains_key(*name),
                "LAYERS names `{name}`, which is no module of src/"
            );
        }
    }
    assert!(
        violations.is_empty(),
        "imports against the layer diagram:\n{}",
        violations.join("\n")
    );
}

#[test]
fn the_reference_scanner_sees_what_it_should() {
    assert_eq!(crate_refs("use crate::state::App;"), ["state"]);
    assert_eq!(
        crate_refs("let x = crate::util::clock::now_ms() + crate::http::X;"),
        ["util", "http"]
    );
    assert!(crate_refs("$crate::config::AccessLogLevel::Off => {}").is_empty());
    assert!(crate_refs(code_of("    // see crate::proxy for why")).is_empty());
}
