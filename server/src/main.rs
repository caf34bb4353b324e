//! `tts`: see `tts --help`.

use clap::Parser as _;

/// Worker threads get 8 MiB of stack: rendering a deep page on the server recurses through the
/// view tree, and the 2 MiB default leaves little headroom.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

/// mimalloc instead of glibc's allocator. Two reasons, both measured (BENCHMARKS.md): under
/// load glibc spent a quarter of a list request in malloc/free and another sixth in its arena
/// locks (sqlx hands rows between its SQLite threads and tokio's, so memory is freed on
/// another thread than the one that took it); and glibc kept the 19 MiB of each Argon2
/// password hash in per-thread heaps for good (162 MiB idle after `serve --demo`) unless
/// told to map large blocks on their own. mimalloc frees across threads without a lock and
/// gives large blocks back to the system.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = tts_server::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(WORKER_STACK_BYTES)
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(tts_server::run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
