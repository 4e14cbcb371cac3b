//! Output files that are never left half-written: rows go to a temporary file in the target's
//! directory, renamed over the target only when complete. `-` means standard output.
//!
//! Promises:
//! - the temporary file is created when the output is opened, before any packet is read, so an
//!   unwritable path fails at once instead of after hours of reading;
//! - an output path that is a symbolic link is written through, as the shell's `>` does: the
//!   link's final target is replaced (temporary file in the target's directory), the link
//!   stays; a dangling link creates its target;
//! - a new file gets the mode the umask gives (`0666 & ~umask`, as `>` would); an existing
//!   file keeps its mode, and its owner and group where the process may set them;
//! - an existing target that is not a regular file (`/dev/null`, a FIFO) is written in place;
//! - standard output that its reader closed (`| head`) is not an error: what is written to it
//!   afterwards is dropped, for every output alike ([`Stdout`]);
//! - every error is one line naming the path as given (never the temporary file's).

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use tempfile::NamedTempFile;

use crate::report::escape;

/// Why an output could not be opened or written: the path as given, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputError {
    /// The path as the user gave it, escaped for display.
    pub target: String,
    pub reason: String,
}

impl std::fmt::Display for OutputError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.target, self.reason)
    }
}

impl std::error::Error for OutputError {}

impl OutputError {
    /// An error of the output at `path` (`-`: standard output).
    pub fn of(path: Option<&Path>, reason: String) -> OutputError {
        OutputError {
            target: match path {
                Some(p) if p.as_os_str() != "-" => escape::path(p),
                _ => "<stdout>".to_string(),
            },
            reason,
        }
    }
}

/// An output destination, opened.
pub enum Output {
    Stdout(Stdout),
    /// An existing target that is not a regular file (`/dev/null`, a FIFO, a terminal): written
    /// in place, since renaming a file over it would replace the device itself.
    Special {
        target: PathBuf,
        file: BufWriter<File>,
    },
    File {
        /// The path as given (for messages).
        target: PathBuf,
        /// Where the file is renamed to: `target` with its symbolic links followed.
        resolved: PathBuf,
        temp: BufWriter<NamedTempFile>,
        /// The mode a new file gets: `0666` less the umask.
        new_mode: u32,
    },
}

impl Output {
    /// Opens `path` for writing (`-` is standard output).
    pub fn create(path: &Path) -> Result<Output, OutputError> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout(Stdout::new()));
        }
        let fail = |reason: String| OutputError {
            target: escape::path(path),
            reason,
        };
        let resolved = follow_links(path).map_err(|e| fail(io_reason(&e)))?;
        match std::fs::metadata(&resolved) {
            Ok(m) if m.is_dir() => return Err(fail("is a directory".into())),
            Ok(m) if !m.is_file() => {
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&resolved)
                    .map_err(|e| fail(format!("cannot write here: {}", io_reason(&e))))?;
                return Ok(Output::Special {
                    target: path.to_path_buf(),
                    file: BufWriter::new(file),
                });
            }
            _ => {}
        }
        let dir = match resolved.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp =
            new_temp(dir).map_err(|e| fail(format!("cannot write here: {}", io_reason(&e))))?;
        let (temp, new_mode) = temp;
        Ok(Output::File {
            target: path.to_path_buf(),
            resolved,
            temp: BufWriter::new(temp),
            new_mode,
        })
    }

    /// The path as given, escaped for messages (`<stdout>` for `-`).
    pub fn name(&self) -> String {
        match self {
            Output::Stdout(_) => "<stdout>".to_string(),
            Output::Special { target, .. } | Output::File { target, .. } => escape::path(target),
        }
    }

    /// An error of writing to this output, named by its path.
    pub fn error(&self, e: &io::Error) -> OutputError {
        OutputError {
            target: self.name(),
            reason: io_reason(e),
        }
    }

    /// Flushes and, for a file, renames the temporary file over the target.
    pub fn commit(self) -> Result<(), OutputError> {
        let name = self.name();
        let fail = |e: &io::Error| OutputError {
            target: name.clone(),
            reason: io_reason(e),
        };
        match self {
            Output::Stdout(mut w) => w.flush().map_err(|e| fail(&e)),
            Output::Special { mut file, .. } => file.flush().map_err(|e| fail(&e)),
            Output::File {
                resolved,
                temp,
                new_mode,
                ..
            } => {
                let temp = temp.into_inner().map_err(|e| fail(e.error()))?;
                temp.as_file().sync_all().map_err(|e| fail(&e))?;
                keep_mode_and_owner(temp.as_file(), &resolved, new_mode);
                temp.persist(&resolved).map_err(|e| fail(&e.error))?;
                Ok(())
            }
        }
    }
}

impl Write for Output {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Output::Stdout(w) => w.write(buf),
            Output::Special { file, .. } => file.write(buf),
            Output::File { temp, .. } => temp.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Output::Stdout(w) => w.flush(),
            Output::Special { file, .. } => file.flush(),
            Output::File { temp, .. } => temp.flush(),
        }
    }
}

/// Set once standard output's reader has gone.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Whether standard output's reader has gone (`| head` exited): what is written to it since
/// was dropped.
pub fn stdout_closed() -> bool {
    STDOUT_CLOSED.load(Ordering::Relaxed)
}

/// Standard output, buffered; a broken pipe is the reader's choice, not an error: from the
/// first one on, every write to standard output (by any output of the run) succeeds and is
/// dropped. The one place a broken pipe is handled.
pub struct Stdout(BufWriter<io::Stdout>);

impl Stdout {
    pub fn new() -> Stdout {
        Stdout(BufWriter::new(io::stdout()))
    }

    fn closed(&mut self, r: io::Result<()>) -> io::Result<()> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                STDOUT_CLOSED.store(true, Ordering::Relaxed);
                // Drop what the buffer holds: it can never be written.
                let _ = std::mem::replace(&mut self.0, BufWriter::new(io::stdout())).into_parts();
                Ok(())
            }
            r => r,
        }
    }
}

impl Default for Stdout {
    fn default() -> Self {
        Stdout::new()
    }
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if stdout_closed() {
            return Ok(buf.len());
        }
        match self.0.write(buf) {
            Ok(n) => Ok(n),
            Err(e) => self.closed(Err(e)).map(|()| buf.len()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if stdout_closed() {
            return Ok(());
        }
        let r = self.0.flush();
        self.closed(r)
    }
}

impl Drop for Stdout {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// At most this many symbolic links are followed (Linux's own limit).
const MAX_LINKS: usize = 40;

/// `path` with symbolic links in its last component followed to the file they name, existing
/// or not (a dangling link names the file `>` would create). Links in the directories above are
/// left to the system.
fn follow_links(path: &Path) -> io::Result<PathBuf> {
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match std::fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                let to = std::fs::read_link(&p)?;
                p = match p.parent() {
                    Some(dir) if to.is_relative() => dir.join(to),
                    _ => to,
                };
            }
            _ => return Ok(p),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// A temporary file in `dir`, private (0600) while it is written, and the mode a new file
/// would get there: created with `0666` so that the umask (and a default ACL) shape it, then
/// narrowed until [`Output::commit`].
fn new_temp(dir: &Path) -> io::Result<(NamedTempFile, u32)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let temp = tempfile::Builder::new()
            .prefix(".tlscensus-")
            .suffix(".tmp")
            .permissions(std::fs::Permissions::from_mode(0o666))
            .tempfile_in(dir)?;
        let mode = temp.as_file().metadata()?.permissions().mode() & 0o777;
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))?;
        Ok((temp, mode))
    }
    #[cfg(not(unix))]
    {
        let temp = tempfile::Builder::new()
            .prefix(".tlscensus-")
            .suffix(".tmp")
            .tempfile_in(dir)?;
        Ok((temp, 0o644))
    }
}

/// Gives the finished temporary file the mode (and, where allowed, owner and group) of the file
/// it replaces, or `new_mode` when there is none.
fn keep_mode_and_owner(file: &File, target: &Path, new_mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = match std::fs::metadata(target) {
            Ok(m) if m.is_file() => {
                // Best effort: an unprivileged process can only give a file its own user,
                // and a group it belongs to.
                let _ = std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()));
                m.mode() & 0o777
            }
            _ => new_mode,
        };
        let _ = file.set_permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    {
        let _ = (file, target, new_mode);
    }
}

/// An I/O error's reason without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    reason(e.to_string())
}

/// An error's text without Rust's "(os error N)" suffix.
pub fn reason(text: String) -> String {
    match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        let mut out = Output::create(&target).unwrap();
        out.write_all(b"a,b\n").unwrap();
        assert!(!target.exists());
        out.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"a,b\n");
        // Nothing else is left in the directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn dev_null_stays_a_device() {
        use std::os::unix::fs::FileTypeExt;
        let mut out = Output::create(Path::new("/dev/null")).unwrap();
        out.write_all(b"x").unwrap();
        out.commit().unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
    }

    #[test]
    fn dropped_output_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.csv");
        std::fs::write(&target, b"old").unwrap();
        let mut out = Output::create(&target).unwrap();
        out.write_all(b"half").unwrap();
        drop(out);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_path_fails_at_once() {
        let err = Output::create(Path::new("/nonexistent-dir/out.csv"))
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "/nonexistent-dir/out.csv: cannot write here: No such file or directory"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = Output::create(dir.path()).err().unwrap();
        assert!(err.to_string().ends_with(": is a directory"), "{err}");
    }

    #[test]
    fn a_full_disk_names_the_path() {
        let mut out = Output::create(Path::new("/dev/full")).unwrap();
        out.write_all(b"x").unwrap();
        let err = out.commit().err().unwrap();
        assert_eq!(err.to_string(), "/dev/full: No space left on device");
    }

    #[test]
    fn a_symbolic_link_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("real")).unwrap();
        let target = dir.path().join("real/census.csv");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.csv");
        std::os::unix::fs::symlink("real/census.csv", &link).unwrap();
        let mut out = Output::create(&link).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        // No temporary file left beside the link or the target.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        assert_eq!(
            std::fs::read_dir(dir.path().join("real")).unwrap().count(),
            1
        );
        // A dangling link creates its target; a loop is refused.
        let dangling = dir.path().join("dangling.csv");
        std::os::unix::fs::symlink("real/new.csv", &dangling).unwrap();
        let out = Output::create(&dangling).unwrap();
        out.commit().unwrap();
        assert!(dir.path().join("real/new.csv").is_file());
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = Output::create(&a).err().unwrap();
        assert!(
            err.to_string()
                .ends_with("/a: too many levels of symbolic links"),
            "{err}"
        );
    }

    #[test]
    fn an_existing_file_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("census.csv");
        std::fs::write(&target, b"old").unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        let mut out = Output::create(&target).unwrap();
        out.write_all(b"new").unwrap();
        out.commit().unwrap();
        assert_eq!(mode(&target), 0o600);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }
}
