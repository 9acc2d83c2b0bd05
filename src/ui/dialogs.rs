//! File pickers, off the UI thread.
//!
//! A native dialog can take any time to answer (a person is choosing), and a
//! desktop portal that accepts a request and never answers would block a
//! synchronous call forever. So every dialog runs on its own thread behind
//! the small [`FileDialogs`] trait; the answer comes back through a channel
//! and wakes the window. Tests answer dialogs with their own implementation.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, unbounded};

/// What kind of item to pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PickMode {
    /// One or more files.
    Files,
    /// One folder.
    Folder,
}

/// Why a dialog was opened: where its answer goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Files to transfer.
    AddFiles,
    /// A folder to transfer.
    AddFolder,
    /// The destination folder.
    Destination,
    /// A folder for the sweeper to look in.
    SweepRoot,
}

impl Purpose {
    /// What to pick for this purpose.
    pub fn mode(self) -> PickMode {
        match self {
            Self::AddFiles => PickMode::Files,
            Self::AddFolder | Self::Destination | Self::SweepRoot => PickMode::Folder,
        }
    }

    /// The dialog's title.
    pub fn title(self) -> &'static str {
        match self {
            Self::AddFiles => "Add files to transfer",
            Self::AddFolder => "Add a folder to transfer",
            Self::Destination => "Choose the destination folder",
            Self::SweepRoot => "Choose a folder to clean up",
        }
    }
}

/// How a dialog ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The person chose these.
    Picked(Vec<PathBuf>),
    /// The person closed the dialog.
    Cancelled,
    /// No dialog can be shown on this system; the reason, in words.
    Unavailable(String),
}

/// Something that shows file dialogs. [`FileDialogs::pick`] runs on a
/// helper thread and may block it for as long as the person takes.
pub trait FileDialogs: Send + Sync + 'static {
    /// Shows a dialog and waits for its answer.
    fn pick(&self, mode: PickMode, title: &str, start_in: Option<&Path>) -> Answer;
}

/// The system's dialogs through `rfd`: the desktop portal on Linux (or
/// zenity without one), the native panels on Windows and macOS.
#[derive(Debug, Default, Clone, Copy)]
pub struct RfdDialogs;

/// A dialog that answers "nothing chosen" faster than this was never shown:
/// no dialog backend exists (rfd returns `None` within milliseconds then).
const NO_BACKEND_WITHIN: Duration = Duration::from_millis(250);

/// What people are told when no dialog can be shown.
pub const UNAVAILABLE: &str = "No file dialog can be shown on this system (no desktop portal or \
     zenity was found). Drag files and folders onto the window, or type paths instead.";

impl FileDialogs for RfdDialogs {
    fn pick(&self, mode: PickMode, title: &str, start_in: Option<&Path>) -> Answer {
        let mut dialog = rfd::AsyncFileDialog::new().set_title(title);
        if let Some(dir) = start_in {
            dialog = dialog.set_directory(dir);
        }
        let started = Instant::now();
        let picked: Option<Vec<PathBuf>> = match mode {
            PickMode::Files => pollster::block_on(dialog.pick_files())
                .map(|files| files.iter().map(|f| f.path().to_path_buf()).collect()),
            PickMode::Folder => pollster::block_on(dialog.pick_folder())
                .map(|folder| vec![folder.path().to_path_buf()]),
        };
        match picked {
            Some(paths) if !paths.is_empty() => Answer::Picked(paths),
            _ if started.elapsed() < NO_BACKEND_WITHIN => Answer::Unavailable(UNAVAILABLE.into()),
            _ => Answer::Cancelled,
        }
    }
}

/// Opens dialogs on helper threads and collects their answers for the UI.
pub struct DialogHost {
    dialogs: Arc<dyn FileDialogs>,
    answers_tx: Sender<(Purpose, Answer)>,
    answers: Receiver<(Purpose, Answer)>,
    wake: Arc<dyn Fn() + Send + Sync>,
    open: Option<Purpose>,
    unavailable: Option<String>,
}

impl DialogHost {
    /// A host showing `dialogs`; `wake` is called when an answer arrives.
    pub fn new(dialogs: Arc<dyn FileDialogs>, wake: Arc<dyn Fn() + Send + Sync>) -> Self {
        let (answers_tx, answers) = unbounded();
        Self {
            dialogs,
            answers_tx,
            answers,
            wake,
            open: None,
            unavailable: None,
        }
    }

    /// Opens a dialog unless one is already open (then returns `false`).
    pub fn open(&mut self, purpose: Purpose, start_in: Option<PathBuf>) -> bool {
        if self.open.is_some() {
            return false;
        }
        let dialogs = self.dialogs.clone();
        let tx = self.answers_tx.clone();
        let wake = self.wake.clone();
        let spawned = thread::Builder::new()
            .name("ferry-dialog".into())
            .spawn(move || {
                let answer = dialogs.pick(purpose.mode(), purpose.title(), start_in.as_deref());
                let _ = tx.send((purpose, answer));
                wake();
            });
        match spawned {
            Ok(_) => {
                self.open = Some(purpose);
                true
            }
            Err(e) => {
                self.unavailable = Some(format!("A file dialog could not be started ({e})."));
                false
            }
        }
    }

    /// The dialog waiting for an answer, if any.
    pub fn open_purpose(&self) -> Option<Purpose> {
        self.open
    }

    /// Forgets the open dialog (its answer, if it ever comes, is dropped),
    /// so another can be opened: for a dialog that never shows up.
    pub fn abandon(&mut self) {
        self.open = None;
    }

    /// Why dialogs cannot be shown, once one has failed that way.
    pub fn unavailable(&self) -> Option<&str> {
        self.unavailable.as_deref()
    }

    /// Answers that arrived since the last call.
    pub fn drain(&mut self) -> Vec<(Purpose, Answer)> {
        let mut answers = Vec::new();
        while let Ok((purpose, answer)) = self.answers.try_recv() {
            if self.open != Some(purpose) {
                continue; // abandoned
            }
            self.open = None;
            if let Answer::Unavailable(why) = &answer {
                self.unavailable = Some(why.clone());
            }
            answers.push((purpose, answer));
        }
        answers
    }
}
