//! Builds the device engine and the simulated board's firmware loop (firmware-stub/, C99)
//! into tinygen with the host C compiler, so the workbench runs the very code the boards do.

fn main() {
    let files = [
        "firmware-stub/engine/tg_engine.c",
        "firmware-stub/engine/tg_diffusion.c",
        "firmware-stub/common/tg_proto.c",
        "firmware-stub/common/tg_firmware.c",
        "firmware-stub/host/board_host.c",
    ];
    let mut build = cc::Build::new();
    build
        .std("c99")
        .warnings(true)
        .extra_warnings(true)
        .opt_level(2)
        // The simulated board takes any model: frames long enough for a CLASSIFY of a
        // 16x16 digit (and more).
        .define("TG_RX_MAX", "1100u")
        // The host runs diffusion models (firmware-stub/engine/tg_diffusion.c).
        .define("TG_DIFFUSION", None);
    for f in files {
        build.file(f);
        println!("cargo:rerun-if-changed={f}");
    }
    for h in [
        "firmware-stub/engine/tg_engine.h",
        "firmware-stub/engine/tg_diffusion.h",
        "firmware-stub/common/tg_proto.h",
        "firmware-stub/common/tg_board.h",
        "firmware-stub/common/tg_firmware.h",
    ] {
        println!("cargo:rerun-if-changed={h}");
    }
    build.compile("tgfw");
}
