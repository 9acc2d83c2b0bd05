//! Fault injection for tests, compiled only with the `fault-injection`
//! feature; without it every hook here is an empty inline no-op.
//!
//! The engine reads no environment: whoever embeds it (the `ferry` binary,
//! which reads `FERRY_FAULT_*` variables) [`install`]s the faults once at
//! start-up.
//!
//! * a delay before each chunk of I/O or each entry, so tests can
//!   interrupt, pause or kill a job mid-file deterministically;
//! * flipping the first byte of every temp file after its data is written
//!   (before it is verified);
//! * never using `copy_file_range` or reflinks;
//! * killing the process (SIGKILL, no clean-up at all) the n-th time it
//!   reaches a named [`point`], to hit a crash window exactly;
//! * panicking at a named point, to test that a panic never hangs Ferry;
//! * pausing at a named point until the test lets go (it creates a file
//!   there and waits until the test removes it), so a test can change the
//!   sources exactly between two steps (after the plan, before the copy).

use std::fs::File;
use std::time::Duration;

/// The faults to inject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    /// Sleep before each chunk of a file copy.
    pub chunk_delay: Option<Duration>,
    /// Sleep before each entry of a job (moves by rename have no chunks).
    pub entry_delay: Option<Duration>,
    /// Flip the first byte of every temp file after its data is written.
    pub flip_byte: bool,
    /// Never use the kernel fast paths.
    pub buffered: bool,
    /// SIGKILL the process the n-th (1-based) time it reaches this point.
    pub kill_at: Option<(String, u32)>,
    /// Panic the first time a worker reaches this point.
    pub panic_at: Option<String>,
    /// The first time a worker reaches this point, create this file and
    /// wait (at most a minute) until it is removed.
    pub pause_at: Option<(String, std::path::PathBuf)>,
}

#[cfg(feature = "fault-injection")]
static FAULTS: std::sync::OnceLock<Faults> = std::sync::OnceLock::new();

/// Installs the faults for this process (the first call wins). Without the
/// `fault-injection` feature this does nothing.
pub fn install(faults: Faults) {
    #[cfg(feature = "fault-injection")]
    {
        let _ = FAULTS.set(faults);
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = faults;
}

#[cfg(feature = "fault-injection")]
fn faults() -> Option<&'static Faults> {
    FAULTS.get()
}

/// Called before each chunk of a file copy.
#[inline]
pub fn before_chunk() {
    #[cfg(feature = "fault-injection")]
    if let Some(d) = faults().and_then(|f| f.chunk_delay) {
        std::thread::sleep(d);
    }
}

/// Called before each entry of a job.
#[inline]
pub fn before_entry() {
    #[cfg(feature = "fault-injection")]
    if let Some(d) = faults().and_then(|f| f.entry_delay) {
        std::thread::sleep(d);
    }
}

/// Whether to skip the kernel fast paths, so a test can cover the buffered
/// fallback on a filesystem that has them.
#[inline]
pub fn forces_buffered() -> bool {
    #[cfg(feature = "fault-injection")]
    {
        faults().is_some_and(|f| f.buffered)
    }
    #[cfg(not(feature = "fault-injection"))]
    false
}

/// Called on a temp file after its data is written, before verification.
#[inline]
pub fn after_write(temp: &File) {
    #[cfg(feature = "fault-injection")]
    if faults().is_some_and(|f| f.flip_byte) {
        flip_first_byte(temp);
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = temp;
}

/// A named place in a crash window (e.g. `"after-place"`, between a file's
/// rename into place and its journal record). Kills or panics there when
/// told to.
#[inline]
pub fn point(name: &str) {
    #[cfg(feature = "fault-injection")]
    if let Some(f) = faults() {
        use std::sync::atomic::{AtomicU32, Ordering};
        static HITS: AtomicU32 = AtomicU32::new(0);
        if let Some((at, n)) = &f.kill_at
            && at == name
            && HITS.fetch_add(1, Ordering::SeqCst) + 1 == *n
        {
            crate::os::kill_self();
        }
        static PANICKED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if f.panic_at.as_deref() == Some(name) && !PANICKED.swap(true, Ordering::SeqCst) {
            panic!("fault injected at '{name}'");
        }
        static PAUSED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        if let Some((at, flag)) = &f.pause_at
            && at == name
            && !PAUSED.swap(true, Ordering::SeqCst)
        {
            pause_until_removed(flag);
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = name;
}

#[cfg(feature = "fault-injection")]
fn pause_until_removed(flag: &std::path::Path) {
    if File::create(flag).is_err() {
        return;
    }
    let until = std::time::Instant::now() + Duration::from_secs(60);
    while flag.exists() && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(feature = "fault-injection")]
fn flip_first_byte(temp: &File) {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut f = temp;
    let mut byte = [0u8];
    if f.seek(SeekFrom::Start(0)).is_ok() && f.read_exact(&mut byte).is_ok() {
        byte[0] ^= 0xff;
        let _ = f.seek(SeekFrom::Start(0)).and_then(|_| f.write_all(&byte));
        let _ = f.seek(SeekFrom::End(0));
    }
}
