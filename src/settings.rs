//! What the command line means, checked before any packet is read: inputs exist and are
//! files, limits are sane, outputs do not collide.

use std::fs::File;
use std::path::PathBuf;

use crate::capture::offline::Source;
use crate::cli::{ReadArgs, ScopeArg};
use crate::pipeline::Config;
use crate::report::atomic::io_reason;

/// A `read` run, validated.
#[derive(Debug)]
pub struct ReadSettings {
    /// Inputs in order, with their size in bytes (0 for stdin).
    pub inputs: Vec<(Source, u64)>,
    pub csv: Option<PathBuf>,
    pub connections: Option<PathBuf>,
    pub quiet: bool,
    pub stats: bool,
    pub top: Option<usize>,
    pub config: Config,
    /// The table goes to stdout unless a CSV does.
    pub table: bool,
}

impl ReadSettings {
    pub fn from_args(a: ReadArgs) -> Result<ReadSettings, String> {
        let mut inputs = Vec::with_capacity(a.files.len());
        let mut stdin_seen = false;
        for path in &a.files {
            let source = Source::from_arg(path);
            let size = match &source {
                Source::Stdin => {
                    if stdin_seen {
                        return Err("- (standard input) can be read only once".into());
                    }
                    stdin_seen = true;
                    0
                }
                Source::File(p) => {
                    let meta = std::fs::metadata(p)
                        .map_err(|e| format!("{}: {}", p.display(), io_reason(&e)))?;
                    if meta.is_dir() {
                        return Err(format!(
                            "{}: is a directory, not a capture file",
                            p.display()
                        ));
                    }
                    File::open(p).map_err(|e| format!("{}: {}", p.display(), io_reason(&e)))?;
                    meta.len()
                }
            };
            inputs.push((source, size));
        }
        if a.idle_timeout == 0 {
            return Err("--idle-timeout must be at least 1 second".into());
        }
        if a.max_connections == 0 {
            return Err("--max-connections must be at least 1".into());
        }
        let is_stdout = |p: &Option<PathBuf>| p.as_ref().is_some_and(|p| p.as_os_str() == "-");
        if is_stdout(&a.csv) && is_stdout(&a.connections) {
            return Err("--csv and --connections cannot both write to standard output".into());
        }
        if let (Some(x), Some(y)) = (&a.csv, &a.connections) {
            if x == y && x.as_os_str() != "-" {
                return Err(format!(
                    "--csv and --connections name the same file: {}",
                    x.display()
                ));
            }
        }
        let table = !a.quiet && !is_stdout(&a.csv) && !is_stdout(&a.connections);
        Ok(ReadSettings {
            inputs,
            config: Config {
                idle_timeout_secs: i64::try_from(a.idle_timeout).unwrap_or(i64::MAX),
                max_flows: a.max_connections,
                scope_all: a.scope == ScopeArg::All,
                ..Config::default()
            },
            csv: a.csv,
            connections: a.connections,
            quiet: a.quiet,
            stats: a.stats,
            top: a.top,
            table,
        })
    }
}
