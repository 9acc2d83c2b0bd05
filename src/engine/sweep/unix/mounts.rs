//! The mount points of this process's mount namespace, read from
//! `/proc/self/mountinfo`: the walk's fallback, on Linux kernels older than
//! 5.8 whose `statx` gives no mount identity, for telling a bind mount of
//! the same filesystem (same device number) from an ordinary folder. Read
//! once per walk, and only on such kernels. Other Unix systems have no
//! bind mounts of this kind (nor this file): there the device number
//! decides, as it always did.

use std::collections::HashSet;
use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::path::PathBuf;

/// Every mount point (absolute paths, as this process sees them); empty
/// where there is no `/proc/self/mountinfo`.
pub(super) fn mount_points() -> HashSet<PathBuf> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        if let Ok(text) = std::fs::read("/proc/self/mountinfo") {
            return parse(&text);
        }
    }
    HashSet::new()
}

#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
/// The fifth field of each line, with the kernel's octal escapes (`\040`
/// for a space, `\011`, `\012`, `\134`) undone.
fn parse(mountinfo: &[u8]) -> HashSet<PathBuf> {
    mountinfo
        .split(|&b| b == b'\n')
        .filter_map(|line| line.split(|&b| b == b' ').nth(4))
        .filter(|field| field.starts_with(b"/"))
        .map(|field| PathBuf::from(OsString::from_vec(unescape(field))))
        .collect()
}

#[cfg_attr(not(any(target_os = "linux", target_os = "android")), allow(dead_code))]
fn unescape(field: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        let octal = field
            .get(i + 1..i + 4)
            .filter(|d| field[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)));
        match octal {
            Some(d) => {
                let value = d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                i += 4;
            }
            None => {
                out.push(field[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_points_are_read_with_their_escapes() {
        let text = b"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n\
            40 22 8:1 /home/me/outside /home/me/root/bind\\040dir rw - ext4 /dev/sda1 rw\n";
        let points = parse(text);
        assert!(points.contains(&PathBuf::from("/")));
        assert!(points.contains(&PathBuf::from("/home/me/root/bind dir")));
        assert_eq!(points.len(), 2);
        #[cfg(target_os = "linux")]
        assert!(mount_points().contains(&PathBuf::from("/")));
    }
}
