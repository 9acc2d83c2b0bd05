//! Fault injection for tests, compiled only with the `fault-injection`
//! feature; without it every function here is an empty inline no-op.
//!
//! * `FERRY_FAULT_CHUNK_DELAY_MS=N`: sleep N ms before each chunk of I/O, so
//!   tests can interrupt, pause or kill a copy mid-file deterministically.
//! * `FERRY_FAULT_FLIP_BYTE=1`: flip the first byte of every temp file after
//!   its data is written and before it is verified.
//! * `FERRY_FAULT_BUFFERED=1`: never use `copy_file_range` or reflinks.

use std::fs::File;

/// Called before each chunk of a file copy.
#[inline]
pub fn before_chunk() {
    #[cfg(feature = "fault-injection")]
    {
        use std::sync::OnceLock;
        static DELAY: OnceLock<Option<std::time::Duration>> = OnceLock::new();
        let delay = DELAY.get_or_init(|| {
            std::env::var("FERRY_FAULT_CHUNK_DELAY_MS")
                .ok()
                .and_then(|v| v.parse().ok())
                .map(std::time::Duration::from_millis)
        });
        if let Some(d) = delay {
            std::thread::sleep(*d);
        }
    }
}

/// Whether to skip the kernel fast paths (`FERRY_FAULT_BUFFERED=1`), so a
/// test can cover the buffered fallback on a filesystem that has them.
#[inline]
pub fn forces_buffered() -> bool {
    #[cfg(feature = "fault-injection")]
    {
        std::env::var_os("FERRY_FAULT_BUFFERED").is_some()
    }
    #[cfg(not(feature = "fault-injection"))]
    false
}

/// Called on a temp file after its data is written, before verification.
#[inline]
pub fn after_write(temp: &File) {
    #[cfg(feature = "fault-injection")]
    {
        if std::env::var_os("FERRY_FAULT_FLIP_BYTE").is_some() {
            flip_first_byte(temp);
        }
    }
    #[cfg(not(feature = "fault-injection"))]
    let _ = temp;
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
