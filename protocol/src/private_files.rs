//! Files only the service's own user may read: SQLite databases (with their `-wal` and
//! `-shm`), seal key files, the development outboxes (invitation, PIN and reset links).
//! Files are created mode 0600 and directories 0700 (on Unix; elsewhere the platform's
//! defaults stand).
//!
//! A file the service finds with wider permissions (created by an older version) is
//! narrowed to 0600. A directory is set to 0700 when the service creates it; an existing
//! one is left as its owner made it (it may be shared on purpose, such as the working
//! directory), with a warning when others may enter it.

use std::io;
use std::path::Path;

/// Mode of private files.
pub const FILE_MODE: u32 = 0o600;
/// Mode of private directories.
pub const DIR_MODE: u32 = 0o700;

/// Creates `dir` and any missing parents, each mode 0700; an existing directory is left
/// as it is, with a warning if group or others may enter it.
pub fn create_dir_all(dir: &Path) -> io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    if dir.is_dir() {
        warn_if_open(dir);
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(DIR_MODE);
    }
    builder.create(dir)?;
    // The umask may have cleared bits of 0700, never added any; set it exactly.
    set_mode(dir, DIR_MODE)
}

/// Opens `path` for writing as a new file, mode 0600 (`create_new`: fails if it exists).
pub fn create_new(path: &Path) -> io::Result<std::fs::File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(FILE_MODE);
    }
    opts.open(path)
}

/// Writes `bytes` to `path` through a temporary file (mode 0600, a name of its own, so
/// concurrent writers do not meet) renamed into place.
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::sync::atomic::{AtomicU64, Ordering};
    static WRITES: AtomicU64 = AtomicU64::new(0);
    let n = WRITES.fetch_add(1, Ordering::Relaxed);
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{}-{n}.tmp", std::process::id()));
    let tmp = std::path::PathBuf::from(name);
    let written = create_new(&tmp).and_then(|mut file| file.write_all(bytes));
    match written.and_then(|()| std::fs::rename(&tmp, path)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// Narrows an existing file to mode 0600; a missing file is not an error.
pub fn restrict(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                if m.permissions().mode() & 0o077 != 0 {
                    return set_mode(path, FILE_MODE);
                }
            }
            Ok(())
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
        Ok(())
    }
}

fn warn_if_open(dir: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(dir)
            && m.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                dir = %dir.display(),
                mode = format!("{:o}", m.permissions().mode() & 0o777),
                "data directory is open to other users; chmod 700 it"
            );
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[expect(clippy::unwrap_used, reason = "a test helper")]
    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn created_files_and_directories_are_private() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("a/b");
        create_dir_all(&dir).unwrap();
        assert_eq!(mode(&root.path().join("a")), 0o700);
        assert_eq!(mode(&dir), 0o700);
        let file = dir.join("x.eml");
        write(&file, b"secret").unwrap();
        assert_eq!(mode(&file), 0o600);
        write(&file, b"again").unwrap();
        assert_eq!(std::fs::read(&file).unwrap(), b"again");
        assert_eq!(mode(&file), 0o600);
    }

    #[test]
    fn a_wider_file_is_narrowed() {
        let root = tempfile::tempdir().unwrap();
        let file = root.path().join("old.db");
        std::fs::write(&file, b"").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        restrict(&file).unwrap();
        assert_eq!(mode(&file), 0o600);
        restrict(&root.path().join("missing")).unwrap();
    }
}
