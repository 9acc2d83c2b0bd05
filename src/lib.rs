//! Ferry: a transfer manager whose copies are locked, fsynced and atomic.
//!
//! The [`engine`] is the core and is usable on its own; [`cli`] is the
//! command line built on it, and [`ui`] the desktop window.

pub mod cli;
pub mod engine;
pub mod format;
pub mod ui;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
