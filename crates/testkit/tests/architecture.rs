//! The workspace's shape, checked: the rules `ARCHITECTURE.md` lists under
//! "Checks", so that a change breaking one fails the test suite, not a review.
//! Each test reads the source tree only (no build, no database).

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `.rs` file under `crates/`, as (path relative to the root, text).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = root();
    let mut files = Vec::new();
    walk(&root.join("crates"), &mut files);
    files.sort();
    assert!(files.len() > 50, "the crates' sources were not found");
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a source file reads");
            let rel = p
                .strip_prefix(&root)
                .expect("under the root")
                .to_string_lossy()
                .replace('\\', "/");
            (rel, text)
        })
        .collect()
}

/// The `[dependencies]` section of a crate's manifest.
fn dependencies(krate: &str) -> String {
    let text = std::fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
        .expect("the manifest reads");
    let start = text.find("[dependencies]").map_or(text.len(), |i| i + 14);
    let rest = &text[start..];
    rest[..rest.find("\n[").unwrap_or(rest.len())].to_owned()
}

/// Our crates a crate depends on, by their names without `syndemic-`.
fn ours(krate: &str) -> Vec<String> {
    dependencies(krate)
        .lines()
        .filter_map(|l| l.trim().strip_prefix("syndemic-"))
        .filter_map(|l| l.split(['.', ' ', '=']).next())
        .map(str::to_owned)
        .collect()
}

/// Whether a file is test code: under a crate's `tests/` folder.
fn is_test(path: &str) -> bool {
    path.split('/').nth(2) == Some("tests")
}

#[test]
fn no_sql_outside_the_store() {
    const SQL: [&str; 8] = [
        "sqlx::",
        "\"SELECT ",
        "\"INSERT INTO ",
        "\"UPDATE ",
        "\"DELETE FROM ",
        "\"CREATE TABLE ",
        "\"ALTER TABLE ",
        "\"DROP TABLE ",
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        if path.starts_with("crates/store/") || path == "crates/testkit/tests/architecture.rs" {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            if SQL.iter().any(|s| line.contains(s)) {
                found.push(format!("{path}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    for krate in [
        "access",
        "demo",
        "engine",
        "hub",
        "import",
        "model",
        "partnership",
        "place",
        "stats",
        "syndemic",
        "web",
    ] {
        if dependencies(krate).contains("sqlx") {
            found.push(format!("crates/{krate}/Cargo.toml depends on sqlx"));
        }
    }
    assert!(
        found.is_empty(),
        "SQL outside crates/store:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_crate_graph_points_inward() {
    // The pure crates depend on nothing of ours but the domain values (the
    // statistics share the model's one `Polarity`).
    assert_eq!(ours("stats"), ["model"], "syndemic-stats");
    for pure in ["model", "access"] {
        assert!(
            ours(pure).is_empty(),
            "syndemic-{pure} depends on {:?}",
            ours(pure)
        );
    }
    // The parts share the shell, never each other.
    assert!(
        !ours("partnership").contains(&"hub".to_owned()),
        "syndemic-partnership depends on syndemic-hub"
    );
    assert!(
        !ours("hub").contains(&"partnership".to_owned()),
        "syndemic-hub depends on syndemic-partnership"
    );
    // The web crate reads the store and nothing heavier, so its tests build fast.
    for heavy in ["engine", "import", "demo"] {
        assert!(
            !ours("web").contains(&heavy.to_owned()),
            "syndemic-web depends on syndemic-{heavy}"
        );
    }
    assert!(
        !dependencies("web").contains("datafusion"),
        "syndemic-web depends on DataFusion"
    );
}

#[test]
fn html_pages_do_not_fetch_through_the_json_api() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        let Some(file) = path.strip_prefix("crates/web/src/") else {
            continue;
        };
        let name = file.rsplit('/').next().unwrap_or(file);
        if matches!(name, "api.rs" | "apidocs.rs") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            if line.contains("crate::api::") || line.contains("super::api::") {
                found.push(format!("{path}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "HTML pages importing the JSON API:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_binary_uses_the_web_crate_only_to_serve() {
    let mut found = Vec::new();
    for (path, text) in sources() {
        if !path.starts_with("crates/syndemic/src/") {
            continue;
        }
        for (i, line) in text.lines().enumerate() {
            let mut rest = line;
            while let Some(at) = rest.find("syndemic_web::") {
                rest = &rest[at + "syndemic_web::".len()..];
                // The state, its security settings, keys and mail relay, and
                // the server: nothing else.
                if !(rest.starts_with("AppState")
                    || rest.starts_with("Security")
                    || rest.starts_with("Mail")
                    || rest.starts_with("PseudonymKey")
                    || rest.starts_with("serve("))
                {
                    found.push(format!("{path}:{}: {}", i + 1, line.trim()));
                    break;
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "the binary reaching into the web crate:\n{}",
        found.join("\n")
    );
}

#[test]
fn no_source_file_is_over_1200_lines() {
    let long: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| !is_test(path))
        .map(|(path, text)| (path, text.lines().count()))
        .filter(|(_, n)| *n > 1200)
        .map(|(path, n)| format!("{path}: {n} lines"))
        .collect();
    assert!(
        long.is_empty(),
        "split these by concern:\n{}",
        long.join("\n")
    );
}

#[test]
fn web_handlers_hold_the_store_by_its_traits() {
    let found: Vec<String> = sources()
        .into_iter()
        .filter(|(path, _)| {
            path.starts_with("crates/web/src/") && path != "crates/web/src/shell/state.rs"
        })
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, line)| line.contains("SqlStore"))
                .map(|(i, line)| format!("{path}:{}: {}", i + 1, line.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        found.is_empty(),
        "web code naming the SQL store instead of its traits:\n{}",
        found.join("\n")
    );
}
