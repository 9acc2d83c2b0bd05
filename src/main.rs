//! The `ferry` binary: the desktop window without arguments, the command
//! line with them. Both are clients of the engine (`ferry_engine`).

mod cli;
mod env;

fn main() -> std::process::ExitCode {
    #[cfg(feature = "fault-injection")]
    env::install_faults();
    cli::main()
}
