//! `tts`: see `tts --help`.

use clap::Parser as _;

/// Worker threads get 8 MiB of stack: rendering a deep page on the server recurses through the
/// view tree, and the 2 MiB default leaves little headroom.
const WORKER_STACK_BYTES: usize = 8 * 1024 * 1024;

/// Allocations from this size up are mapped on their own and given back when freed.
const MMAP_FROM_BYTES: i32 = 1024 * 1024;

/// glibc raises its "map large blocks on their own" threshold after the first large block is
/// freed, so from then on blocks of that size come from per-thread heaps that keep the memory.
/// Each password hash takes 19 MiB (Argon2id), on whichever blocking thread runs it: a few
/// sign-ins at once, or the demo accounts hashed at start, left 100–160 MiB resident for good
/// (measured: 162 MiB idle after `serve --demo`, 40 MiB without). A fixed threshold keeps large
/// blocks mapped, and so returned.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn give_large_blocks_back() {
    // SAFETY: mallopt only sets an allocator parameter; it is called once, before any other
    // thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_FROM_BYTES);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn give_large_blocks_back() {}

/// Everything TTS writes is its own: the database, generated secrets, attachments and the
/// mailbox folder's e-mails (which hold reset links and sign-in codes) are created readable by
/// this user only (files 0600, folders 0700), whatever umask the shell or service manager set.
#[cfg(unix)]
fn keep_files_private() {
    // SAFETY: umask only sets the process's file-creation mask; it is called once, before
    // any other thread exists.
    unsafe {
        libc::umask(0o077);
    }
}

#[cfg(not(unix))]
fn keep_files_private() {}

fn main() -> std::process::ExitCode {
    give_large_blocks_back();
    keep_files_private();
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
