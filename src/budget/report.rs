//! The budget as text: the report `tinygen budget` prints, and the number formats every
//! front-end shares.

use super::compute::Budget;
use crate::quant::WeightBits;

/// Formats a count with thousands separators, e.g. `25,216`.
pub fn count(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes for a gauge: exact up to a mebibyte, then in MB.
pub fn bytes_short(v: u64) -> String {
    const MIB: f64 = 1024.0 * 1024.0;
    if v >= 1 << 20 {
        let mb = v as f64 / MIB;
        if mb >= 100.0 {
            format!("{mb:.0} MB")
        } else {
            format!("{mb:.1} MB")
        }
    } else {
        bytes(v)
    }
}

/// Formats bytes with thousands separators, e.g. `12,608 B`.
pub fn bytes(v: u64) -> String {
    format!("{} B", count(v))
}

/// A text bar of `width` cells for `used` of `limit`.
pub fn bar(used: u64, limit: u64, width: usize) -> String {
    let filled = if limit == 0 {
        0
    } else {
        ((used as f64 / limit as f64) * width as f64)
            .ceil()
            .min(width as f64) as usize
    };
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// The plain-text report `tinygen budget` prints.
pub fn report(b: &Budget, project_name: &str) -> String {
    let noun = b.run;
    let mut s = format!(
        "Budget of '{project_name}' on {} ({}), plan: {}\n\n",
        b.target,
        b.target_title,
        b.plan.name()
    );
    s += &format!(
        "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}\n",
        "layer", "op", "in", "out", "params", "bits", "weights", "live", "MACs", "cycles"
    );
    for l in &b.layers {
        let runs = if l.runs > 1 {
            format!(" x{}", l.runs)
        } else {
            String::new()
        };
        s += &format!(
            "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}{runs}\n",
            l.name,
            l.op,
            l.input.to_string(),
            l.output.to_string(),
            count(l.params),
            WeightBits::from_f64(l.weight_bits).map_or(String::new(), |w| w.to_string()),
            count(l.weight_bytes),
            count(l.live_bytes),
            count(l.macs),
            count(l.cycles),
        );
    }
    s += &format!(
        "{:<10} {:<8} {:>8} {:>8} {:>7} {:>4} {:>8} {:>7} {:>9} {:>10}\n\n",
        "total",
        "",
        "",
        "",
        count(b.params),
        "",
        count(b.flash.weight_bytes),
        count(b.sram.arena_bytes),
        count(b.macs),
        count(b.cycles)
    );
    let f = &b.flash;
    let m = &b.sram;
    let fw = if b.sram.weight_buffer_bytes > 0 {
        "file"
    } else {
        "flash"
    };
    match f.limit_bytes {
        Some(l) => {
            s += &format!(
                "{fw:<6} {:>11} of {:>11}  {}  code {} (est.) + weights {}{} + constants {}\n",
                bytes(f.total_bytes),
                bytes(l),
                bar(f.total_bytes, l, 20),
                count(f.code_bytes),
                count(f.weight_bytes),
                if b.coded_weights {
                    " (coded, est.)"
                } else {
                    ""
                },
                count(f.const_bytes)
            )
        }
        None => {
            s += &format!(
                "{fw:<6} {:>11}  weights {} + constants {} + header {}\n",
                bytes(f.total_bytes),
                count(f.weight_bytes),
                count(f.const_bytes),
                count(f.code_bytes)
            )
        }
    }
    let parts = if m.weight_buffer_bytes > 0 {
        format!(
            "runtime {} (est.) + arena {} + streamed weights {}",
            count(m.static_bytes),
            count(m.arena_bytes),
            count(m.weight_buffer_bytes)
        )
    } else {
        format!(
            "static {} + stack {} (est.) + arena {}",
            count(m.static_bytes),
            count(m.stack_bytes),
            count(m.arena_bytes)
        )
    };
    let ram = if m.weight_buffer_bytes > 0 {
        "RAM"
    } else {
        "SRAM"
    };
    match m.limit_bytes {
        Some(l) => {
            s += &format!(
                "{ram:<6} {:>11} of {:>11}  {}  {parts}; '{}' sets the peak\n",
                bytes(m.total_bytes),
                bytes(l),
                bar(m.total_bytes, l, 20),
                b.peak_layer
            )
        }
        None => s += &format!("{ram:<6} {:>11}  {parts}\n", bytes(m.total_bytes)),
    }
    let streams = if b.arena.tiled_streams {
        "streams rows"
    } else {
        "nothing to stream"
    };
    s += &format!(
        "arena  layer by layer {} ('{}') · tiled {} ('{}', {streams})\n",
        bytes(b.arena.layer_bytes),
        b.arena.layer_peak,
        bytes(b.arena.tiled_bytes),
        b.arena.tiled_peak
    );
    s += &format!(
        "speed  {} instructions, {} cycles per {noun}",
        count(b.instructions),
        count(b.cycles)
    );
    if let Some(ms) = b.ms_per_run {
        s += &format!(" = {ms:.2} ms ({})", per_second(1000.0 / ms.max(1e-9)));
    }
    s += " (estimate)\n\n";
    for a in &b.advice {
        s += a;
        s += "\n";
    }
    s += &format!("note: {}\n", b.estimates);
    s
}

/// A rate for people: "10 per second", "2.5 per second", or "one every 2.8 s" when slower
/// than one a second (issue #18, item 5: "(0 per second)" for a 2.8 s image).
pub fn per_second(rate: f64) -> String {
    if rate >= 10.0 {
        format!("{rate:.0} per second")
    } else if rate >= 1.0 {
        format!("{rate:.1} per second")
    } else if rate > 0.0 {
        format!("one every {:.1} s", 1.0 / rate)
    } else {
        "none per second".into()
    }
}

#[cfg(test)]
mod tests {
    use super::per_second;

    /// Regression (issue #18, item 5): a 2.8 s image was "(0 per second)".
    #[test]
    fn slow_rates_are_said_as_a_period() {
        assert_eq!(per_second(1.0 / 2.8), "one every 2.8 s");
        assert_eq!(per_second(2.5), "2.5 per second");
        assert_eq!(per_second(10.4), "10 per second");
    }
}
