//! What the Deploy screen knows: the boards found, the one picked, and the stages of the
//! deploy running.

use super::super::super::msg::{BoardEntry, DeployEvent};

#[derive(Debug, Clone, Default)]
pub struct DeployView {
    pub boards: Vec<BoardEntry>,
    pub sel: usize,
    pub scanned: bool,
    pub running: bool,
    /// Stages so far, in order, with their progress.
    pub stages: Vec<(&'static str, u64, u64)>,
    pub log: Vec<String>,
    pub result: Option<Result<String, String>>,
}

impl DeployView {
    pub fn on_event(&mut self, e: DeployEvent) {
        match e {
            DeployEvent::Boards(b) => {
                self.boards = b;
                self.scanned = true;
                self.sel = self.sel.min(self.boards.len().saturating_sub(1));
            }
            DeployEvent::Stage { name, done, total } => {
                match self.stages.iter_mut().find(|(n, ..)| *n == name) {
                    Some(s) => *s = (name, done, total),
                    None => self.stages.push((name, done, total)),
                }
            }
            DeployEvent::Log(l) => self.log.push(l),
            DeployEvent::Finished(r) => {
                self.running = false;
                self.result = Some(r);
            }
        }
    }

    pub fn selected(&self) -> Option<&BoardEntry> {
        self.boards.get(self.sel)
    }
}
