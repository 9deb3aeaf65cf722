//! Serial ports as a person knows them: what each one is (the WCH-LinkE's own port, a
//! USB-serial adapter, the computer's built-in UART), and a clear error, at once, for a
//! port that does not exist.

use serialport::{SerialPortInfo, SerialPortType};
use std::path::Path;

/// What a serial port is, from its USB IDs where it has them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortInfo {
    pub name: String,
    /// `(vendor, product)` for a USB port.
    pub usb: Option<(u16, u16)>,
    /// The device's own product name, when it gives one.
    pub product: Option<String>,
    /// Whether it is the computer's built-in UART (PCI or an ISA `ttyS`).
    pub builtin: bool,
}

impl PortInfo {
    pub fn from_serialport(p: &SerialPortInfo) -> PortInfo {
        let (usb, product, pci) = match &p.port_type {
            SerialPortType::UsbPort(u) => (Some((u.vid, u.pid)), u.product.clone(), false),
            SerialPortType::PciPort => (None, None, true),
            _ => (None, None, false),
        };
        let builtin = pci || (usb.is_none() && p.port_name.starts_with("/dev/ttyS"));
        PortInfo {
            name: p.port_name.clone(),
            usb,
            product,
            builtin,
        }
    }

    /// The WCH-LinkE's own serial port: it carries a CH32V003's UART, not a Pi runner.
    pub fn is_wch_link(&self) -> bool {
        matches!(self.usb, Some((0x1a86, 0x8010 | 0x8012)))
    }

    /// A short description: "WCH-LinkE serial (1a86:8010)", "USB serial CH340 (1a86:7523)",
    /// "built-in UART", or the bare name.
    pub fn describe(&self) -> String {
        let what = match self.usb {
            Some((0x1a86, 0x8010 | 0x8012)) => "WCH-LinkE serial (a CH32V003's UART)".to_string(),
            Some((0x1a86, 0x7523 | 0x5523)) => "USB serial adapter, CH340".to_string(),
            Some((0x0403, _)) => "USB serial adapter, FTDI".to_string(),
            Some((0x10c4, _)) => "USB serial adapter, CP210x".to_string(),
            Some((0x067b, _)) => "USB serial adapter, PL2303".to_string(),
            Some((0x0525, 0xa4a7)) | Some((0x1d6b, _)) => {
                "USB gadget serial (a Pi Zero?)".to_string()
            }
            Some(_) => self
                .product
                .clone()
                .unwrap_or_else(|| "USB serial device".to_string()),
            None if self.builtin => "this computer's built-in UART".to_string(),
            None => "serial port".to_string(),
        };
        match self.usb {
            Some((v, p)) => format!("{what} ({v:04x}:{p:04x})"),
            None => what,
        }
    }
}

/// The serial ports this machine lists, described.
pub fn list() -> Vec<PortInfo> {
    serialport::available_ports()
        .unwrap_or_default()
        .iter()
        .map(PortInfo::from_serialport)
        .collect()
}

/// A port named on the command line that is not there.
#[derive(Debug, thiserror::Error)]
#[error("the serial port '{port}' does not exist; {}", known(.available))]
pub struct NoSuchPort {
    pub port: String,
    pub available: Vec<String>,
}

fn known(available: &[String]) -> String {
    if available.is_empty() {
        "no serial ports are listed here: is the board plugged in (check 'dmesg')?".to_string()
    } else {
        format!("the ports here are {}", available.join(", "))
    }
}

/// Fails at once, naming the ports there are, when `port` is not a device on this machine.
pub fn check_exists(port: &str) -> Result<(), NoSuchPort> {
    if Path::new(port).exists() {
        return Ok(());
    }
    Err(NoSuchPort {
        port: port.to_string(),
        available: list()
            .into_iter()
            .map(|p| format!("{} ({})", p.name, p.describe()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usb(name: &str, vid: u16, pid: u16) -> PortInfo {
        PortInfo {
            name: name.into(),
            usb: Some((vid, pid)),
            product: None,
            builtin: false,
        }
    }

    #[test]
    fn ports_say_what_they_are() {
        let link = usb("/dev/ttyACM0", 0x1a86, 0x8010);
        assert!(link.is_wch_link());
        assert_eq!(
            link.describe(),
            "WCH-LinkE serial (a CH32V003's UART) (1a86:8010)"
        );
        assert_eq!(
            usb("/dev/ttyUSB0", 0x1a86, 0x7523).describe(),
            "USB serial adapter, CH340 (1a86:7523)"
        );
        let uart = PortInfo {
            name: "/dev/ttyS0".into(),
            usb: None,
            product: None,
            builtin: true,
        };
        assert_eq!(uart.describe(), "this computer's built-in UART");
    }

    /// Issue #18, item 7: `monitor --port /dev/ttyUSB9` waited 20 s and then blamed the
    /// firmware and the baud rate.
    #[test]
    fn a_missing_port_fails_at_once_and_says_so() {
        let e = check_exists("/dev/ttyUSB9-not-here").unwrap_err();
        assert!(
            e.to_string()
                .contains("'/dev/ttyUSB9-not-here' does not exist"),
            "{e}"
        );
        assert!(check_exists("/dev/null").is_ok());
    }
}
