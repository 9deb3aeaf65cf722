//! A pip counter with no learning in it: find the die face, then count the dark holes in
//! it. A learned judge can learn that two dark bars "mean" six; this one counts what a
//! person counts, so a model cannot score well on it without drawing distinct pips.
//!
//! 1. Otsu's threshold splits the grey levels into face and not-face.
//! 2. The face is the largest 4-connected bright blob.
//! 3. The holes are the dark pixels the face encloses: those that no 8-connected path of
//!    non-face pixels joins to the image's border. (4-connected face, 8-connected holes:
//!    the pair of connectivities under which every hole has one unbroken rim.)
//! 4. Each 8-connected group of hole pixels darker than the hole threshold is a pip, so
//!    two pips that touch, even at a corner, count as one. The hole threshold sits a
//!    quarter of the way from Otsu's threshold down to the darkest hole pixel, so that the
//!    anti-aliased, half-grey rim between two close pips still parts them.

/// The count of a face, or why there is none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Count {
    /// `n` distinct pips inside one face.
    Pips(usize),
    /// No bright blob at all (a blank or a dark image).
    NoFace,
}

impl Count {
    /// The count as a confusion-matrix column: the pips, 0 for no face.
    pub fn pips(self) -> usize {
        match self {
            Count::Pips(n) => n,
            Count::NoFace => 0,
        }
    }
}

/// Otsu's threshold: the grey level `t` that maximizes the between-class variance of
/// `<= t` against `> t`.
pub fn otsu(pixels: &[u8]) -> u8 {
    let mut hist = [0u64; 256];
    for &p in pixels {
        hist[usize::from(p)] += 1;
    }
    let total = pixels.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(v, &c)| v as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0f64, 0f64);
    let (mut best, mut best_t) = (-1f64, 0u8);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0.0 || w1 == 0.0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0, (sum_all - sum0) / w1);
        let between = w0 * w1 * (m0 - m1).powi(2);
        if between > best {
            best = between;
            best_t = t as u8;
        }
    }
    best_t
}

/// Labels the `mask`ed pixels of a `w`-wide image into connected groups (4- or
/// 8-connected); returns each pixel's group (`usize::MAX` outside the mask) and the
/// groups' sizes.
fn groups(mask: &[bool], w: usize, eight: bool) -> (Vec<usize>, Vec<usize>) {
    let h = mask.len() / w;
    let mut label = vec![usize::MAX; mask.len()];
    let mut sizes = Vec::new();
    let mut stack = Vec::new();
    for start in 0..mask.len() {
        if !mask[start] || label[start] != usize::MAX {
            continue;
        }
        let g = sizes.len();
        sizes.push(0);
        label[start] = g;
        stack.push(start);
        while let Some(i) = stack.pop() {
            sizes[g] += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for (dx, dy) in NEIGHBOURS {
                if !eight && dx != 0 && dy != 0 {
                    continue;
                }
                let (nx, ny) = (x + dx, y + dy);
                if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                    continue;
                }
                let j = ny as usize * w + nx as usize;
                if mask[j] && label[j] == usize::MAX {
                    label[j] = g;
                    stack.push(j);
                }
            }
        }
    }
    (label, sizes)
}

const NEIGHBOURS: [(isize, isize); 8] = [
    (-1, -1),
    (0, -1),
    (1, -1),
    (-1, 0),
    (1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// Counts the distinct pips of a `w`-wide greyscale die image (bright face, dark pips).
pub fn count(pixels: &[u8], w: usize) -> Count {
    let h = pixels.len() / w.max(1);
    if w == 0 || h == 0 {
        return Count::NoFace;
    }
    let t = otsu(pixels);
    let bright: Vec<bool> = pixels.iter().map(|&p| p > t).collect();
    if bright.iter().all(|&b| b) {
        // One grey level only: nothing stands out as a face.
        return Count::NoFace;
    }
    let (label, sizes) = groups(&bright, w, false);
    let Some(face) = (0..sizes.len()).max_by_key(|&g| (sizes[g], std::cmp::Reverse(g))) else {
        return Count::NoFace;
    };
    let not_face: Vec<bool> = label.iter().map(|&l| l != face).collect();
    // Non-face groups (8-connected) that reach the border are outside the face.
    let (outside, _) = groups(&not_face, w, true);
    let mut open = vec![false; pixels.len()];
    for i in 0..pixels.len() {
        let (x, y) = (i % w, i / w);
        if not_face[i] && (x == 0 || y == 0 || x == w - 1 || y == h - 1) {
            open[outside[i]] = true;
        }
    }
    let hole: Vec<bool> = (0..pixels.len())
        .map(|i| not_face[i] && !open[outside[i]])
        .collect();
    let Some(darkest) = (0..pixels.len())
        .filter(|&i| hole[i])
        .map(|i| pixels[i])
        .min()
    else {
        return Count::Pips(0);
    };
    let cut = t - (t - darkest) / 4;
    let pip: Vec<bool> = (0..pixels.len())
        .map(|i| hole[i] && pixels[i] <= cut)
        .collect();
    Count::Pips(groups(&pip, w, true).1.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::die::{self, Pose, SIZE};
    use crate::util::rng::Rng;

    #[test]
    fn otsu_splits_two_levels_between_them() {
        let img: Vec<u8> = (0..100).map(|i| if i < 40 { 20 } else { 220 }).collect();
        let t = otsu(&img);
        assert!((20..220).contains(&t), "{t}");
    }

    #[test]
    fn plain_dice_are_counted_exactly() {
        for pips in 1..=6u8 {
            let img = die::render(pips, &Pose::PLAIN, &mut Rng::new(1));
            assert_eq!(
                count(&img, SIZE),
                Count::Pips(usize::from(pips)),
                "{pips} pips"
            );
        }
    }

    /// Issue #15 asks the counter to read at least 99.5% of fresh renders right.
    #[test]
    fn fresh_renders_are_counted_right_at_least_995_in_1000() {
        let dice = die::dataset(0xC0_0A7E, 3000);
        let wrong: Vec<(u8, usize)> = dice
            .iter()
            .map(|s| (s.pips, count(&s.pixels, SIZE).pips()))
            .filter(|(a, b)| usize::from(*a) != *b)
            .collect();
        assert!(
            wrong.len() <= 15,
            "{} of 3000 miscounted: {wrong:?}",
            wrong.len()
        );
    }

    #[test]
    fn two_bars_are_not_six_pips() {
        // The failure the issue shows: a face with two dark vertical bars.
        let mut img = vec![240u8; SIZE * SIZE];
        for y in 0..SIZE {
            for x in 0..SIZE {
                let border = x < 3 || y < 3 || x >= SIZE - 3 || y >= SIZE - 3;
                let bar = (8..26).contains(&y) && ((9..12).contains(&x) || (20..23).contains(&x));
                if border || bar {
                    img[y * SIZE + x] = 20;
                }
            }
        }
        assert_eq!(count(&img, SIZE), Count::Pips(2));
    }

    #[test]
    fn pips_touching_at_a_corner_are_one() {
        let mut img = vec![10u8; 16 * 16];
        for y in 2..14 {
            for x in 2..14 {
                img[y * 16 + x] = 230;
            }
        }
        for (x, y) in [
            (5, 5),
            (6, 5),
            (5, 6),
            (6, 6),
            (7, 7),
            (8, 7),
            (7, 8),
            (8, 8),
        ] {
            img[y * 16 + x] = 10;
        }
        assert_eq!(count(&img, 16), Count::Pips(1));
    }

    #[test]
    fn blank_and_odd_images_do_not_panic() {
        assert_eq!(count(&[], SIZE), Count::NoFace);
        assert_eq!(count(&[128; 1024], SIZE), Count::NoFace);
        assert_eq!(count(&[0; 1024], SIZE), Count::NoFace);
        assert_eq!(count(&[0, 255, 0], 0), Count::NoFace);
    }
}
