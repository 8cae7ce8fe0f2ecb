//! Rules of the binary crate's layout, checked by reading it: the HTTP
//! layers (`api`, `web`) depend on the services, never on each other, and
//! the services know nothing of HTTP.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every Rust file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`api/users.rs` → `api`).
fn module_of(file: &Path) -> String {
    let relative = file.strip_prefix(src()).unwrap();
    let first = relative.components().next().unwrap().as_os_str().to_str().unwrap();
    first.trim_end_matches(".rs").to_owned()
}

/// The code of a file without comments.
fn code(file: &Path) -> String {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .map(|line| line.split(" // ").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules a file's code names: `crate::x`, and the names in
/// `use crate::{x, y::z}`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let word = |text: &str| text.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            found.extend(group.split(',').map(|part| word(part.trim())).filter(|w| !w.is_empty()));
        } else {
            found.insert(word(rest));
        }
    }
    found
}

/// Each top-level module and the top-level modules it names.
fn graph() -> Vec<(String, BTreeSet<String>)> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut graph: Vec<(String, BTreeSet<String>)> = Vec::new();
    for file in files {
        let module = module_of(&file);
        let mut named = uses(&code(&file));
        named.remove(&module);
        match graph.iter_mut().find(|(m, _)| *m == module) {
            Some((_, all)) => all.extend(named),
            None => graph.push((module, named)),
        }
    }
    graph
}

fn names(graph: &[(String, BTreeSet<String>)], module: &str) -> BTreeSet<String> {
    graph.iter().find(|(m, _)| m == module).map(|(_, n)| n.clone()).unwrap_or_default()
}

#[test]
fn the_api_and_the_pages_depend_on_the_services_not_on_each_other() {
    let graph = graph();
    assert!(names(&graph, "api").contains("services"), "the module graph was not read");
    assert!(names(&graph, "web").contains("services"), "the module graph was not read");
    assert!(!names(&graph, "api").contains("web"), "api names web: move what both need into services");
    assert!(!names(&graph, "web").contains("api"), "web names api: move what both need into services");
}

#[test]
fn nothing_below_the_http_layers_names_them() {
    let graph = graph();
    // The HTTP layers are the JSON API, the pages and the Subsonic API (which
    // serves files and covers through the JSON API's code). Start-up
    // (serve) puts the layers together; the transport (how
    // connections are served) answers a request past its deadline in the
    // API's error format.
    let allowed = ["serve", "cli", "lib", "main", "api", "web", "subsonic", "transport"];
    for (module, named) in &graph {
        if allowed.contains(&module.as_str()) {
            continue;
        }
        for layer in ["api", "web", "subsonic"] {
            assert!(
                !named.contains(layer),
                "{module} names {layer}: the services must not depend on HTTP layers"
            );
        }
    }
}

#[test]
fn the_services_know_nothing_of_http() {
    let mut files = Vec::new();
    rust_files(&src().join("services"), &mut files);
    for file in ["settings.rs", "config.rs", "state.rs"] {
        files.push(src().join(file));
    }
    rust_files(&src().join("sync"), &mut files);
    assert!(files.len() > 15);
    for file in files {
        let code = code(&file);
        // The sync client speaks HTTP to a master (reqwest); what serves
        // requests (axum) and answers them is the layers' business.
        for http in ["axum", "IntoResponse", "ApiError", "PageError"] {
            assert!(
                !code.contains(http),
                "{} uses {http}: services return typed errors, and the layers map them",
                file.display()
            );
        }
    }
}

/// Apart from `state` (the context every part takes, and which holds every
/// part's shared pieces), the top-level modules form layers: no module
/// depends on itself through others.
#[test]
fn apart_from_the_shared_state_the_modules_form_layers_without_cycles() {
    let graph: Vec<(String, BTreeSet<String>)> = graph()
        .into_iter()
        .filter(|(module, _)| module != "state")
        .map(|(module, named)| (module, named.into_iter().filter(|n| n != "state").collect()))
        .collect();
    let known: BTreeSet<&str> = graph.iter().map(|(m, _)| m.as_str()).collect();
    // Depth-first from every module: reaching the module again is a cycle.
    for (start, _) in &graph {
        let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((module, path)) = stack.pop() {
            for next in names(&graph, &module).into_iter().filter(|n| known.contains(n.as_str())) {
                assert!(&next != start, "a cycle: {} -> {next}", path.join(" -> "));
                if seen.insert(next.clone()) {
                    let mut longer = path.clone();
                    longer.push(next.clone());
                    stack.push((next, longer));
                }
            }
        }
    }
}
