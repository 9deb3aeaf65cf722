//! Building the firmware for a board: the C sources of `firmware-stub/` are embedded in
//! tinygen, written next to the exported model header, and compiled with the board's
//! cross compiler. Nothing outside the build folder is read, so an installed tinygen
//! builds firmware without its source tree.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Every firmware source, by its path under `firmware-stub/`.
pub const SOURCES: &[(&str, &str)] = &[
    (
        "engine/tg_engine.h",
        include_str!("../../firmware-stub/engine/tg_engine.h"),
    ),
    (
        "engine/tg_engine.c",
        include_str!("../../firmware-stub/engine/tg_engine.c"),
    ),
    (
        "engine/tg_diffusion.h",
        include_str!("../../firmware-stub/engine/tg_diffusion.h"),
    ),
    (
        "engine/tg_diffusion.c",
        include_str!("../../firmware-stub/engine/tg_diffusion.c"),
    ),
    (
        "engine/tg_stream.h",
        include_str!("../../firmware-stub/engine/tg_stream.h"),
    ),
    (
        "engine/tg_stream.c",
        include_str!("../../firmware-stub/engine/tg_stream.c"),
    ),
    (
        "common/tg_board.h",
        include_str!("../../firmware-stub/common/tg_board.h"),
    ),
    (
        "common/tg_proto.h",
        include_str!("../../firmware-stub/common/tg_proto.h"),
    ),
    (
        "common/tg_proto.c",
        include_str!("../../firmware-stub/common/tg_proto.c"),
    ),
    (
        "common/tg_firmware.h",
        include_str!("../../firmware-stub/common/tg_firmware.h"),
    ),
    (
        "common/tg_firmware.c",
        include_str!("../../firmware-stub/common/tg_firmware.c"),
    ),
    (
        "rv32/crt0.S",
        include_str!("../../firmware-stub/rv32/crt0.S"),
    ),
    (
        "rv32/main.c",
        include_str!("../../firmware-stub/rv32/main.c"),
    ),
    (
        "rv32/stack.c",
        include_str!("../../firmware-stub/rv32/stack.c"),
    ),
    (
        "rv32/rv32.ld",
        include_str!("../../firmware-stub/rv32/rv32.ld"),
    ),
    (
        "qemu/link.ld",
        include_str!("../../firmware-stub/qemu/link.ld"),
    ),
    (
        "qemu/board_qemu.c",
        include_str!("../../firmware-stub/qemu/board_qemu.c"),
    ),
    (
        "ch32v003/link.ld",
        include_str!("../../firmware-stub/ch32v003/link.ld"),
    ),
    (
        "ch32v003/board_ch32v003.c",
        include_str!("../../firmware-stub/ch32v003/board_ch32v003.c"),
    ),
    (
        "host/board_host.c",
        include_str!("../../firmware-stub/host/board_host.c"),
    ),
    (
        "pi/runner.c",
        include_str!("../../firmware-stub/pi/runner.c"),
    ),
];

pub const AARCH64_GCC: &str = "aarch64-linux-gnu-gcc";
/// The runner's receive buffer: upload chunks of 1 KB plus their header.
pub const PI_RX_MAX: u32 = 1100;

/// Builds the Pi runner (Linux, aarch64) in `dir`.
pub fn build_pi_runner(dir: &Path) -> Result<PathBuf, BuildError> {
    tool(AARCH64_GCC, "gcc-aarch64-linux-gnu")?;
    let src = dir.join("src");
    for (path, text) in SOURCES {
        write(&src.join(path), text.as_bytes())?;
    }
    let exe = dir.join("tinygen-runner");
    let mut cmd = Command::new(AARCH64_GCC);
    // Static, so it runs on any 64-bit Pi OS whatever its C library.
    cmd.args(["-std=c99", "-O2", "-Wall", "-Wextra", "-static", "-pthread"])
        .arg(format!("-DTG_RX_MAX={PI_RX_MAX}u"))
        // The runner serves diffusion models too (engine/tg_diffusion.c).
        .arg("-DTG_DIFFUSION")
        .arg("-o")
        .arg(&exe);
    for f in [
        "pi/runner.c",
        "host/board_host.c",
        "common/tg_firmware.c",
        "common/tg_proto.c",
        "engine/tg_engine.c",
        "engine/tg_diffusion.c",
        // Its weight providers stream a diffusion model's weights from the file.
        "engine/tg_stream.c",
    ] {
        cmd.arg(src.join(f));
    }
    let out = cmd.output().map_err(|_| BuildError::MissingTool {
        tool: AARCH64_GCC,
        package: "gcc-aarch64-linux-gnu",
    })?;
    if !out.status.success() {
        return Err(BuildError::Compile {
            board: "pi",
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    Ok(exe)
}

/// The RV32EC boards tinygen builds firmware for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rv32Board {
    QemuRv32,
    Ch32v003,
}

impl Rv32Board {
    pub fn dir(self) -> &'static str {
        match self {
            Rv32Board::QemuRv32 => "qemu",
            Rv32Board::Ch32v003 => "ch32v003",
        }
    }

    /// The board in words.
    pub fn name(self) -> &'static str {
        match self {
            Rv32Board::QemuRv32 => "qemu RV32EC board",
            Rv32Board::Ch32v003 => "CH32V003",
        }
    }
}

pub const RISCV_GCC: &str = "riscv64-unknown-elf-gcc";
pub const RISCV_SIZE: &str = "riscv64-unknown-elf-size";

/// Flags for RV32EC: no multiplier, no `_zicsr` in -march (it breaks the libgcc multilib
/// choice), ISA spec 2.2 so CSR reads assemble.
pub const RV32EC_FLAGS: &[&str] = &[
    "-march=rv32ec",
    "-mabi=ilp32e",
    "-misa-spec=2.2",
    "-ffreestanding",
    "-nostdlib",
    "-Os",
    "-std=c99",
    "-Wall",
    "-Wextra",
    "-ffunction-sections",
    "-fdata-sections",
    "-Wl,--gc-sections",
];

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(
        "'{tool}' was not found; install it with './scripts/setup' (Debian package \
         '{package}')"
    )]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("could not write {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the firmware did not build for {board}:\n{log}")]
    Compile { board: &'static str, log: String },
    /// A diffusion model on a microcontroller: its runner is built only for boards with
    /// an operating system.
    #[error(
        "a diffusion model runs on the simulated board and the Raspberry Pi runner, not on \
         the {board} (its maps alone need {} of working memory): use '--board sim', or \
         'tinygen flash --board pi'",
        crate::budget::report::bytes(u64::from(*arena))
    )]
    NeedsHost { board: &'static str, arena: u32 },
}

/// What the linker placed where, from the ELF.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Code and read-only data, weights included (flash).
    pub text_bytes: u64,
    /// Initialised data (flash and SRAM).
    pub data_bytes: u64,
    /// Zeroed data (SRAM): the arena and the link buffers.
    pub bss_bytes: u64,
}

impl Sizes {
    pub fn flash_bytes(&self) -> u64 {
        self.text_bytes + self.data_bytes
    }
    pub fn static_sram_bytes(&self) -> u64 {
        self.data_bytes + self.bss_bytes
    }
}

pub struct Built {
    pub elf: PathBuf,
    pub sizes: Sizes,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    let fail = |source: std::io::Error| BuildError::Write {
        path: path.to_path_buf(),
        source,
    };
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(fail)?;
    }
    crate::util::fsutil::write_atomic(path, bytes).map_err(fail)
}

fn tool(name: &'static str, package: &'static str) -> Result<(), BuildError> {
    match Command::new(name).arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err(BuildError::MissingTool {
            tool: name,
            package,
        }),
    }
}

/// What a firmware build is sized for, from its model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FirmwareConfig {
    /// Bytes of one output row (the transmit buffer holds `TG_ROWS_PER_FRAME` of them).
    pub row_bytes: u32,
    /// The longest frame the board must take: a classifier's CLASSIFY carries its input.
    pub rx_max: u32,
    /// Whether the model has convolutions; without them the engine's convolution code is
    /// left out (`TG_NO_CONV`), about 2.6 KB of flash.
    pub conv: bool,
    /// A generator (GENERATE, image rows) rather than a classifier (CLASSIFY); the firmware
    /// carries only the code of its own kind (`TG_NO_CLASSIFY` / `TG_NO_GENERATE`).
    pub generator: bool,
    /// The weight widths the model uses, as the engine's mask of `1 << code` (`TG_BITS`).
    pub bits_mask: u32,
    /// Whether the model has coded weights; without them the decoder is left out
    /// (`TG_NO_CODED`).
    pub coded: bool,
    /// Whether every layer is coded; then the packed-weight loops are left out
    /// (`TG_ONLY_CODED`, about 230 bytes).
    pub only_coded: bool,
    /// A diffusion model's working memory, or `None` for a model the microcontroller
    /// firmware runs; diffusion models run only on hosted boards.
    pub diffusion_arena: Option<u32>,
}

/// Builds the firmware for `board` with the model header `header` (the text of
/// `tg_model.h`) in `dir`; returns the ELF and its section sizes.
pub fn build_rv32(
    board: Rv32Board,
    header: &str,
    cfg: &FirmwareConfig,
    dir: &Path,
) -> Result<Built, BuildError> {
    if let Some(arena) = cfg.diffusion_arena {
        return Err(BuildError::NeedsHost {
            board: board.name(),
            arena,
        });
    }
    tool(RISCV_GCC, "gcc-riscv64-unknown-elf")?;
    let src = dir.join("src");
    for (path, text) in SOURCES {
        write(&src.join(path), text.as_bytes())?;
    }
    write(&src.join("tg_model.h"), header.as_bytes())?;
    let elf = dir.join(format!("tinygen-{}.elf", board.dir()));
    let mut cmd = Command::new(RISCV_GCC);
    cmd.args(RV32EC_FLAGS)
        .arg(format!("-DTG_TX_ROW_BYTES={}u", cfg.row_bytes))
        .arg(format!("-DTG_RX_MAX={}u", cfg.rx_max));
    if !cfg.conv {
        // Dense-only models (a 12 KB classifier) need every byte: link-time optimisation
        // saves about 550 bytes of code, the shape checks of a blob linked in by tinygen
        // itself (CRC-checked at boot) about 250 more, and TG_SMALL (code-only errors, a
        // table-free CRC, no unrolled weight loops) about 560 more, at some speed.
        cmd.args(["-DTG_NO_CONV", "-flto", "-DTG_TRUSTED_BLOB", "-DTG_SMALL"]);
    }
    cmd.arg(format!("-DTG_BITS=0x{:x}u", cfg.bits_mask));
    if !cfg.coded {
        cmd.arg("-DTG_NO_CODED");
    } else if cfg.only_coded {
        cmd.arg("-DTG_ONLY_CODED=1");
    }
    cmd.arg(if cfg.generator {
        "-DTG_NO_CLASSIFY"
    } else {
        "-DTG_NO_GENERATE"
    });
    cmd.arg("-I")
        .arg(&src)
        .arg("-L")
        .arg(src.join("rv32"))
        .arg("-T")
        .arg(src.join(board.dir()).join("link.ld"))
        .arg("-o")
        .arg(&elf);
    for f in [
        "rv32/crt0.S",
        "rv32/main.c",
        "rv32/stack.c",
        "common/tg_firmware.c",
        "common/tg_proto.c",
        "engine/tg_engine.c",
    ] {
        cmd.arg(src.join(f));
    }
    cmd.arg(
        src.join(board.dir())
            .join(format!("board_{}.c", board.dir())),
    );
    cmd.arg("-lgcc");
    let out = cmd.output().map_err(|_| BuildError::MissingTool {
        tool: RISCV_GCC,
        package: "gcc-riscv64-unknown-elf",
    })?;
    if !out.status.success() {
        return Err(BuildError::Compile {
            board: board.dir(),
            log: String::from_utf8_lossy(&out.stderr).into_owned(),
        });
    }
    let sizes = sizes(&elf)?;
    Ok(Built { elf, sizes })
}

/// Section sizes of an ELF, read with the cross `size` (Berkeley format).
pub fn sizes(elf: &Path) -> Result<Sizes, BuildError> {
    tool(RISCV_SIZE, "binutils-riscv64-unknown-elf")?;
    let out = Command::new(RISCV_SIZE)
        .arg("-B")
        .arg(elf)
        .output()
        .map_err(|_| BuildError::MissingTool {
            tool: RISCV_SIZE,
            package: "binutils-riscv64-unknown-elf",
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect();
    match nums[..] {
        [text_bytes, data_bytes, bss_bytes] => Ok(Sizes {
            text_bytes,
            data_bytes,
            bss_bytes,
        }),
        _ => Err(BuildError::Compile {
            board: "size",
            log: text.into_owned(),
        }),
    }
}
