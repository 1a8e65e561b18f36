//! The `akashi` launcher ([`akashi::cli`]) under a name of this package, for the journeys
//! that run it as a process (`env!("CARGO_BIN_EXE_akashi-launcher")`).

fn main() -> std::process::ExitCode {
    akashi::cli::main()
}
