//! The training worker: the project's template trained on its own thread, on the device
//! chosen here, its events forwarded to the main loop. Pause and stop come from the loop
//! through the returned [`Control`].

use super::super::msg::Msg;
use crate::project::Project;
use crate::train::{Control, TrainEvent, TrainOptions};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::Sender;

/// Starts training `project`; the worker stops when `Control::cancel` is set, and stops
/// sending once the receiver is gone.
pub fn spawn(
    project: Project,
    opts: TrainOptions,
    tx: Sender<Msg>,
) -> (Arc<Control>, std::thread::JoinHandle<()>) {
    let control = Arc::new(Control::default());
    let c = control.clone();
    let thread = std::thread::spawn(move || {
        let sender = tx.clone();
        // The device is chosen here, at the edge.
        let device = burn::prelude::Device::flex();
        let result = crate::templates::of(&project).train(&project, &opts, &c, &device, &mut |e| {
            if sender.send(Msg::Train(e)).is_err() {
                // Nobody is listening any more: stop.
                c.cancel.store(true, Ordering::Relaxed);
            }
        });
        let event = match result {
            Ok(_) => return,
            Err(e) if e.is_checkpoint_problem() => {
                TrainEvent::CheckpointProblem(crate::util::error_chain(&e))
            }
            Err(e) => TrainEvent::Failed(crate::util::error_chain(&e)),
        };
        let _ = tx.send(Msg::Train(event));
    });
    (control, thread)
}
