//! The training curves as a greyscale picture: one panel per loss, epochs left to right,
//! each panel scaled to its own range (a loss that falls from 0.9 to 0.02 and one that
//! hovers near 3 both fill their panel).

use crate::checkpoint::EpochLoss;

const W: usize = 480;
const H: usize = 120;
const PAD: usize = 6;

/// `(pixels, width, height)` of the panels for `names` over `history`.
pub fn curves(history: &[EpochLoss], names: &[&str]) -> (Vec<u8>, usize, usize) {
    let panels = names.len().max(1);
    let height = panels * (H + PAD) + PAD;
    let width = W + 2 * PAD;
    let mut px = vec![0u8; width * height];
    for (k, name) in names.iter().enumerate() {
        let (ox, oy) = (PAD, PAD + k * (H + PAD));
        frame(&mut px, width, ox, oy);
        let values: Vec<f32> = history
            .iter()
            .map(|e| e.loss(name))
            .filter(|v| v.is_finite())
            .collect();
        let points = scale(&values);
        for pair in points.windows(2) {
            line(&mut px, width, (ox, oy), pair[0], pair[1]);
        }
        if let [only] = points.as_slice() {
            dot(&mut px, width, (ox, oy), *only);
        }
    }
    (px, width, height)
}

/// Values as points inside a panel (x, y from its top left), min at the bottom.
fn scale(values: &[f32]) -> Vec<(usize, usize)> {
    let (lo, hi) = values
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    let span = if hi > lo { hi - lo } else { 1.0 };
    let n = values.len();
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let x = if n > 1 {
                2 + i * (W - 5) / (n - 1)
            } else {
                W / 2
            };
            let y = 2 + ((hi - v) / span * (H - 5) as f32).round() as usize;
            (x, y.min(H - 3))
        })
        .collect()
}

fn frame(px: &mut [u8], width: usize, ox: usize, oy: usize) {
    for x in 0..W {
        px[oy * width + ox + x] = 90;
        px[(oy + H - 1) * width + ox + x] = 90;
    }
    for y in 0..H {
        px[(oy + y) * width + ox] = 90;
        px[(oy + y) * width + ox + W - 1] = 90;
    }
}

fn dot(px: &mut [u8], width: usize, (ox, oy): (usize, usize), (x, y): (usize, usize)) {
    for dy in 0..3 {
        for dx in 0..3 {
            px[(oy + y + dy).saturating_sub(1) * width + ox + (x + dx).saturating_sub(1)] = 255;
        }
    }
}

/// A line between two points of a panel (Bresenham), two pixels thick.
fn line(px: &mut [u8], width: usize, o: (usize, usize), a: (usize, usize), b: (usize, usize)) {
    let (mut x, mut y) = (a.0 as i64, a.1 as i64);
    let (x1, y1) = (b.0 as i64, b.1 as i64);
    let (dx, dy) = ((x1 - x).abs(), -(y1 - y).abs());
    let (sx, sy) = (if x < x1 { 1 } else { -1 }, if y < y1 { 1 } else { -1 });
    let mut err = dx + dy;
    loop {
        for t in 0..2 {
            let (xx, yy) = (o.0 + x as usize, o.1 + y as usize + t);
            px[yy * width + xx] = 255;
        }
        if x == x1 && y == y1 {
            break;
        }
        let e2 = 2 * err;
        if e2 >= dy {
            err += dy;
            x += sx;
        }
        if e2 <= dx {
            err += dx;
            y += sy;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epoch(epoch: u32, recon: f32) -> EpochLoss {
        EpochLoss {
            epoch,
            losses: vec![("recon".into(), recon), ("kl".into(), 2.0)],
            accuracy: None,
            test_accuracy: None,
        }
    }

    #[test]
    fn a_falling_loss_is_drawn_from_top_left_to_bottom_right() {
        let h: Vec<EpochLoss> = (1..=10).map(|e| epoch(e, 1.0 / e as f32)).collect();
        let (px, w, ht) = curves(&h, &["recon", "kl"]);
        assert_eq!((w, ht), (W + 2 * PAD, 2 * (H + PAD) + PAD));
        let lit = |x: usize, y: usize| px[(PAD + y) * w + PAD + x] == 255;
        assert!(lit(2, 2) || lit(2, 3), "the first epoch is at the top");
        assert!(
            (0..H).any(|y| lit(W - 3, y) && y > H - 6),
            "the last is at the bottom"
        );
        // A flat loss is a flat line, not a division by zero.
        let row = PAD + H + PAD;
        assert!(
            (0..W)
                .filter(|&x| px[(row + 2) * w + PAD + x] == 255)
                .count()
                > W / 2
        );
    }

    #[test]
    fn no_history_is_empty_frames() {
        let (px, _, _) = curves(&[], &["recon"]);
        assert!(!px.contains(&255));
    }
}
