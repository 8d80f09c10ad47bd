//! Turns on the PostgreSQL half of the test suite when `PINGYI_TEST_POSTGRES_URL` is set, so
//! that without it those tests are reported as ignored (with the reason), never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(pg_tests)");
    println!("cargo::rerun-if-env-changed=PINGYI_TEST_POSTGRES_URL");
    if std::env::var("PINGYI_TEST_POSTGRES_URL").is_ok_and(|v| !v.trim().is_empty()) {
        println!("cargo::rustc-cfg=pg_tests");
    }
}
