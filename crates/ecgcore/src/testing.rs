//! For tests only: what a test does when an input it needs (data under `../shared`, the
//! unpacked `.data`, a system tool such as pdftotext, Xvfb or `unshare`, a wgpu adapter) is
//! missing. With `ECGSCOPE_REQUIRE_DATA=1` (set by `.ci/run`) the test fails; otherwise it
//! says it was skipped, so a developer without the data can still run the rest.

/// The environment variable that turns skips into failures.
pub const REQUIRE_DATA_ENV: &str = "ECGSCOPE_REQUIRE_DATA";

/// Whether missing inputs must fail the tests.
pub fn inputs_required() -> bool {
    std::env::var(REQUIRE_DATA_ENV).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Report a missing input: panics under [`REQUIRE_DATA_ENV`], else prints "SKIPPED: …".
/// The caller returns right after.
pub fn skip(reason: &str) {
    assert!(
        !inputs_required(),
        "{reason} ({REQUIRE_DATA_ENV} is set: a missing test input is a failure)"
    );
    eprintln!("SKIPPED: {reason}");
}
