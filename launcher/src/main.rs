//! `akashi`: the one-command launcher (its command line is [`akashi::cli`]).

/// mimalloc instead of glibc's malloc: the service allocates and frees per request, and
/// glibc's malloc was 9–13 % of its CPU under load (README, Performance).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    akashi::cli::main()
}
