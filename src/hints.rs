//! What a user should check when the hardware is not there: the front-ends (the CLI and
//! the Deploy screen) show these beside the library's errors, which say only what failed.

/// What to check when no debug probe is found, after `lead`, one hint a line.
pub fn no_probe(lead: &str, bullet: &str) -> String {
    let mut s = lead.to_string();
    for h in PROBE_SETUP {
        s += "\n";
        s += bullet;
        s += h;
    }
    s
}

/// When no debug probe answers: how to connect and permit a WCH-LinkE.
pub const PROBE_SETUP: &[&str] = &[
    "Plug in the WCH-LinkE and switch it to RISC-V mode (its ModeS button; the blue LED off).",
    "Wire LinkE SWIO to the chip's PD1, GND to GND and 3V3 to VDD.",
    "Let your user open the probe: a udev rule for 1a86:8010, e.g. \
     SUBSYSTEM==\"usb\", ATTR{idVendor}==\"1a86\", ATTR{idProduct}==\"8010\", MODE=\"0660\", GROUP=\"plugdev\"; \
     then 'sudo udevadm control --reload' and replug.",
];
