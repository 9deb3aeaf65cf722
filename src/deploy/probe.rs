//! Flashing a CH32V003 through a WCH-LinkE with probe-rs (as a library): the budget is
//! checked, the firmware built, and the ELF's loadable segments go into probe-rs's flash
//! loader for the `CH32V003F4P6` target, which erases, programs and verifies; then the
//! core is reset. Without a probe the code stops at "no probe found" ([`ProbeError::NoProbe`])
//! and the front-end says what to check.

use probe_rs::config::Registry;
use probe_rs::flashing::{DownloadOptions, FlashLoader, FlashProgress, ProgressEvent};
use probe_rs::probe::DebugProbeSelector;
use probe_rs::probe::list::{Accessibility, Lister, ProbeListItem};
use probe_rs::{Permissions, Target};
use std::path::{Path, PathBuf};

/// The full part name: probe-rs finds "CH32V003" ambiguous.
pub const CHIP: &str = "CH32V003F4P6";

type Cause = Box<dyn std::error::Error + Send + Sync>;

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("no debug probe found; connect a WCH-LinkE")]
    NoProbe,
    #[error("no debug probe matches {wanted}; the probes here: {found}")]
    NoMatch { wanted: String, found: String },
    #[error("{probe} is plugged in, but this user may not open it")]
    NoAccess { probe: String },
    #[error("probe-rs does not know the target '{0}'")]
    UnknownTarget(String),
    #[error("the ELF '{}' could not be read", path.display())]
    Elf { path: PathBuf, source: Cause },
    #[error("the firmware does not fit the chip's flash")]
    Layout(#[source] Cause),
    #[error("the probe failed while {doing}")]
    Probe {
        doing: &'static str,
        #[source]
        source: Cause,
    },
}

/// A malformed ELF.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ElfError(&'static str);

fn probe_err(doing: &'static str) -> impl FnOnce(probe_rs::Error) -> ProbeError {
    move |e| ProbeError::Probe {
        doing,
        source: Box::new(e),
    }
}

/// A probe as "name (VID:PID, serial)".
fn describe(p: &probe_rs::probe::DebugProbeInfo) -> String {
    format!(
        "{} ({:04x}:{:04x}{})",
        p.identifier,
        p.vendor_id,
        p.product_id,
        p.serial_number
            .as_deref()
            .map(|s| format!(", {s}"))
            .unwrap_or_default()
    )
}

/// The debug probes attached to this machine, as "name (VID:PID, serial)".
pub fn probes() -> Vec<String> {
    Lister::new().list_all().iter().map(describe).collect()
}

/// Parses `--probe VID:PID[:SERIAL]` (hexadecimal ids, as `lsusb` prints them).
pub fn parse_selector(s: &str) -> Result<DebugProbeSelector, String> {
    s.parse::<DebugProbeSelector>()
        .map_err(|e| format!("'{s}' is not VID:PID[:SERIAL], e.g. 1a86:8010 ({e})"))
}

/// The probe to flash through: the one `wanted` names, else the first; one the user may
/// not open is refused with [`ProbeError::NoAccess`] (the front-ends add the udev rule).
pub fn pick(
    items: Vec<ProbeListItem>,
    wanted: Option<&DebugProbeSelector>,
) -> Result<probe_rs::probe::DebugProbeInfo, ProbeError> {
    let all: Vec<String> = items.iter().map(|i| describe(&i.info)).collect();
    let item = match wanted {
        None => items.into_iter().next().ok_or(ProbeError::NoProbe)?,
        Some(w) => items
            .into_iter()
            .find(|i| w.matches_probe(&i.info))
            .ok_or_else(|| ProbeError::NoMatch {
                wanted: w.to_string(),
                found: if all.is_empty() {
                    "none".into()
                } else {
                    all.join(", ")
                },
            })?,
    };
    match item.accessibility {
        Accessibility::Accessible => Ok(item.info),
        Accessibility::PermissionDenied => Err(ProbeError::NoAccess {
            probe: describe(&item.info),
        }),
    }
}

/// The CH32V003 target from probe-rs's built-in database.
pub fn target() -> Result<Target, ProbeError> {
    Registry::from_builtin_families()
        .get_target_by_name(CHIP)
        .map_err(|_| ProbeError::UnknownTarget(CHIP.into()))
}

/// A loadable piece of an ELF: where it goes in flash and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub address: u64,
    pub data: Vec<u8>,
}

/// The PT_LOAD segments of a 32-bit little-endian ELF with file bytes, at their physical
/// (load) addresses: what a programmer writes to flash.
pub fn loadable_segments(elf: &[u8]) -> Result<Vec<Segment>, ElfError> {
    let rd16 = |o: usize| -> Result<u16, ElfError> {
        elf.get(o..o + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .ok_or(ElfError("truncated"))
    };
    let rd32 = |o: usize| -> Result<u32, ElfError> {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or(ElfError("truncated"))
    };
    if elf.get(..4) != Some(b"\x7fELF") || elf.get(4) != Some(&1) || elf.get(5) != Some(&1) {
        return Err(ElfError("not a 32-bit little-endian ELF"));
    }
    let (phoff, phentsize, phnum) = (rd32(28)? as usize, rd16(42)? as usize, rd16(44)?);
    let mut out = Vec::new();
    for i in 0..usize::from(phnum) {
        let h = phoff + i * phentsize;
        let (kind, offset, paddr, filesz) = (rd32(h)?, rd32(h + 4)?, rd32(h + 12)?, rd32(h + 16)?);
        if kind != 1 || filesz == 0 {
            continue; // PT_LOAD with bytes only
        }
        let data = elf
            .get(offset as usize..offset as usize + filesz as usize)
            .ok_or(ElfError("a segment runs past the file"))?
            .to_vec();
        out.push(Segment {
            address: u64::from(paddr),
            data,
        });
    }
    Ok(out)
}

/// The flash loader holding exactly the ELF's loadable segments, checked against the
/// target's memory map (fails if anything lies outside its flash).
pub fn loader_for(elf: &Path, target: &Target) -> Result<FlashLoader, ProbeError> {
    let elf_err = |e: Cause| ProbeError::Elf {
        path: elf.to_path_buf(),
        source: e,
    };
    let bytes = std::fs::read(elf).map_err(|e| elf_err(Box::new(e)))?;
    let segments = loadable_segments(&bytes).map_err(|e| elf_err(Box::new(e)))?;
    let mut loader = target.flash_loader();
    for s in &segments {
        loader
            .add_data(s.address, &s.data)
            .map_err(|e| ProbeError::Layout(Box::new(e)))?;
    }
    Ok(loader)
}

/// Stages of a flash, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Erase,
    Program,
    Verify,
}

/// Erases, programs, verifies and resets. `progress(stage, done, total)`.
pub fn flash(
    elf: &Path,
    wanted: Option<&DebugProbeSelector>,
    mut progress: impl FnMut(Stage, u64, u64),
) -> Result<(), ProbeError> {
    let target = target()?;
    let loader = loader_for(elf, &target)?;
    let info = pick(Lister::new().list_all_with_access(), wanted)?;
    let probe = info.open().map_err(|e| ProbeError::Probe {
        doing: "opening it",
        source: Box::new(e),
    })?;
    let mut session = probe
        .attach(target, Permissions::default())
        .map_err(probe_err("attaching to the chip"))?;
    let mut totals = [0u64; 3];
    let mut done = [0u64; 3];
    let mut options = DownloadOptions::default();
    options.verify = true;
    options.progress = FlashProgress::new(|e| {
        use probe_rs::flashing::ProgressOperation as Op;
        let idx = |op: Op| match op {
            Op::Erase => Some((0, Stage::Erase)),
            Op::Program => Some((1, Stage::Program)),
            Op::Verify => Some((2, Stage::Verify)),
            Op::Fill => None,
        };
        match e {
            ProgressEvent::AddProgressBar {
                operation,
                total: Some(t),
            } => {
                if let Some((i, _)) = idx(operation) {
                    totals[i] = t;
                }
            }
            ProgressEvent::Progress {
                operation, size, ..
            } => {
                if let Some((i, stage)) = idx(operation) {
                    done[i] += size;
                    progress(stage, done[i], totals[i]);
                }
            }
            _ => {}
        }
    });
    loader
        .commit(&mut session, options)
        .map_err(|e| ProbeError::Probe {
            doing: "programming the flash",
            source: Box::new(e),
        })?;
    session
        .core(0)
        .and_then(|mut c| c.reset())
        .map_err(probe_err("resetting the core"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn linke(serial: &str, access: Accessibility) -> ProbeListItem {
        ProbeListItem {
            info: probe_rs::probe::DebugProbeInfo::new(
                "WCH-Link",
                0x1a86,
                0x8010,
                Some(serial.into()),
                &probe_rs::probe::wlink::WchLinkFactory,
                None,
                false,
            ),
            accessibility: access,
        }
    }

    /// Issue #20: `--probe VID:PID:SERIAL` picks one of several probes; one this user
    /// may not open is refused as such (the front-ends then give the udev rule), not
    /// as a raw USB error.
    #[test]
    fn a_probe_is_picked_by_selector_and_an_unopenable_one_is_named() {
        let two = || {
            vec![
                linke("A1", Accessibility::Accessible),
                linke("B2", Accessibility::PermissionDenied),
            ]
        };
        assert_eq!(
            pick(two(), None).unwrap().serial_number.as_deref(),
            Some("A1")
        );
        let b = parse_selector("1a86:8010:B2").unwrap();
        match pick(two(), Some(&b)) {
            Err(ProbeError::NoAccess { probe }) => assert!(probe.contains("B2"), "{probe}"),
            other => panic!("{other:?}"),
        }
        let c = parse_selector("1a86:8010:C3").unwrap();
        match pick(two(), Some(&c)) {
            Err(e @ ProbeError::NoMatch { .. }) => {
                let t = e.to_string();
                assert!(t.contains("A1") && t.contains("B2"), "{t}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(pick(vec![], None), Err(ProbeError::NoProbe)));
        assert!(parse_selector("linke").is_err());
    }

    #[test]
    fn the_chip_is_in_probe_rs_database_with_16_kb_of_flash() {
        let t = target().expect("CH32V003F4P6 is built in");
        let flash: u64 = t
            .memory_map
            .iter()
            .filter_map(|r| match r {
                probe_rs::config::MemoryRegion::Nvm(n) => Some(n.range.end - n.range.start),
                _ => None,
            })
            .sum();
        assert!(flash >= 16 * 1024, "{flash}");
    }

    /// The CH32V003 firmware of the shipped die model.
    fn default_firmware(dir: &Path) -> crate::deploy::firmware::Built {
        let p = crate::templates::default_project("cvae-die").unwrap();
        let m = crate::templates::deployable(&p, None).unwrap();
        let header = m.header("test", "ch32v003").unwrap();
        crate::deploy::firmware::build_rv32(
            crate::deploy::firmware::Rv32Board::Ch32v003,
            &header,
            &m.firmware_config(),
            dir,
        )
        .unwrap()
    }

    /// Without hardware (this machine, CI) the probe list is empty and flashing stops at
    /// "no probe found" after the image was built; the hardware suite runs with a probe.
    #[test]
    fn without_a_probe_flashing_stops_at_the_hardware_boundary() {
        if !probes().is_empty() {
            return; // a probe is attached: this is the hardware suite's machine
        }
        let dir = tempfile::tempdir().unwrap();
        let built = default_firmware(dir.path());
        let err = flash(&built.elf, None, |_, _, _| {}).unwrap_err();
        assert!(matches!(err, ProbeError::NoProbe), "{err}");
    }

    /// What would be written is exactly the built ELF's loadable segments.
    #[test]
    fn the_loader_holds_exactly_the_elf_segments() {
        let dir = tempfile::tempdir().unwrap();
        let built = default_firmware(dir.path());
        let segments = loadable_segments(&std::fs::read(&built.elf).unwrap()).unwrap();
        let loader = loader_for(&built.elf, &target().unwrap()).unwrap();
        let mut staged: Vec<(u64, Vec<u8>)> = loader.data().map(|(a, d)| (a, d.to_vec())).collect();
        staged.sort();
        let mut want: Vec<(u64, Vec<u8>)> =
            segments.into_iter().map(|s| (s.address, s.data)).collect();
        want.sort();
        assert_eq!(staged, want);
        let bytes: usize = want.iter().map(|(_, d)| d.len()).sum();
        assert_eq!(
            bytes as u64,
            built.sizes.flash_bytes(),
            "text + data, nothing else"
        );
    }

    #[test]
    fn segments_of_a_hand_made_elf() {
        // A minimal ELF32 with one PT_LOAD (4 bytes at 0x0) and one PT_LOAD without bytes.
        let mut e = vec![0u8; 52 + 2 * 32 + 4];
        e[..6].copy_from_slice(b"\x7fELF\x01\x01");
        e[28..32].copy_from_slice(&52u32.to_le_bytes());
        e[42..44].copy_from_slice(&32u16.to_le_bytes());
        e[44..46].copy_from_slice(&2u16.to_le_bytes());
        let ph = |e: &mut Vec<u8>, i: usize, off: u32, paddr: u32, filesz: u32| {
            let h = 52 + i * 32;
            e[h..h + 4].copy_from_slice(&1u32.to_le_bytes());
            e[h + 4..h + 8].copy_from_slice(&off.to_le_bytes());
            e[h + 12..h + 16].copy_from_slice(&paddr.to_le_bytes());
            e[h + 16..h + 20].copy_from_slice(&filesz.to_le_bytes());
        };
        ph(&mut e, 0, 116, 0, 4);
        ph(&mut e, 1, 0, 0x2000_0000, 0);
        e[116..120].copy_from_slice(&[0x6f, 0, 0, 0]);
        assert_eq!(
            loadable_segments(&e).unwrap(),
            vec![Segment {
                address: 0,
                data: vec![0x6f, 0, 0, 0]
            }]
        );
        assert!(loadable_segments(b"nope").is_err());
        assert!(loadable_segments(&e[..60]).is_err());
    }
}
