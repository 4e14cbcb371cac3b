//! Progress bar on stderr by bytes read, shown only when stderr is a terminal and not
//! `--quiet`. Updated every few thousand packets so it costs nothing per packet.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub struct Progress {
    bar: Option<ProgressBar>,
    /// Bytes of the files already finished.
    done: u64,
}

impl Progress {
    pub fn new(total_bytes: u64, quiet: bool) -> Progress {
        if quiet || !std::io::stderr().is_terminal() {
            return Progress { bar: None, done: 0 };
        }
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} {msg}",
        ) {
            bar.set_style(style);
        }
        Progress {
            bar: Some(bar),
            done: 0,
        }
    }

    /// A new file starts.
    pub fn file(&self, name: &str) {
        if let Some(b) = &self.bar {
            b.set_message(crate::report::escape::visible(name.as_bytes()));
        }
    }

    /// `bytes` of the current file are read.
    pub fn at(&self, bytes: u64) {
        if let Some(b) = &self.bar {
            b.set_position(self.done + bytes);
        }
    }

    /// The current file, of `size` bytes, is finished.
    pub fn file_done(&mut self, size: u64) {
        self.done += size;
        self.at(0);
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
