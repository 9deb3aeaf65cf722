//! The doctor's checks. Each reads what it needs through [`Sys`] and the tools on `PATH`,
//! and the logic is in functions of what was read, so tests can give them any machine.

use super::report::{Check, Group};
use super::sys::{Process, Sys, UsbDevice, tool};
use crate::deploy::firmware::{AARCH64_GCC, RISCV_GCC};
use crate::deploy::pi::QEMU_AARCH64;
use crate::deploy::qemu::QEMU_RV32;

/// The oldest Rust that builds tinygen (as `scripts/setup` checks).
pub const RUST_MIN: (u32, u32) = (1, 88);

/// The WCH-LinkE's USB vendor, and its product in RISC-V mode and in DAP (ARM) mode.
pub const WCH_VID: u16 = 0x1a86;
pub const LINKE_RISCV: u16 = 0x8010;
pub const LINKE_DAP: u16 = 0x8012;

/// Every check, in the order the report shows them.
pub fn all(sys: &Sys) -> Vec<Check> {
    let id = identity(sys);
    let groups = sys.read("/etc/group");
    let processes = sys.processes();
    let usb = sys.usb_devices();
    let wsl = is_wsl(&sys.read("/proc/sys/kernel/osrelease"));
    vec![
        rust(
            tool("cargo").map(|t| t.version),
            tool("rustc").map(|t| t.version),
        ),
        tool_check(
            "cc",
            "C compiler",
            &[Group::Sim],
            "gcc",
            "builds the simulated board's firmware into tinygen",
            "sudo apt-get install gcc make",
        ),
        pty(sys),
        digits(),
        tool_check(
            "riscv-gcc",
            "RISC-V cross compiler",
            &[Group::Qemu, Group::Ch32v003],
            RISCV_GCC,
            "builds the CH32V003 firmware",
            "sudo apt-get install gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf",
        ),
        tool_check(
            "qemu-rv32",
            "qemu RISC-V",
            &[Group::Qemu],
            QEMU_RV32,
            "runs the firmware as an emulated board",
            "sudo apt-get install qemu-system-misc",
        ),
        tool_check(
            "aarch64-gcc",
            "aarch64 cross compiler",
            &[Group::Qemu, Group::Pi],
            AARCH64_GCC,
            "builds the Pi runner",
            "sudo apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross",
        ),
        tool_check(
            "qemu-aarch64",
            "qemu aarch64",
            &[Group::Qemu],
            QEMU_AARCH64,
            "runs the Pi runner as an emulated Pi",
            "sudo apt-get install qemu-user",
        ),
        dialout(&id, &groups),
        port_thief(&processes, "brltty"),
        port_thief(&processes, "ModemManager"),
        wsl_usb(wsl, &usb),
        linke(&usb, |d| sys.can_open(&d.node)),
    ]
}

/// Who this process is: uid, name, and the groups it holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: u32,
    pub name: String,
    pub primary_gid: Option<u32>,
    /// The supplementary groups of this process (`Groups:` in `/proc/self/status`).
    pub gids: Vec<u32>,
}

/// This process's identity, from `/proc/self/status` and `/etc/passwd`.
pub fn identity(sys: &Sys) -> Identity {
    parse_identity(&sys.read("/proc/self/status"), &sys.read("/etc/passwd"))
}

pub fn parse_identity(status: &str, passwd: &str) -> Identity {
    let field = |name: &str| -> Vec<u32> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(|rest| {
                rest.split_whitespace()
                    .filter_map(|v| v.parse().ok())
                    .collect()
            })
            .unwrap_or_default()
    };
    let uid = field("Uid:").first().copied().unwrap_or(u32::MAX);
    let mut gids = field("Groups:");
    gids.extend(field("Gid:").first());
    let entry = passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[2].parse() == Ok(uid));
    Identity {
        uid,
        name: entry
            .as_ref()
            .map(|f| f[0].to_string())
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| format!("uid {uid}")),
        primary_gid: entry.and_then(|f| f[3].parse().ok()),
        gids,
    }
}

fn tool_check(
    id: &'static str,
    name: &'static str,
    unlocks: &[Group],
    program: &str,
    what: &str,
    fix: &str,
) -> Check {
    let c = Check::new(id, name, unlocks);
    match tool(program) {
        Some(t) => c.pass(if t.version.is_empty() {
            t.path.display().to_string()
        } else {
            t.version
        }),
        None => c.fail(format!("{program} is not installed ({what})"), fix),
    }
}

/// `rustc 1.91.0 (…)` → (1, 91).
fn rust_version(v: &str) -> Option<(u32, u32)> {
    let mut n = v.split_whitespace().nth(1)?.split('.');
    Some((n.next()?.parse().ok()?, n.next()?.parse().ok()?))
}

pub fn rust(cargo: Option<String>, rustc: Option<String>) -> Check {
    let c = Check::new("rust", "Rust toolchain", &[Group::Sim]);
    let install = "install Rust with rustup (see rustup.rs), then open a new terminal";
    match (cargo, rustc) {
        (Some(cargo), Some(rustc)) => match rust_version(&rustc) {
            Some(v) if v >= RUST_MIN => {
                let cargo: Vec<&str> = cargo.split_whitespace().take(2).collect();
                c.pass(format!("{}, {rustc}", cargo.join(" ")))
            }
            _ => c.fail(
                format!(
                    "{rustc}: tinygen needs {}.{} or newer",
                    RUST_MIN.0, RUST_MIN.1
                ),
                "rustup update",
            ),
        },
        (None, _) => c.fail("cargo is not on PATH (it builds tinygen)", install),
        (_, None) => c.fail("rustc is not on PATH (it builds tinygen)", install),
    }
}

fn pty(sys: &Sys) -> Check {
    let c = Check::new("pty", "pseudo-terminals", &[Group::Sim, Group::Qemu]);
    let ptmx = sys.path("/dev/ptmx");
    if sys.can_open(&ptmx) {
        c.pass("/dev/ptmx (the simulated boards talk over a pseudo-terminal)")
    } else {
        c.fail(
            "/dev/ptmx cannot be opened (a container without /dev/pts?)",
            "sudo mount -t devpts devpts /dev/pts",
        )
    }
}

fn digits() -> Check {
    use crate::data::mnist::{Split, files_in, search_dirs};
    let c = Check::new("mnist", "MNIST digits", &[Group::Digits]);
    let places = crate::data::Places {
        dataset: None,
        project_dir: None,
    };
    let dirs = search_dirs(&places);
    match dirs.iter().find_map(|d| files_in(d, Split::Train)) {
        Some((images, _)) => {
            let n = if images.to_string_lossy().contains("train10k") {
                "10,000"
            } else {
                "60,000"
            };
            c.pass(format!("{n} training digits in {}", images.display()))
        }
        None => c.fail(
            format!(
                "no training digits in {}",
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "scripts/setup (it fetches them with pip), or TINYGEN_MNIST=DIR for a folder of IDX files",
        ),
    }
}

/// The group that owns serial ports: `dialout` (Debian, Ubuntu, Fedora) or `uucp` (Arch),
/// with its gid and listed members.
fn serial_group(groups: &str) -> Option<(&str, u32, Vec<&str>)> {
    let find = |name: &str| {
        groups.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 3 && f[0] == name).then(|| {
                let members = f
                    .get(3)
                    .map(|m| m.split(',').filter(|s| !s.is_empty()).collect())
                    .unwrap_or_default();
                f[2].parse().ok().map(|gid| (f[0], gid, members))
            })?
        })
    };
    find("dialout").or_else(|| find("uucp"))
}

pub fn dialout(id: &Identity, groups: &str) -> Check {
    let c = Check::new(
        "dialout",
        "serial permission",
        &[Group::Ch32v003, Group::Pi],
    );
    if id.uid == 0 {
        return c.pass("root opens every serial port");
    }
    let Some((group, gid, members)) = serial_group(groups) else {
        return c.pass("no dialout or uucp group here: the ports are not kept from users");
    };
    if id.gids.contains(&gid) {
        return c.pass(format!("{} is in {group}", id.name));
    }
    if members.contains(&id.name.as_str()) || id.primary_gid == Some(gid) {
        return c.fail(
            format!(
                "{} was added to {group}, but this login started before: it does not hold the group yet",
                id.name
            ),
            format!("log out and in again (or, in this terminal only: newgrp {group})"),
        );
    }
    c.fail(
        format!("{} is not in {group}, which owns the serial ports", id.name),
        format!(
            "sudo usermod -aG {group} {}, then log out and in again",
            id.name
        ),
    )
}

/// brltty takes USB serial adapters (CH340, CP210x) for braille displays; ModemManager
/// sends AT commands to new ports for seconds. Either garbles or steals a board's port.
pub fn port_thief(processes: &[Process], name: &'static str) -> Check {
    let (id, label, fix) = if name == "brltty" {
        (
            "brltty",
            "brltty",
            "sudo apt-get remove brltty (it claims USB serial adapters as braille displays)",
        )
    } else {
        (
            "modemmanager",
            "ModemManager",
            "sudo systemctl disable --now ModemManager (it probes new serial ports as modems)",
        )
    };
    let c = Check::new(id, label, &[Group::Ch32v003, Group::Pi]);
    let running: Vec<&Process> = processes.iter().filter(|p| p.name == name).collect();
    if running.is_empty() {
        return c.pass("not running");
    }
    let held: Vec<String> = running.iter().flat_map(|p| p.ports.clone()).collect();
    let pid = running[0].pid;
    if held.is_empty() {
        c.fail(
            format!(
                "{name} is running (pid {pid}) and will grab a board's port when it is plugged in"
            ),
            fix,
        )
    } else {
        c.fail(format!("{name} (pid {pid}) holds {}", held.join(", ")), fix)
    }
}

/// `/proc/sys/kernel/osrelease` of WSL says "microsoft" (WSL 1 and 2).
pub fn is_wsl(osrelease: &str) -> bool {
    let s = osrelease.to_ascii_lowercase();
    s.contains("microsoft") || s.contains("wsl")
}

/// Under WSL a USB device reaches Linux only through usbipd-win on the Windows side.
pub fn wsl_usb(wsl: bool, usb: &[UsbDevice]) -> Check {
    let c = Check::new("wsl-usb", "USB under WSL", &[Group::Ch32v003, Group::Pi]);
    if !wsl {
        return c.pass("not WSL: USB devices reach Linux directly");
    }
    // Root hubs (vendor 1d6b, Linux Foundation) are not devices anyone plugged in.
    let attached = usb.iter().filter(|d| d.vid != 0x1d6b).count();
    if attached > 0 {
        c.pass(format!(
            "WSL with {attached} USB device(s) attached through usbipd"
        ))
    } else {
        c.fail(
            "WSL sees no USB devices: they must be attached from Windows with usbipd",
            "on Windows: winget install usbipd; then, as administrator, usbipd list, \
             usbipd bind --busid BUSID and usbipd attach --wsl --busid BUSID",
        )
    }
}

pub fn linke(usb: &[UsbDevice], can_open: impl Fn(&UsbDevice) -> bool) -> Check {
    let c = Check::new("wch-linke", "WCH-LinkE", &[Group::Ch32v003]);
    let of = |pid: u16| usb.iter().find(|d| d.vid == WCH_VID && d.pid == pid);
    let serial = |d: &UsbDevice| {
        d.serial
            .as_deref()
            .map(|s| format!(", serial {s}"))
            .unwrap_or_default()
    };
    if let Some(d) = of(LINKE_RISCV) {
        if can_open(d) {
            c.pass(format!(
                "in RISC-V mode ({WCH_VID:04x}:{LINKE_RISCV:04x}{})",
                serial(d)
            ))
        } else {
            c.fail(
                format!(
                    "plugged in ({WCH_VID:04x}:{LINKE_RISCV:04x}{}), but this user cannot open {}",
                    serial(d),
                    d.node.display()
                ),
                crate::hints::UDEV_RULE_FIX,
            )
        }
    } else if let Some(d) = of(LINKE_DAP) {
        c.fail(
            format!(
                "plugged in, but in DAP (ARM) mode ({WCH_VID:04x}:{LINKE_DAP:04x}{}): probe-rs flashes a CH32V003 only in RISC-V mode",
                serial(d)
            ),
            crate::hints::LINKE_RISCV_MODE,
        )
    } else {
        c.absent(
            "no WCH-LinkE plugged in",
            "plug in the WCH-LinkE (RISC-V mode) and wire SWIO to PD1, GND and 3V3",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::report::Status;
    use std::path::PathBuf;

    const GROUPS: &str = "root:x:0:\ndialout:x:20:\nplugdev:x:46:ada\nada:x:1000:\n";
    const PASSWD: &str =
        "root:x:0:0:root:/root:/bin/bash\nada:x:1000:1000:Ada:/home/ada:/bin/bash\n";

    fn ada(groups: &str) -> Identity {
        parse_identity(
            &format!(
                "Name:\tdoctor\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nGroups:\t{groups}\n"
            ),
            PASSWD,
        )
    }

    #[test]
    fn identity_comes_from_proc_status_and_passwd() {
        let id = ada("46 1000");
        assert_eq!((id.uid, id.name.as_str()), (1000, "ada"));
        assert_eq!(id.primary_gid, Some(1000));
        assert!(id.gids.contains(&46));
    }

    #[test]
    fn dialout_passes_for_root_and_for_a_member_holding_the_group() {
        let root = parse_identity("Uid:\t0\t0\t0\t0\nGroups:\t0\n", PASSWD);
        assert_eq!(dialout(&root, GROUPS).status, Status::Pass);
        assert_eq!(dialout(&ada("20 46"), GROUPS).status, Status::Pass);
    }

    #[test]
    fn dialout_fails_with_usermod_for_a_user_not_in_it() {
        let c = dialout(&ada("46"), GROUPS);
        assert_eq!(c.status, Status::Fail);
        assert!(c.found.contains("ada is not in dialout"), "{}", c.found);
        assert_eq!(
            c.fix.as_deref(),
            Some("sudo usermod -aG dialout ada, then log out and in again")
        );
    }

    #[test]
    fn dialout_says_log_in_again_when_added_but_the_session_is_older() {
        let groups = GROUPS.replace("dialout:x:20:", "dialout:x:20:bob,ada");
        let c = dialout(&ada("46"), &groups);
        assert_eq!(c.status, Status::Fail);
        assert!(c.found.contains("was added to dialout"), "{}", c.found);
        assert!(c.fix.unwrap().starts_with("log out and in again"));
    }

    #[test]
    fn arch_uses_uucp() {
        let c = dialout(&ada("46"), "uucp:x:14:\n");
        assert!(c.fix.unwrap().contains("usermod -aG uucp ada"));
    }

    #[test]
    fn brltty_holding_a_port_is_named_with_its_fix() {
        let ps = [Process {
            pid: 812,
            name: "brltty".into(),
            ports: vec!["/dev/ttyUSB0".into()],
        }];
        let c = port_thief(&ps, "brltty");
        assert_eq!(c.status, Status::Fail);
        assert_eq!(c.found, "brltty (pid 812) holds /dev/ttyUSB0");
        assert!(c.fix.unwrap().starts_with("sudo apt-get remove brltty"));
        assert_eq!(port_thief(&ps, "ModemManager").status, Status::Pass);
    }

    #[test]
    fn modemmanager_running_fails_even_before_a_port_appears() {
        let ps = [Process {
            pid: 90,
            name: "ModemManager".into(),
            ports: vec![],
        }];
        let c = port_thief(&ps, "ModemManager");
        assert_eq!(c.status, Status::Fail);
        assert!(
            c.fix
                .unwrap()
                .contains("systemctl disable --now ModemManager")
        );
    }

    fn dev(vid: u16, pid: u16) -> UsbDevice {
        UsbDevice {
            vid,
            pid,
            product: String::new(),
            serial: Some("ABC".into()),
            node: PathBuf::from("/dev/bus/usb/001/004"),
        }
    }

    #[test]
    fn wsl_without_attached_usb_devices_fails_with_usbipd() {
        assert!(is_wsl("5.15.153.1-microsoft-standard-WSL2\n"));
        assert!(!is_wsl("6.1.0-28-amd64\n"));
        let hub = dev(0x1d6b, 2);
        let c = wsl_usb(true, std::slice::from_ref(&hub));
        assert_eq!(c.status, Status::Fail);
        assert!(c.fix.unwrap().contains("usbipd attach --wsl"));
        assert_eq!(
            wsl_usb(true, &[hub, dev(WCH_VID, LINKE_RISCV)]).status,
            Status::Pass
        );
        assert_eq!(wsl_usb(false, &[]).status, Status::Pass);
    }

    #[test]
    fn a_linke_is_absent_unopenable_in_dap_mode_or_ready() {
        assert_eq!(linke(&[], |_| true).status, Status::Absent);
        let c = linke(&[dev(WCH_VID, LINKE_RISCV)], |_| false);
        assert_eq!(c.status, Status::Fail);
        let fix = c.fix.unwrap();
        assert!(
            fix.contains("8010") && fix.contains("8012") && fix.contains("uaccess"),
            "{fix}"
        );
        let c = linke(&[dev(WCH_VID, LINKE_DAP)], |_| true);
        assert_eq!(c.status, Status::Fail);
        assert!(c.found.contains("DAP (ARM) mode"), "{}", c.found);
        assert!(c.fix.unwrap().contains("ModeS"));
        let c = linke(&[dev(WCH_VID, LINKE_RISCV)], |_| true);
        assert_eq!(c.status, Status::Pass);
        assert!(c.found.contains("serial ABC"));
    }

    #[test]
    fn rust_too_old_says_rustup_update() {
        let c = rust(
            Some("cargo 1.80.0 (x)".into()),
            Some("rustc 1.80.0 (y)".into()),
        );
        assert_eq!(
            (c.status, c.fix.as_deref()),
            (Status::Fail, Some("rustup update"))
        );
        let c = rust(
            Some("cargo 1.91.0 (x)".into()),
            Some("rustc 1.91.0 (y)".into()),
        );
        assert_eq!(c.status, Status::Pass);
        assert_eq!(c.found, "cargo 1.91.0, rustc 1.91.0 (y)");
        assert_eq!(rust(None, None).status, Status::Fail);
    }
}
