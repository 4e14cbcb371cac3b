//! Output files that are never left half-written: rows go to a temporary file in the target's
//! directory, renamed over the target only when complete. `-` means standard output.
//!
//! The temporary file is created when the output is opened, before any packet is read, so an
//! unwritable path fails at once instead of after hours of reading.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// An output destination, opened.
pub enum Output {
    Stdout(BufWriter<io::Stdout>),
    /// An existing target that is not a regular file (`/dev/null`, a FIFO, a terminal): written
    /// in place, since renaming a file over it would replace the device itself.
    Special {
        target: PathBuf,
        file: BufWriter<File>,
    },
    File {
        target: PathBuf,
        temp: BufWriter<NamedTempFile>,
    },
}

impl Output {
    /// Opens `path` for writing (`-` is standard output).
    pub fn create(path: &Path) -> Result<Output, String> {
        if path.as_os_str() == "-" {
            return Ok(Output::Stdout(BufWriter::new(io::stdout())));
        }
        if path.is_dir() {
            return Err(format!("{}: is a directory", path.display()));
        }
        if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| format!("{}: cannot write here: {}", path.display(), io_reason(&e)))?;
            return Ok(Output::Special {
                target: path.to_path_buf(),
                file: BufWriter::new(file),
            });
        }
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let temp = tempfile::Builder::new()
            .prefix(".tlscensus-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| format!("{}: cannot write here: {}", path.display(), io_reason(&e)))?;
        Ok(Output::File {
            target: path.to_path_buf(),
            temp: BufWriter::new(temp),
        })
    }

    /// Flushes and, for a file, renames the temporary file over the target.
    pub fn commit(self) -> Result<(), String> {
        match self {
            Output::Stdout(mut w) => match w.flush() {
                // A closed pipe (`| head`) is not an error.
                Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(format!("<stdout>: {e}")),
                _ => Ok(()),
            },
            Output::Special { target, mut file } => file
                .flush()
                .map_err(|e| format!("{}: {}", target.display(), io_reason(&e))),
            Output::File { target, temp } => {
                let temp = temp
                    .into_inner()
                    .map_err(|e| format!("{}: {}", target.display(), io_reason(e.error())))?;
                temp.as_file()
                    .sync_all()
                    .map_err(|e| format!("{}: {}", target.display(), io_reason(&e)))?;
                set_default_mode(temp.as_file());
                temp.persist(&target)
                    .map_err(|e| format!("{}: {}", target.display(), io_reason(&e.error)))?;
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

/// Temp files are created 0600; a result file gets the usual 0644 (less the umask's effect is
/// not applied by rename, so use the common default).
fn set_default_mode(file: &File) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = file.set_permissions(std::fs::Permissions::from_mode(0o644));
    }
}

/// An I/O error's reason without Rust's "(os error N)" suffix.
pub fn io_reason(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            err,
            "/nonexistent-dir/out.csv: cannot write here: No such file or directory"
        );
        let dir = tempfile::tempdir().unwrap();
        let err = Output::create(dir.path()).err().unwrap();
        assert!(err.ends_with(": is a directory"), "{err}");
    }
}
