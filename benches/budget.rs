//! `cargo bench --bench budget`: how long one budget recomputation takes, as the Budget
//! screen does after every edit (spec, both plans, totals and advice). Goal (issue 4): under
//! 5 ms for the largest template.

use std::time::Instant;
use tinygen::budget::{self, Plan};
use tinygen::project::Project;

fn main() {
    if std::env::args().any(|a| a == "--test") {
        return;
    }
    println!("budget recomputation, spec + both plans + totals + advice");
    for t in tinygen::templates::all() {
        let (def, p) = (t.def(), Project::from_template(t.def()));
        for (target, plan) in [
            ("ch32v003", Plan::Tiled),
            ("ch32v003", Plan::Layer),
            ("pi-zero-2w", Plan::Tiled),
        ] {
            let target_id = target;
            let target = tinygen::target::find(target_id).unwrap();
            let n = 20_000;
            let start = Instant::now();
            let mut fits = 0;
            for _ in 0..n {
                let b = budget::for_project(
                    std::hint::black_box(&p),
                    &tinygen::templates::spec,
                    target,
                    plan,
                );
                fits += usize::from(b.fits);
            }
            let us = start.elapsed().as_secs_f64() * 1e6 / n as f64;
            println!(
                "  {:<13} {:<11} {:<6} {:8.2} µs per recompute  ({} layers, fits: {})   goal < 5 ms",
                def.name,
                target_id,
                plan.name(),
                us,
                p.model.layers.len(),
                fits == n
            );
        }
    }
}
