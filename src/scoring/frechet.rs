//! The Fréchet distance between two sets of feature vectors, each taken as a Gaussian:
//! `|μa − μb|² + tr(Ca + Cb − 2·(Ca^½ Cb Ca^½)^½)`, as FID computes it. A generator that
//! draws one die per class over and over has the right classes but a far smaller spread
//! than the renders, which this distance sees and a classifier's accuracy does not.
//!
//! The matrix square roots come from a cyclic Jacobi eigen-decomposition: the feature
//! vectors here have a few dozen dimensions, where it is exact to rounding and quick.

// Dense matrix arithmetic reads best with its indices.
#![allow(clippy::needless_range_loop)]

/// The Fréchet distance between the Gaussians fitted to `a` and `b` (rows of equal
/// length; each set needs at least two rows).
pub fn distance(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
    let (ma, ca) = moments(a);
    let (mb, cb) = moments(b);
    let mean: f64 = ma.iter().zip(&mb).map(|(x, y)| (x - y).powi(2)).sum();
    let ra = sym_sqrt(&ca);
    let cross = sym_sqrt(&mul(&mul(&ra, &cb), &ra));
    let trace = |m: &[Vec<f64>]| (0..m.len()).map(|i| m[i][i]).sum::<f64>();
    (mean + trace(&ca) + trace(&cb) - 2.0 * trace(&cross)).max(0.0)
}

/// The mean and the (unbiased) covariance of the rows.
fn moments(rows: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let d = rows.first().map_or(0, Vec::len);
    let n = rows.len().max(1) as f64;
    let mut mean = vec![0.0; d];
    for r in rows {
        for (m, v) in mean.iter_mut().zip(r) {
            *m += v / n;
        }
    }
    let mut cov = vec![vec![0.0; d]; d];
    for r in rows {
        for i in 0..d {
            let di = r[i] - mean[i];
            for j in i..d {
                cov[i][j] += di * (r[j] - mean[j]);
            }
        }
    }
    let denom = (rows.len().max(2) - 1) as f64;
    for i in 0..d {
        for j in i..d {
            cov[i][j] /= denom;
            cov[j][i] = cov[i][j];
        }
    }
    (mean, cov)
}

fn mul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = a.len();
    let mut out = vec![vec![0.0; n]; n];
    for i in 0..n {
        for k in 0..n {
            let aik = a[i][k];
            if aik != 0.0 {
                for j in 0..n {
                    out[i][j] += aik * b[k][j];
                }
            }
        }
    }
    out
}

/// The square root of a symmetric positive semi-definite matrix (negative eigenvalues from
/// rounding count as zero).
pub fn sym_sqrt(m: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let n = m.len();
    let (values, vectors) = jacobi(m);
    let mut out = vec![vec![0.0; n]; n];
    for (k, &l) in values.iter().enumerate() {
        let s = l.max(0.0).sqrt();
        for i in 0..n {
            for j in 0..n {
                out[i][j] += s * vectors[i][k] * vectors[j][k];
            }
        }
    }
    out
}

/// Eigenvalues and eigenvectors (as columns) of a symmetric matrix, by cyclic Jacobi
/// rotations until the off-diagonal part is negligible.
fn jacobi(m: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = m.len();
    let mut a: Vec<Vec<f64>> = m.to_vec();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let scale: f64 = a
        .iter()
        .flatten()
        .map(|x| x * x)
        .sum::<f64>()
        .max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j] * a[i][j])
            .sum();
        if off <= 1e-24 * scale {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..n {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in v.iter_mut() {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..n).map(|i| a[i][i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::rng::Rng;

    fn cloud(n: usize, d: usize, shift: f64, spread: f64, seed: u64) -> Vec<Vec<f64>> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| {
                (0..d)
                    .map(|k| shift + spread * f64::from(rng.normal()) * (1.0 + k as f64 / 4.0))
                    .collect()
            })
            .collect()
    }

    #[test]
    fn the_square_root_squares_back() {
        let c = moments(&cloud(200, 6, 0.0, 1.0, 1)).1;
        let r = sym_sqrt(&c);
        let back = mul(&r, &r);
        for i in 0..6 {
            for j in 0..6 {
                assert!((back[i][j] - c[i][j]).abs() < 1e-9, "{i},{j}");
            }
        }
    }

    #[test]
    fn the_distance_sees_a_shift_and_a_collapse_but_not_a_resample() {
        let a = cloud(4000, 5, 0.0, 1.0, 1);
        let same = distance(&a, &a);
        assert!(same < 1e-9, "{same}");
        let resampled = distance(&a, &cloud(4000, 5, 0.0, 1.0, 2));
        let shifted = distance(&a, &cloud(4000, 5, 1.0, 1.0, 2));
        // Five dimensions each shifted by 1: a distance of about 5.
        assert!((shifted - 5.0).abs() < 0.5, "{shifted}");
        let collapsed = distance(&a, &cloud(4000, 5, 0.0, 0.05, 2));
        assert!(
            resampled < 0.1 && collapsed > 1.0,
            "{resampled} {collapsed}"
        );
    }
}
