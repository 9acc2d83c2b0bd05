//! The names Ferry gives its own files beside a destination, and how to
//! recognise them again (the sweeper's only way in).
//!
//! * temp file: `.<dest name>.<16 hex digits>.ferry-part`
//! * destination lock: `.<dest name>.ferry-lock`
//! * capability probe: `.ferry-probe-<16 hex digits>`, and that name with a
//!   suffix (see [`crate::caps`]); removed before the probe returns
//! * backup kept by an all-or-nothing job: `.<dest name>.<16 hex digits>.ferry-backup`
//!
//! Long destination names are shortened so every name fits in 255 bytes;
//! a shortened lock name carries a hash of the full name so two long names
//! never share a lock by accident.
//!
//! ```
//! use ferry_engine::names;
//! use std::ffi::OsStr;
//!
//! let temp = names::temp_name(OsStr::new("report.pdf"), 0x0123_4567_89ab_cdef);
//! assert_eq!(temp, ".report.pdf.0123456789abcdef.ferry-part");
//! assert!(names::is_temp_name(&temp));
//! assert_eq!(names::lock_name(OsStr::new("report.pdf")), ".report.pdf.ferry-lock");
//! ```

use std::ffi::{OsStr, OsString};

/// The longest file name most filesystems take, in bytes.
pub const NAME_MAX: usize = 255;

/// Suffix of every temp file.
pub const TEMP_SUFFIX: &str = ".ferry-part";
/// Suffix of the backups kept by all-or-nothing jobs.
pub const BACKUP_SUFFIX: &str = ".ferry-backup";
/// Suffix of every destination lock file.
pub const LOCK_SUFFIX: &str = ".ferry-lock";
/// Start of every name a capability probe creates.
pub const PROBE_PREFIX: &str = ".ferry-probe-";
/// Start of the name of the private folder a sweep moves files into just
/// before it unlinks them.
pub const ASIDE_PREFIX: &str = ".ferry-aside-";
/// Hex digits of randomness in a temp name (64 bits).
pub const RANDOM_HEX_DIGITS: usize = 16;

/// The temp file name for a destination named `dest_name`, with the given
/// random number (draw it with [`random_u64`]).
pub fn temp_name(dest_name: &OsStr, random: u64) -> OsString {
    hidden_name(dest_name, random, TEMP_SUFFIX)
}

/// The name of the backup an all-or-nothing job keeps of a file it
/// replaces: `.<dest name>.<16 hex digits>.ferry-backup`. The sweeper never
/// removes these; the job's journal owns them.
pub fn backup_name(dest_name: &OsStr, random: u64) -> OsString {
    hidden_name(dest_name, random, BACKUP_SUFFIX)
}

fn hidden_name(dest_name: &OsStr, random: u64, suffix: &str) -> OsString {
    use std::fmt::Write as _;
    // Sized at once: a sweep names a file this way for every removal.
    let mut tail = String::with_capacity(17 + suffix.len());
    let _ = write!(tail, ".{random:016x}{suffix}");
    let kept = truncate(dest_name, NAME_MAX - 1 - tail.len());
    let mut name = OsString::with_capacity(1 + kept.len() + tail.len());
    name.push(".");
    name.push(kept);
    name.push(tail);
    name
}

/// The sidecar lock name for a destination named `dest_name`.
pub fn lock_name(dest_name: &OsStr) -> OsString {
    let room = NAME_MAX - 1 - LOCK_SUFFIX.len();
    let mut name = OsString::from(".");
    if dest_name.len() <= room {
        name.push(dest_name);
    } else {
        let hash = blake3::hash(dest_name.as_encoded_bytes()).to_hex();
        let hash = &hash[..16];
        name.push(truncate(dest_name, room - 1 - hash.len()));
        name.push("~");
        name.push(hash);
    }
    name.push(LOCK_SUFFIX);
    name
}

/// `name` with case folded away, for filesystems that ignore case: each
/// character upper-cased, then lower-cased, one character for one (Unicode's
/// simple mappings, where the name is UTF-8; ASCII lower case of its bytes
/// otherwise). Names that fold alike may be one name on such a drive: exFAT
/// and NTFS compare names upper-cased by a table, so the final and the
/// medial sigma (`ς`, `σ`) are one letter there, which lower-casing alone
/// keeps apart. Folding a little more than a drive does costs a needless
/// refusal at most; folding less would let one file replace another.
///
/// ```
/// use ferry_engine::names::fold_case;
/// use std::ffi::OsStr;
/// assert_eq!(fold_case(OsStr::new("Photo.JPG")), "photo.jpg");
/// assert_eq!(fold_case(OsStr::new("ας.txt")), fold_case(OsStr::new("ΑΣ.txt")));
/// ```
pub fn fold_case(name: &OsStr) -> OsString {
    /// `c`'s mapping if it is one character, else `c`.
    fn simple(c: char, mut mapped: impl ExactSizeIterator<Item = char>) -> char {
        match (mapped.len(), mapped.next()) {
            (1, Some(one)) => one,
            _ => c,
        }
    }
    match name.to_str() {
        Some(text) => OsString::from(
            text.chars()
                .map(|c| simple(c, c.to_uppercase()))
                .map(|c| simple(c, c.to_lowercase()))
                .collect::<String>(),
        ),
        None => {
            let bytes = name.as_encoded_bytes().to_ascii_lowercase();
            // SAFETY: ASCII case changes keep every byte sequence's
            // encoding valid (non-ASCII bytes are untouched).
            unsafe { OsString::from_encoded_bytes_unchecked(bytes) }
        }
    }
}

/// Whether `name` has the shape of a Ferry temp file name.
pub fn is_temp_name(name: &OsStr) -> bool {
    has_hidden_shape(name, TEMP_SUFFIX)
}

/// Whether `name` has the shape of a backup kept by an all-or-nothing job
/// ([`backup_name`]).
///
/// ```
/// use ferry_engine::names;
/// use std::ffi::OsStr;
///
/// let backup = names::backup_name(OsStr::new("report.pdf"), 7);
/// assert!(names::is_backup_name(&backup));
/// assert!(!names::is_temp_name(&backup));
/// assert!(!names::is_backup_name(OsStr::new(".report.pdf.ferry-backup")));
/// ```
pub fn is_backup_name(name: &OsStr) -> bool {
    has_hidden_shape(name, BACKUP_SUFFIX)
}

/// `.<name>.<16 hex digits><suffix>`.
fn has_hidden_shape(name: &OsStr, suffix: &str) -> bool {
    let bytes = name.as_encoded_bytes();
    let Some(stem) = bytes.strip_suffix(suffix.as_bytes()) else {
        return false;
    };
    if !bytes.starts_with(b".") || stem.len() < 1 + 1 + 1 + RANDOM_HEX_DIGITS {
        return false;
    }
    let (head, random) = stem.split_at(stem.len() - RANDOM_HEX_DIGITS);
    head.ends_with(b".")
        && random
            .iter()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
}

/// The part of a temp name that comes from its destination's name (the
/// destination name, shortened as [`temp_name`] shortens it).
///
/// ```
/// use ferry_engine::names;
/// use std::ffi::OsStr;
///
/// let temp = names::temp_name(OsStr::new("a.txt"), 7);
/// assert_eq!(names::temp_stem(&temp), Some(names::temp_stem_for(OsStr::new("a.txt")).as_os_str()));
/// ```
pub fn temp_stem(temp: &OsStr) -> Option<&OsStr> {
    hidden_stem(temp, TEMP_SUFFIX)
}

/// What [`temp_stem`] returns for the temps of a destination named
/// `dest_name`.
pub fn temp_stem_for(dest_name: &OsStr) -> OsString {
    hidden_stem_for(dest_name, TEMP_SUFFIX)
}

/// The part of a backup name that comes from its destination's name, as
/// [`temp_stem`] for temps.
///
/// ```
/// use ferry_engine::names;
/// use std::ffi::OsStr;
///
/// let backup = names::backup_name(OsStr::new("a.txt"), 7);
/// assert_eq!(names::backup_stem(&backup), Some(names::backup_stem_for(OsStr::new("a.txt")).as_os_str()));
/// assert_eq!(names::backup_stem(OsStr::new("a.txt")), None);
/// ```
pub fn backup_stem(backup: &OsStr) -> Option<&OsStr> {
    hidden_stem(backup, BACKUP_SUFFIX)
}

/// What [`backup_stem`] returns for the backups of a destination named
/// `dest_name`.
pub fn backup_stem_for(dest_name: &OsStr) -> OsString {
    hidden_stem_for(dest_name, BACKUP_SUFFIX)
}

/// The destination's part of a hidden name `.<name>.<16 hex><suffix>`.
fn hidden_stem<'a>(name: &'a OsStr, suffix: &str) -> Option<&'a OsStr> {
    if !has_hidden_shape(name, suffix) {
        return None;
    }
    let bytes = name.as_encoded_bytes();
    let end = bytes.len() - suffix.len() - RANDOM_HEX_DIGITS - 1;
    // SAFETY: the cut points are next to ASCII '.' characters.
    Some(unsafe { OsStr::from_encoded_bytes_unchecked(&bytes[1..end]) })
}

/// [`hidden_stem`] of the hidden names [`hidden_name`] makes for
/// `dest_name`.
fn hidden_stem_for(dest_name: &OsStr, suffix: &str) -> OsString {
    let room = NAME_MAX - 1 - (1 + RANDOM_HEX_DIGITS + suffix.len());
    truncate(dest_name, room).to_os_string()
}

/// Whether `name` has the shape of a Ferry destination lock name.
pub fn is_lock_name(name: &OsStr) -> bool {
    let bytes = name.as_encoded_bytes();
    bytes.starts_with(b".")
        && bytes
            .strip_suffix(LOCK_SUFFIX.as_bytes())
            .is_some_and(|stem| stem.len() >= 2)
}

/// The name of a capability probe's file: `.ferry-probe-<16 hex digits>`.
/// The probe's other names add a suffix to it.
pub fn probe_name(random: u64) -> OsString {
    OsString::from(format!("{PROBE_PREFIX}{random:016x}"))
}

/// The characters a capability probe tries in names (`.c<some of them>x`):
/// those Windows reserves (the probe's `WINDOWS_RESERVED_CHARS`).
pub const PROBE_CHARS: &str = ":*?\"<>|\\";

/// The endings a capability probe gives [`probe_name`] for its other
/// files and folders (besides `.c<reserved characters>x`, see
/// [`is_probe_name`]).
pub const PROBE_SUFFIXES: [&str; 11] = [
    "", ".link", ".sym", ".unnamed", ".\u{e9}", ".renamed", ".dir", ".dir2", ".e", ".e.", ".e ",
];

/// Whether `name` is one of a capability probe's names: [`probe_name`]
/// alone or with one of [`PROBE_SUFFIXES`], or `.c`, some of the
/// characters Windows reserves, and `x` (only a probe killed mid-way
/// leaves one behind; the sweeper takes such files for Ferry temps, and
/// removes such folders when empty). Any other ending is a person's name.
///
/// ```
/// use std::ffi::OsStr;
/// use ferry_engine::names::is_probe_name;
///
/// assert!(is_probe_name(OsStr::new(".ferry-probe-0123456789abcdef.link")));
/// assert!(is_probe_name(OsStr::new(".ferry-probe-0123456789abcdef.c:x")));
/// assert!(!is_probe_name(OsStr::new(".ferry-probe-0123456789abcdef notes.txt")));
/// ```
pub fn is_probe_name(name: &OsStr) -> bool {
    if !starts_with_random(name, PROBE_PREFIX) {
        return false;
    }
    let suffix = &name.as_encoded_bytes()[PROBE_PREFIX.len() + RANDOM_HEX_DIGITS..];
    PROBE_SUFFIXES.iter().any(|s| s.as_bytes() == suffix)
        || suffix
            .strip_prefix(b".c")
            .and_then(|rest| rest.strip_suffix(b"x"))
            .and_then(|chars| std::str::from_utf8(chars).ok())
            .is_some_and(|chars| {
                !chars.is_empty() && chars.chars().all(|c| PROBE_CHARS.contains(c))
            })
}

/// The name of a sweep's private folder: `.ferry-aside-<16 hex digits>`
/// (made and recognised by the Unix sweeper only).
#[cfg_attr(not(unix), allow(dead_code))]
pub fn aside_folder_name(random: u64) -> OsString {
    OsString::from(format!("{ASIDE_PREFIX}{random:016x}"))
}

/// Whether `name` is a sweep's private folder's name, exactly as
/// [`aside_folder_name`] makes it. Only a sweep killed mid-way leaves one
/// behind.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn is_aside_folder_name(name: &OsStr) -> bool {
    name.len() == ASIDE_PREFIX.len() + RANDOM_HEX_DIGITS && starts_with_random(name, ASIDE_PREFIX)
}

/// Whether `name` is `prefix` followed by 16 lower-case hex digits.
fn starts_with_random(name: &OsStr, prefix: &str) -> bool {
    name.as_encoded_bytes()
        .strip_prefix(prefix.as_bytes())
        .and_then(|rest| rest.get(..RANDOM_HEX_DIGITS))
        .is_some_and(|hex| {
            hex.iter()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b))
        })
}

/// 64 bits from the operating system's random source.
///
/// Drawn from a small per-thread pool that is refilled from the OS in one
/// call (copying many small files makes a name each): every value is still
/// 64 bits straight from the OS source, never derived or reused.
pub fn random_u64() -> u64 {
    use std::cell::RefCell;
    thread_local! {
        static POOL: RefCell<(Vec<u8>, usize)> = const { RefCell::new((Vec::new(), 0)) };
    }
    POOL.with(|pool| {
        let (bytes, at) = &mut *pool.borrow_mut();
        if *at + 8 > bytes.len() {
            bytes.resize(512, 0);
            // The OS random source failing is not something a copy can
            // recover from.
            getrandom::fill(bytes).expect("the operating system's random source failed");
            *at = 0;
        }
        let value = u64::from_ne_bytes(bytes[*at..*at + 8].try_into().expect("8 bytes"));
        // Used bytes are wiped, so nothing drawn is ever handed out twice.
        bytes[*at..*at + 8].fill(0);
        *at += 8;
        value
    })
}

/// The first `max` bytes of `name`, cut at a character boundary when the
/// name is valid UTF-8 (macOS and Windows require valid names).
fn truncate(name: &OsStr, max: usize) -> std::borrow::Cow<'_, OsStr> {
    super::os::truncate_name(name, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_fit_in_255_bytes() {
        let long = "é".repeat(127) + "x"; // 255 bytes
        let temp = temp_name(OsStr::new(&long), u64::MAX);
        assert!(temp.len() <= NAME_MAX, "{}", temp.len());
        assert!(temp.to_str().is_some(), "cut inside a character");
        assert!(is_temp_name(&temp));
        let lock = lock_name(OsStr::new(&long));
        assert!(lock.len() <= NAME_MAX);
        assert!(is_lock_name(&lock));
        let other = "é".repeat(127) + "y";
        assert_ne!(lock, lock_name(OsStr::new(&other)));
    }

    #[test]
    fn recognises_only_its_own_shapes() {
        assert!(is_temp_name(OsStr::new(".a.0000000000000000.ferry-part")));
        assert!(!is_temp_name(OsStr::new("a.0000000000000000.ferry-part")));
        assert!(!is_temp_name(OsStr::new(".a.000000000000000.ferry-part")));
        assert!(!is_temp_name(OsStr::new(".a.000000000000000G.ferry-part")));
        assert!(!is_temp_name(OsStr::new(".0000000000000000.ferry-part")));
        assert!(!is_temp_name(OsStr::new(".a.ferry-part")));
        assert!(!is_lock_name(OsStr::new("a.ferry-lock")));
        assert!(!is_lock_name(OsStr::new(".ferry-lock")));
        assert!(is_probe_name(&probe_name(u64::MAX)));
        assert!(is_probe_name(OsStr::new(
            ".ferry-probe-0123456789abcdef.c:x"
        )));
        assert!(!is_probe_name(OsStr::new(".ferry-probe-0123456789abcde")));
        assert!(!is_probe_name(OsStr::new("ferry-probe-0123456789abcdef")));
        for persons in [" notes.txt", ".dir3", ".c", ".cx", ".c:", ".cax", ".link.txt"] {
            let name = format!(".ferry-probe-0123456789abcdef{persons}");
            assert!(!is_probe_name(OsStr::new(&name)), "{name}");
        }
        assert!(is_aside_folder_name(&aside_folder_name(7)));
        assert!(!is_aside_folder_name(&probe_name(7)));
        assert!(!is_aside_folder_name(OsStr::new(".ferry-aside-0123")));
        assert!(!is_aside_folder_name(OsStr::new(
            ".ferry-aside-0123456789abcdef-mine"
        )));
    }
}
