//! What the doctor reads of this machine: files under a root (`/` normally; a folder that
//! looks like one in tests, `TINYGEN_DOCTOR_ROOT`), and the tools on `PATH`. Reading never
//! fails: a file that is not there reads as empty, and the checks say what that means.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A USB device as sysfs lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsbDevice {
    pub vid: u16,
    pub pid: u16,
    pub product: String,
    pub serial: Option<String>,
    /// `/dev/bus/usb/BBB/DDD` under the root.
    pub node: PathBuf,
}

/// A running process: its id, its name, and the serial ports it holds open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    pub pid: u32,
    pub name: String,
    pub ports: Vec<String>,
}

/// The machine the doctor looks at.
#[derive(Debug, Clone)]
pub struct Sys {
    pub root: PathBuf,
}

impl Sys {
    /// This machine, or the root named by `TINYGEN_DOCTOR_ROOT`.
    pub fn from_env() -> Sys {
        Sys {
            root: std::env::var_os("TINYGEN_DOCTOR_ROOT")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("/")),
        }
    }

    /// `path` (absolute, as on the machine) under the root.
    pub fn path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// A file's text, or "" when it cannot be read.
    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.path(path)).unwrap_or_default()
    }

    pub fn exists(&self, path: &str) -> bool {
        self.path(path).exists()
    }

    /// The USB devices sysfs lists (`/sys/bus/usb/devices/*/idVendor`).
    pub fn usb_devices(&self) -> Vec<UsbDevice> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(self.path("/sys/bus/usb/devices")) else {
            return out;
        };
        let mut entries: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
        entries.sort();
        for d in entries {
            let field = |name: &str| {
                std::fs::read_to_string(d.join(name))
                    .ok()
                    .map(|s| s.trim().to_string())
            };
            let hex = |name: &str| field(name).and_then(|s| u16::from_str_radix(&s, 16).ok());
            let (Some(vid), Some(pid)) = (hex("idVendor"), hex("idProduct")) else {
                continue;
            };
            let num = |name: &str| field(name).and_then(|s| s.parse::<u32>().ok()).unwrap_or(0);
            out.push(UsbDevice {
                vid,
                pid,
                product: field("product").unwrap_or_default(),
                serial: field("serial"),
                node: self.path(&format!(
                    "/dev/bus/usb/{:03}/{:03}",
                    num("busnum"),
                    num("devnum")
                )),
            });
        }
        out
    }

    /// The running processes and the serial ports (`/dev/tty{USB,ACM,S}*`) each holds.
    /// Ports held by other users' processes are not readable without root; those
    /// processes are still listed, by name.
    pub fn processes(&self) -> Vec<Process> {
        let mut out = Vec::new();
        let Ok(dir) = std::fs::read_dir(self.path("/proc")) else {
            return out;
        };
        for e in dir.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let name = std::fs::read_to_string(e.path().join("comm"))
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            let mut ports = Vec::new();
            if let Ok(fds) = std::fs::read_dir(e.path().join("fd")) {
                for fd in fds.flatten() {
                    if let Ok(target) = std::fs::read_link(fd.path()) {
                        let t = target.to_string_lossy().to_string();
                        if is_serial_port(&t) && !ports.contains(&t) {
                            ports.push(t);
                        }
                    }
                }
            }
            out.push(Process { pid, name, ports });
        }
        out.sort_by_key(|p| p.pid);
        out
    }

    /// Whether this process may read and write `path` (a device node).
    pub fn can_open(&self, path: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt;
        let Ok(c) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
            return false;
        };
        // SAFETY: `c` is a valid NUL-terminated path for the duration of the call.
        unsafe { libc::access(c.as_ptr(), libc::R_OK | libc::W_OK) == 0 }
    }
}

/// `/dev/ttyUSB0`, `/dev/ttyACM1`, `/dev/ttyAMA0`, `/dev/ttyS0`: a port a board talks on.
pub fn is_serial_port(path: &str) -> bool {
    ["/dev/ttyUSB", "/dev/ttyACM", "/dev/ttyAMA", "/dev/ttyS"]
        .iter()
        .any(|p| path.strip_prefix(p).is_some_and(|n| !n.is_empty()))
}

/// A tool found on `PATH` and the first line of its `--version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    pub path: PathBuf,
    pub version: String,
}

/// Finds `name` on `PATH` and asks it for its version; `None` when it is not there or
/// does not run.
pub fn tool(name: &str) -> Option<Tool> {
    let path = std::env::var_os("PATH")?;
    let found = std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))?;
    let out = Command::new(&found)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(if out.stdout.is_empty() {
        &out.stderr
    } else {
        &out.stdout
    })
    .lines()
    .next()
    .unwrap_or("")
    .trim()
    .to_string();
    Some(Tool {
        path: found,
        version: text,
    })
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_ports_are_told_from_other_ttys() {
        assert!(is_serial_port("/dev/ttyUSB0"));
        assert!(is_serial_port("/dev/ttyACM12"));
        assert!(!is_serial_port("/dev/tty1"));
        assert!(!is_serial_port("/dev/ttyUSB"));
        assert!(!is_serial_port("/dev/pts/3"));
    }

    #[test]
    fn usb_devices_are_read_from_sysfs() {
        let root = tempfile::tempdir().unwrap();
        let d = root.path().join("sys/bus/usb/devices/1-2");
        std::fs::create_dir_all(&d).unwrap();
        for (f, v) in [
            ("idVendor", "1a86\n"),
            ("idProduct", "8010\n"),
            ("product", "WCH-Link\n"),
            ("busnum", "1\n"),
            ("devnum", "7\n"),
        ] {
            std::fs::write(d.join(f), v).unwrap();
        }
        // An interface folder has no idVendor: skipped.
        std::fs::create_dir_all(root.path().join("sys/bus/usb/devices/1-2:1.0")).unwrap();
        let sys = Sys {
            root: root.path().to_path_buf(),
        };
        let devs = sys.usb_devices();
        assert_eq!(devs.len(), 1);
        assert_eq!((devs[0].vid, devs[0].pid), (0x1a86, 0x8010));
        assert_eq!(devs[0].product, "WCH-Link");
        assert_eq!(devs[0].serial, None);
        assert!(devs[0].node.ends_with("dev/bus/usb/001/007"));
    }

    #[test]
    fn a_missing_tool_is_none_and_a_present_one_has_a_version() {
        assert_eq!(tool("tinygen-no-such-tool"), None);
        let sh = tool("sh").expect("every machine has sh");
        assert!(sh.path.is_absolute());
    }
}
