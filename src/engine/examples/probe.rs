//! Prints what a destination folder's filesystem can keep.
//!
//! ```text
//! cargo run -p ferry-engine --example probe -- /media/usb [more folders…]
//! ```

fn main() {
    let dirs: Vec<std::path::PathBuf> = std::env::args_os().skip(1).map(Into::into).collect();
    if dirs.is_empty() {
        eprintln!("usage: probe FOLDER...");
        std::process::exit(2);
    }
    let mut failed = false;
    for dir in dirs {
        match ferry_engine::caps::probe(&dir) {
            Ok(caps) => println!("{}: {caps}\n{caps:#?}", dir.display()),
            Err(e) => {
                eprintln!("{}: {e}", dir.display());
                failed = true;
            }
        }
    }
    std::process::exit(i32::from(failed));
}
