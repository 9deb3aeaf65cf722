//! Turning greyscale images into text (ASCII, Unicode half-blocks), terminal graphics
//! (`crate::graphics`) and labelled PNG sheets. Used by the CLI previews; the TUI draws the
//! same half-block cells with its own styles and the same graphics over its dice.

use std::path::Path;

/// How images are drawn as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Ascii,
    /// Unicode half-blocks in 24-bit colour.
    Half,
    /// Terminal graphics (sixel, kitty or iTerm2), one image per line.
    Image(crate::graphics::Protocol),
}

/// An image (`width` x `height` grey pixels) as lines of text in `style`; a graphics image
/// is one line, drawn at `image_scale` pixels per image pixel.
pub fn lines(
    style: Style,
    pixels: &[u8],
    width: usize,
    height: usize,
    image_scale: usize,
) -> Vec<String> {
    match style {
        Style::Ascii => ascii(pixels, width),
        Style::Half => half_blocks_ansi(pixels, width),
        Style::Image(p) => vec![p.encode(pixels, width, height, image_scale)],
    }
}

/// Darkest to brightest.
const RAMP: &[u8] = b" .:-=+*#%@";

/// One character per pixel pair (a terminal cell is about twice as tall as wide): each
/// line covers two image rows.
pub fn ascii(pixels: &[u8], width: usize) -> Vec<String> {
    let height = pixels.len() / width.max(1);
    (0..height.div_ceil(2))
        .map(|row| {
            (0..width)
                .map(|x| {
                    let top = pixels[2 * row * width + x] as u32;
                    let bottom = pixels
                        .get((2 * row + 1) * width + x)
                        .map_or(top, |&b| b as u32);
                    let v = (top + bottom) / 2;
                    RAMP[(v as usize * (RAMP.len() - 1) + 127) / 255] as char
                })
                .collect()
        })
        .collect()
}

/// The grey levels of each half-block cell: (upper pixel, lower pixel), row by row.
pub fn half_block_cells(pixels: &[u8], width: usize) -> Vec<Vec<(u8, u8)>> {
    let height = pixels.len() / width.max(1);
    (0..height.div_ceil(2))
        .map(|row| {
            (0..width)
                .map(|x| {
                    let top = pixels[2 * row * width + x];
                    let bottom = pixels.get((2 * row + 1) * width + x).copied().unwrap_or(0);
                    (top, bottom)
                })
                .collect()
        })
        .collect()
}

/// Half-block lines with 24-bit ANSI colours: '▀' in the upper pixel's grey on the lower
/// pixel's grey. Twice the vertical resolution of [`ascii`].
pub fn half_blocks_ansi(pixels: &[u8], width: usize) -> Vec<String> {
    half_block_cells(pixels, width)
        .into_iter()
        .map(|cells| {
            let mut s = String::new();
            for (t, b) in cells {
                s += &format!("\x1b[38;2;{t};{t};{t}m\x1b[48;2;{b};{b};{b}m▀");
            }
            s + "\x1b[0m"
        })
        .collect()
}

/// A 3x5 pixel font for labels: the digits and a few signs; other characters are blank.
fn glyph(c: char) -> [u8; 5] {
    // Each row is 3 bits, the leftmost pixel the highest bit.
    match c {
        '0' => [0b111, 0b101, 0b101, 0b101, 0b111],
        '1' => [0b010, 0b110, 0b010, 0b010, 0b111],
        '2' => [0b111, 0b001, 0b111, 0b100, 0b111],
        '3' => [0b111, 0b001, 0b011, 0b001, 0b111],
        '4' => [0b101, 0b101, 0b111, 0b001, 0b001],
        '5' => [0b111, 0b100, 0b111, 0b001, 0b111],
        '6' => [0b111, 0b100, 0b111, 0b101, 0b111],
        '7' => [0b111, 0b001, 0b010, 0b010, 0b010],
        '8' => [0b111, 0b101, 0b111, 0b101, 0b111],
        '9' => [0b111, 0b101, 0b111, 0b001, 0b111],
        '?' => [0b111, 0b001, 0b011, 0b000, 0b010],
        '-' => [0b000, 0b000, 0b111, 0b000, 0b000],
        '>' => [0b100, 0b010, 0b001, 0b010, 0b100],
        '/' => [0b001, 0b001, 0b010, 0b100, 0b100],
        _ => [0; 5],
    }
}

/// Rows of a sheet's label band, in font pixels: a margin, 5 rows of text, a margin.
const LABEL_ROWS: usize = 7;

/// Images of `w`x`h` laid out `cols` to a row for a PNG a person looks at: each pixel
/// drawn `scale` x `scale`, and each image under its label (the digits and signs of
/// [`glyph`], e.g. a pip count or a digit). `(pixels, width, height)`.
pub fn sheet(
    images: &[(&str, &[u8])],
    w: usize,
    h: usize,
    cols: usize,
    scale: usize,
) -> (Vec<u8>, usize, usize) {
    let scale = scale.max(1);
    let cols = cols.max(1).min(images.len().max(1));
    let rows = images.len().div_ceil(cols);
    let gap = 2 * scale;
    let band = LABEL_ROWS * scale;
    let (cw, ch) = (w * scale, band + h * scale);
    let gw = cols * cw + (cols + 1) * gap;
    let gh = rows * ch + (rows + 1) * gap;
    let mut out = vec![0u8; gw * gh];
    for (k, (label, img)) in images.iter().enumerate() {
        let (ox, oy) = (gap + (k % cols) * (cw + gap), gap + (k / cols) * (ch + gap));
        for (i, c) in label.chars().enumerate() {
            let gx = ox + scale + i * 4 * scale;
            if gx + 3 * scale > ox + cw {
                break;
            }
            for (row, bits) in glyph(c).iter().enumerate() {
                for col in 0..3 {
                    if bits & (0b100 >> col) != 0 {
                        for dy in 0..scale {
                            let y = oy + scale + row * scale + dy;
                            let x = gx + col * scale;
                            out[y * gw + x..y * gw + x + scale].fill(200);
                        }
                    }
                }
            }
        }
        // An image of another size (a board that changed its HELLO mid-run) is drawn
        // clipped or padded, never read past its end.
        for y in 0..h * scale {
            let src = (y / scale) * w;
            let row = (oy + band + y) * gw + ox;
            for (x, px) in out[row..row + cw].iter_mut().enumerate() {
                *px = img.get(src + x / scale).copied().unwrap_or(0);
            }
        }
    }
    (out, gw, gh)
}

/// Writes a greyscale PNG atomically.
pub fn write_png(path: &Path, pixels: &[u8], width: usize, height: usize) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    image::codecs::png::PngEncoder::new(&mut bytes)
        .write_image(
            pixels,
            width as u32,
            height as u32,
            image::ExtendedColorType::L8,
        )
        .map_err(std::io::Error::other)?;
    crate::util::fsutil::write_atomic(path, &bytes)
}

use image::ImageEncoder;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_maps_dark_to_space_and_bright_to_at() {
        let px = [0, 255, 0, 255];
        assert_eq!(ascii(&px, 2), vec![" @".to_string()]);
    }

    #[test]
    fn half_blocks_pair_rows() {
        let px = [10, 20, 30, 40, 50, 60];
        let cells = half_block_cells(&px, 2);
        assert_eq!(
            cells,
            vec![vec![(10, 30), (20, 40)], vec![(50, 0), (60, 0)]]
        );
        assert!(half_blocks_ansi(&px, 2)[0].contains("38;2;10;10;10m\x1b[48;2;30;30;30m▀"));
    }

    /// #18, item 12: the dice PNG was 1:1 pixels with no labels.
    #[test]
    fn a_sheet_scales_its_images_and_labels_them() {
        let a = [255u8; 16];
        let b = [0u8; 16];
        let (g, w, h) = sheet(&[("1", &a), ("7", &b)], 4, 4, 2, 3);
        // Gaps of 6, cells 12 wide and 21 (label band) + 12 high.
        assert_eq!((w, h), (2 * 12 + 3 * 6, 21 + 12 + 2 * 6));
        // The first image, scaled: all of its 12x12 pixels are white.
        let at = |x: usize, y: usize| g[y * w + x];
        for y in 6 + 21..6 + 33 {
            for x in 6..18 {
                assert_eq!(at(x, y), 255);
            }
        }
        // Its label "1": the glyph's middle column is lit in every row of the text.
        for row in 0..5 {
            assert_eq!(at(6 + 3 + 3, 6 + 3 + row * 3), 200, "row {row}");
        }
        // The label band of the second image is lit somewhere, its image black.
        assert!((6..27).any(|y| (24..36).any(|x| at(x, y) == 200)));
        assert!((27..39).all(|y| (24..36).all(|x| at(x, y) == 0)));
        // A label longer than the image is cut, not drawn over the neighbour.
        let (g2, w2, _) = sheet(&[("123456", &a)], 2, 2, 1, 1);
        assert_eq!(w2, 2 + 2 * 2);
        assert!(g2.iter().all(|&p| p == 0 || p == 200 || p == 255));
    }

    #[test]
    fn png_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.png");
        let px: Vec<u8> = (0..=255).collect();
        write_png(&p, &px, 16, 16).unwrap();
        let img = image::open(&p).unwrap().to_luma8();
        assert_eq!(img.into_raw(), px);
    }
}
