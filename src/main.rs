//! The `ferry` binary: the command line (and, without arguments, the GUI).

fn main() -> std::process::ExitCode {
    ferry::cli::main()
}
