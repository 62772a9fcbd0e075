//! How the process hands memory back. Each argon2 run allocates 19 MiB and frees it. glibc
//! serves a freed block that large from its arenas next time and keeps it, raising its
//! threshold for direct `mmap` as it goes, so a burst of sign-ins left the server holding
//! hundreds of MiB (481 MiB after 600 sign-ins, measured) although at most `ARGON2_SLOTS`
//! runs were ever in flight. A fixed threshold makes every block of 1 MiB or more a mapping of
//! its own, returned to the system when freed: memory follows the runs in flight (53 MiB at
//! the peak of the same burst, 14 MiB after). Nothing on the request paths allocates that much.

/// Blocks at least this large are mapped and unmapped on their own.
const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// Fixes glibc's `mmap` threshold (see the module docs). Elsewhere it does nothing.
pub fn return_large_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; glibc documents it as callable at
    // any time, from any thread, and it touches no memory of ours.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
    }
}
