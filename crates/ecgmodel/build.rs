//! Shared by every crate whose binaries link LibTorch (ecgscope, ecgmodel, ecglab: their
//! Cargo.toml point `build` here). Gives the final binaries an rpath to LibTorch and keeps libtorch_cuda linked when it
//! exists (otherwise `--as-needed` drops it and CUDA is never available). See
//! ../shared/TOOLCHAIN.md. `DEP_TCH_LIBTORCH_LIB` reaches us because torch-sys is a
//! direct dependency.
fn main() {
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if let Some(lib) = std::env::var_os("DEP_TCH_LIBTORCH_LIB") {
        let lib = std::path::PathBuf::from(lib);
        println!("cargo:rustc-link-arg=-Wl,-rpath,{}", lib.display());
        if lib.join("libtorch_cuda.so").exists() {
            println!("cargo:rustc-link-arg=-Wl,--no-as-needed");
            println!("cargo:rustc-link-arg=-ltorch_cuda");
        }
    }
}
