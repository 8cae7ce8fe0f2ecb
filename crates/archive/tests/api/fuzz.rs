//! The API fuzzed from its own OpenAPI document by schemathesis (PyPI):
//! thousands of generated requests, valid and not, against a real server on
//! each database. No answer may be a 5xx, and every answer must be what the
//! document says (status, content type, headers, body schema).
//!
//! Needs the `schemathesis` command (`ARCHIVE_SCHEMATHESIS` names it, else
//! it is looked up on PATH); skipped without it, unless
//! `ARCHIVE_TEST_REQUIRE_SCHEMATHESIS=1` (CI sets it; `.ci/run` installs it).

use std::path::PathBuf;

use archive_db::Role;

use crate::support::on_each_backend_with;

fn schemathesis() -> Option<PathBuf> {
    let named = std::env::var_os("ARCHIVE_SCHEMATHESIS").map(PathBuf::from);
    let on_path = || {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|d| d.join("schemathesis"))
            .find(|p| p.is_file())
    };
    let found = named.filter(|p| p.is_file()).or_else(on_path);
    if found.is_none() {
        let required = std::env::var("ARCHIVE_TEST_REQUIRE_SCHEMATHESIS").is_ok_and(|v| v == "1");
        assert!(!required, "ARCHIVE_TEST_REQUIRE_SCHEMATHESIS=1 but schemathesis is not installed");
        eprintln!("skipped: schemathesis is not installed (pip install schemathesis)");
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuzzed_requests_get_no_5xx_and_every_answer_matches_the_openapi_document() {
    let Some(schemathesis) = schemathesis() else { return };
    let library = tempfile::tempdir().unwrap();
    let settings = [("ARCHIVE_LIBRARY_ROOTS", library.path().display().to_string())];
    on_each_backend_with(&settings, |app| {
        let schemathesis = schemathesis.clone();
        async move {
            let admin = app.user(Role::Admin).await;
            // schemathesis keeps a cache in its working folder: not in the source tree.
            let scratch = tempfile::tempdir().unwrap();
            let output = tokio::process::Command::new(&schemathesis)
                .current_dir(scratch.path())
                .arg("run")
                .arg(format!("{}/api/v1/openapi.json", app.base))
                .args(["--header", &format!("Authorization: Bearer {}", admin.token)])
                .args([
                    "--checks",
                    "not_a_server_error,status_code_conformance,content_type_conformance,\
                     response_headers_conformance,response_schema_conformance",
                ])
                .args(["--phases", "examples,coverage,fuzzing", "--max-examples", "10", "--workers", "2"])
                // Logging out or refreshing would end the token every other request uses.
                .args(["--exclude-path", "/api/v1/auth/logout", "--exclude-path", "/api/v1/auth/refresh"])
                .args(["--seed", "20261205", "--no-color"])
                .kill_on_drop(true)
                .output();
            let output = tokio::time::timeout(std::time::Duration::from_secs(600), output)
                .await
                .expect("schemathesis finished within 10 minutes")
                .expect("schemathesis runs");
            let report = String::from_utf8_lossy(&output.stdout);
            let summary = report.rfind("SUMMARY").map_or(&report[..], |at| &report[at..]);
            eprintln!("{summary}");
            assert!(
                output.status.success(),
                "schemathesis found failures:\n{report}\n{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    })
    .await;
}
