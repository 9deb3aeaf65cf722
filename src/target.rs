//! The target table: which chips and boards exist and their memory limits, read from the
//! embedded `src/targets.ron` so that adding a target is a data change.

use serde::Deserialize;
use std::sync::OnceLock;

/// One chip or board a model can be budgeted against.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub id: String,
    pub title: String,
    /// Program memory; 0 means the model lives in a file, not in flash.
    pub flash_bytes: u64,
    /// Working memory (SRAM on an MCU, RAM on a Pi); 0 means unlimited.
    pub sram_bytes: u64,
    /// Core clock; 0 means unknown.
    pub clock_hz: u64,
    pub isa: String,
    /// Whether the core has a hardware multiplier (the CH32V003 does not).
    pub multiplier: bool,
    /// Runs an operating system and loads the model from a file (a Pi, the host).
    pub hosted: bool,
}

const TABLE_RON: &str = include_str!("targets.ron");

impl Target {
    /// The title without its details: "CH32V003", "Raspberry Pi Zero 2 W".
    pub fn short_name(&self) -> &str {
        self.title.split(" (").next().unwrap_or(&self.title)
    }
}

/// All known targets, in display order.
pub fn all() -> &'static [Target] {
    static TABLE: OnceLock<Vec<Target>> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is compiled in and checked by a unit test, so this cannot fail at run time.
        ron::from_str(TABLE_RON).unwrap_or_else(|e| panic!("built-in targets.ron: {e}"))
    })
}

/// The target with this id.
pub fn find(id: &str) -> Option<&'static Target> {
    all().iter().find(|t| t.id == id)
}

/// Every target id, for suggestions and choice lists.
pub fn ids() -> Vec<&'static str> {
    all().iter().map(|t| t.id.as_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_parses_and_has_the_design_targets() {
        let ids = ids();
        assert_eq!(ids, ["ch32v003", "ch32v002", "pi-zero-2w", "pi4", "host"]);
        let ch = find("ch32v003").unwrap();
        assert_eq!((ch.flash_bytes, ch.sram_bytes), (16 * 1024, 2 * 1024));
        assert!(!ch.multiplier);
        assert_eq!(find("ch32v002").unwrap().sram_bytes, 4096);
        assert_eq!(find("pi-zero-2w").unwrap().sram_bytes, 512 << 20);
    }
}
