//! The view state kept between runs (with the window's size and position,
//! which eframe keeps itself): the open tab, the destination last typed,
//! and how the Cleanup table is sorted and filtered. Nothing here comes from
//! the engine; it is only how the person left the window.

use serde::{Deserialize, Serialize};

/// The tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Tab {
    /// Drop zone, queue and history.
    #[default]
    Transfers,
    /// Leftover temp files.
    Cleanup,
    /// Settings.
    Settings,
}

impl Tab {
    /// Every tab, in order.
    pub const ALL: [Self; 3] = [Self::Transfers, Self::Cleanup, Self::Settings];

    /// The tab's name.
    pub fn label(self) -> &'static str {
        match self {
            Self::Transfers => "Transfers",
            Self::Cleanup => "Cleanup",
            Self::Settings => "Settings",
        }
    }
}

/// What the Cleanup chart measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum ChartMeasure {
    /// Bytes.
    #[default]
    Size,
    /// Files.
    Files,
}

/// A column of the Cleanup table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum SortColumn {
    /// Active, young, orphan, foreign, backup.
    Status,
    /// The file's path.
    #[default]
    Path,
    /// Its size.
    Size,
    /// Its age.
    Age,
    /// Ferry temp, Ferry lock, other tool's, backup.
    Kind,
}

/// Which statuses the Cleanup table shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct StatusFilter {
    /// Files a live transfer holds.
    pub active: bool,
    /// Files younger than the threshold.
    pub young: bool,
    /// Orphans.
    pub orphan: bool,
    /// Other tools' files.
    pub foreign: bool,
    /// Backups of replaced files (never swept).
    pub backup: bool,
}

impl Default for StatusFilter {
    fn default() -> Self {
        Self {
            active: true,
            young: true,
            orphan: true,
            foreign: true,
            backup: true,
        }
    }
}

/// Everything remembered between runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ViewState {
    /// The open tab.
    pub tab: Tab,
    /// The destination field's text.
    pub destination: String,
    /// The Cleanup table's sort column.
    pub sort: SortColumn,
    /// Whether that sort is descending.
    pub descending: bool,
    /// The Cleanup table's status filter.
    pub filter: StatusFilter,
    /// What the Cleanup chart shows.
    pub chart: ChartMeasure,
    /// The interval of the last sweep schedule (seconds), so that turning
    /// the schedule off, saving, and on again offers the same interval.
    pub schedule_interval_secs: Option<u64>,
}

impl Default for ViewState {
    fn default() -> Self {
        Self {
            tab: Tab::Transfers,
            destination: String::new(),
            sort: SortColumn::Path,
            descending: false,
            filter: StatusFilter::default(),
            chart: ChartMeasure::Size,
            schedule_interval_secs: None,
        }
    }
}

/// The key the view state is stored under.
pub const STORAGE_KEY: &str = "ferry-view";
