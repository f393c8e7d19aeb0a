//! Tells the core's tests whether the shared corpus of real logs is beside
//! the checkout (`cfg(corpus)`) and whether this is CI (`cfg(ci)`). A test
//! that needs the corpus is marked ignored, so reported as skipped rather
//! than passed, when it is absent, except under CI, where it runs and fails.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(corpus)");
    println!("cargo::rustc-check-cfg=cfg(ci)");
    println!("cargo::rerun-if-env-changed=CI");
    println!("cargo::rerun-if-changed=../shared/corpus/real");
    if std::path::Path::new("../shared/corpus/real").is_dir() {
        println!("cargo::rustc-cfg=corpus");
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=ci");
    }
}
