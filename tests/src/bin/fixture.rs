//! The test fixtures behind kart's command line.

// Link the fixture crate: a crate nothing names is not linked and its tasks would be missing.
use kart_tests as _;

fn main() -> std::process::ExitCode {
    kart_cli::main()
}
