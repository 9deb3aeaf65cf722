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

/// The one command that lets the logged-in user open a WCH-LinkE in either mode (8010
/// RISC-V, 8012 DAP). `uaccess` works on distributions without a `plugdev` group; the
/// rule's number sorts before 73-seat-late.rules, which applies the tag.
macro_rules! udev_rule_fix {
    () => {
        "printf '%s\\n' \
         'SUBSYSTEM==\"usb\", ATTR{idVendor}==\"1a86\", ATTR{idProduct}==\"8010\", TAG+=\"uaccess\"' \
         'SUBSYSTEM==\"usb\", ATTR{idVendor}==\"1a86\", ATTR{idProduct}==\"8012\", TAG+=\"uaccess\"' \
         | sudo tee /etc/udev/rules.d/60-wch-linke.rules && sudo udevadm control --reload \
         && sudo udevadm trigger; then unplug and replug the LinkE"
    };
}

/// When no debug probe answers: how to connect and permit a WCH-LinkE.
pub const PROBE_SETUP: &[&str] = &[
    "Plug in the WCH-LinkE and switch it to RISC-V mode (its ModeS button; the blue LED off).",
    "Wire LinkE SWIO to the chip's PD1, GND to GND and 3V3 to VDD.",
    concat!(
        "Let your user open the probe (1a86:8010 in RISC-V mode, 1a86:8012 in DAP mode): ",
        udev_rule_fix!()
    ),
];

/// [`udev_rule_fix!`] as a constant.
pub const UDEV_RULE_FIX: &str = udev_rule_fix!();

/// How to take a WCH-LinkE out of DAP (ARM) mode.
pub const LINKE_RISCV_MODE: &str = "switch it to RISC-V mode: unplug it, hold its ModeS button \
     while plugging it back in (the blue LED goes off)";
