//! `akashi`: the one-command launcher (its command line is [`akashi::cli`]).

fn main() -> std::process::ExitCode {
    akashi::cli::main()
}
