//! The `ferry` binary: the desktop window without arguments, the command
//! line with them. Both are clients of the engine (`ferry_engine`).

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
