//! The arena planner: bytes of activations live during each layer under the two plans,
//! layer by layer and depth-first row streaming (see the module above).

use crate::spec::{LayerKind, LayerSpec};

/// Bytes live during each layer, the peak, and the layer that sets it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArenaPlan {
    pub live: Vec<u64>,
    pub peak: u64,
    pub peak_layer: usize,
    pub streams: bool,
}

fn peak_of(live: Vec<u64>, streams: bool) -> ArenaPlan {
    let (peak_layer, peak) =
        live.iter().enumerate().fold(
            (0, 0),
            |best, (i, &v)| if v > best.1 { (i, v) } else { best },
        );
    ArenaPlan {
        live,
        peak,
        peak_layer,
        streams,
    }
}

/// Outputs a dense layer accumulates at once in the engine (`TG_DENSE_CHUNK`).
pub const DENSE_CHUNK: u64 = 32;

/// The engine's int32 accumulators: one per output of a convolution row, or one per
/// output of a dense chunk. They live in the arena beside the activations.
pub fn accumulator_bytes(layers: &[LayerSpec]) -> u64 {
    4 * layers
        .iter()
        .map(|l| match l.kind {
            LayerKind::Dense => l.output.elements().min(DENSE_CHUNK),
            _ => u64::from(l.output.w),
        })
        .max()
        .unwrap_or(0)
}

/// Layer by layer: input and output of each layer live together.
pub fn plan_layer(layers: &[LayerSpec]) -> ArenaPlan {
    let acc = accumulator_bytes(layers);
    peak_of(
        layers
            .iter()
            .map(|l| l.input.bytes() + l.output.bytes() + acc)
            .collect(),
        false,
    )
}

/// Input rows a layer must hold to produce `t` output rows.
fn window_rows(kind: LayerKind, t: u32) -> u32 {
    match kind {
        LayerKind::Dense => u32::MAX,
        LayerKind::Conv3x3 => t + 2,
        // Nearest upsampling: t output rows touch ceil(t/2) + 1 input rows.
        LayerKind::UpConv3x3 => t.div_ceil(2) + 1,
        LayerKind::Conv3x3Down => 2 * t + 1,
    }
}

/// Depth-first row streaming from layer `start` on, `tile_rows` output rows at a time.
/// Layers before `start` run layer by layer; the input of `start` is held whole. Falls
/// back to the layer plan when streaming is impossible (a dense layer inside the chain)
/// or would need more memory.
pub fn plan_tiled(layers: &[LayerSpec], start: usize, tile_rows: u32) -> ArenaPlan {
    let by_layer = plan_layer(layers);
    let Some(first) = (start..layers.len()).find(|&i| layers[i].kind != LayerKind::Dense) else {
        return by_layer;
    };
    if layers[first..].iter().any(|l| l.kind == LayerKind::Dense) {
        return by_layer;
    }
    let t = tile_rows.max(1);
    // The chain's input stays whole; each later layer holds a window of its input; the
    // last layer's finished rows wait in one row buffer until they are sent.
    let held = layers[first].input.bytes();
    let windows: Vec<u64> = layers[first + 1..]
        .iter()
        .map(|l| l.input.row_bytes(window_rows(l.kind, t)))
        .collect();
    let out_rows = layers[layers.len() - 1].output.row_bytes(t);
    let streaming = held + windows.iter().sum::<u64>() + out_rows + accumulator_bytes(layers);
    let mut live: Vec<u64> = by_layer.live[..first].to_vec();
    live.extend(std::iter::repeat_n(streaming, layers.len() - first));
    let plan = peak_of(live, true);
    if plan.peak > by_layer.peak {
        return by_layer;
    }
    // Within the streamed chain, name the layer holding the largest piece.
    let mut peak_layer = plan.peak_layer;
    if peak_layer >= first {
        let mut pieces = vec![(first, held)];
        pieces.extend(windows.iter().enumerate().map(|(k, &b)| (first + 1 + k, b)));
        pieces.push((layers.len() - 1, out_rows));
        peak_layer = pieces
            .iter()
            .fold(
                (first, 0),
                |best, &(i, b)| if b > best.1 { (i, b) } else { best },
            )
            .0;
    }
    ArenaPlan { peak_layer, ..plan }
}
