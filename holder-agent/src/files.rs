//! The wallet's files on disk are its own: directories it creates (or uses) are mode 0700
//! and the files in them 0600 — the SQLite database with its `-wal` and `-shm` files, the
//! seal key, and the development outbox, whose emails hold confirmation and password-reset
//! links. The process umask is left alone (the launcher runs other services in the same
//! process); each path is created with its mode, and an existing one is narrowed.

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Mode of the wallet's directories.
pub const DIR_MODE: u32 = 0o700;
/// Mode of the wallet's files.
pub const FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) with mode 0700; an existing `dir` loses its group
/// and other permissions.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)?;
    narrow(dir, DIR_MODE)
}

/// Removes group and other permissions from an existing `path` (missing: nothing to do).
fn narrow(path: &Path, mode: u32) -> std::io::Result<()> {
    match std::fs::metadata(path) {
        Ok(m) if m.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, Permissions::from_mode(m.permissions().mode() & mode))
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// The database file of a `sqlite:` URL, if it names a file (not `:memory:`).
pub fn sqlite_file(database_url: &str) -> Option<PathBuf> {
    if !database_url.starts_with("sqlite:")
        || database_url.contains(":memory:")
        || database_url.contains("mode=memory")
    {
        return None;
    }
    let opts = sqlx::sqlite::SqliteConnectOptions::from_str(database_url).ok()?;
    let file = opts.get_filename();
    (file.as_os_str() != ":memory:" && !file.as_os_str().is_empty()).then(|| file.to_path_buf())
}

/// Before the database opens: its directory 0700 and its file created 0600, so SQLite
/// (which gives the `-wal` and `-shm` files the database file's mode) never makes a
/// readable one.
pub fn prepare_sqlite(database_url: &str) -> std::io::Result<()> {
    let Some(file) = sqlite_file(database_url) else {
        return Ok(());
    };
    if let Some(dir) = file.parent() {
        private_dir(dir)?;
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(FILE_MODE)
        .open(&file)?;
    narrow_sqlite(database_url)
}

/// The database file and its `-wal` and `-shm` files narrowed to 0600 (a database made
/// before this version was 0644).
pub fn narrow_sqlite(database_url: &str) -> std::io::Result<()> {
    let Some(file) = sqlite_file(database_url) else {
        return Ok(());
    };
    for suffix in ["", "-wal", "-shm"] {
        let mut name = file.clone().into_os_string();
        name.push(suffix);
        narrow(Path::new(&name), FILE_MODE)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    }

    /// Whatever the umask, the wallet's directories are 0700 and its files 0600: the
    /// database (and its WAL files), the seal key and the outbox's emails with their links.
    #[tokio::test]
    async fn the_wallets_files_are_private() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::set_permissions(tmp.path(), Permissions::from_mode(0o755)).unwrap();
        let data = tmp.path().join("data");
        let url = format!("sqlite://{}/wallet.db", data.display());
        let config = crate::Config::for_dir(data.clone(), "http://127.0.0.1:8082".into(), url);
        let (app, _) = crate::App::open(config, protocol::clock::Clock::system())
            .await
            .unwrap();
        let now = app.clock.now();
        app.register_open(
            "ana@example.org",
            "correct horse battery",
            "correct horse battery",
            "en",
            None,
            now,
        )
        .await
        .unwrap();
        let outbox = data.join("wallet-outbox");
        // The email, its HTML part and its index entry.
        let mut emails: Vec<PathBuf> = std::fs::read_dir(&outbox)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        emails.sort();
        let extensions: Vec<_> = emails.iter().filter_map(|e| e.extension()).collect();
        assert_eq!(extensions, ["eml", "html", "json"], "{emails:?}");
        for dir in [&data, &outbox] {
            assert_eq!(mode(dir), DIR_MODE, "{}", dir.display());
        }
        for file in [
            data.join("wallet.db"),
            data.join("wallet.db-wal"),
            data.join("wallet.db-shm"),
            data.join("wallet-seal.key"),
        ]
        .into_iter()
        .chain(emails)
        {
            assert_eq!(mode(&file), FILE_MODE, "{}", file.display());
        }
        app.store.db.close().await;

        // Files an older version left readable are narrowed when the wallet opens them.
        for path in [&data, &outbox] {
            std::fs::set_permissions(path, Permissions::from_mode(0o755)).unwrap();
        }
        for path in [data.join("wallet.db"), data.join("wallet-seal.key")] {
            std::fs::set_permissions(&path, Permissions::from_mode(0o644)).unwrap();
        }
        let url = format!("sqlite://{}/wallet.db", data.display());
        let config = crate::Config::for_dir(data.clone(), "http://127.0.0.1:8082".into(), url);
        let (app, _) = crate::App::open(config, protocol::clock::Clock::system())
            .await
            .unwrap();
        assert_eq!(mode(&data), DIR_MODE);
        assert_eq!(mode(&outbox), DIR_MODE);
        assert_eq!(mode(&data.join("wallet.db")), FILE_MODE);
        assert_eq!(mode(&data.join("wallet-seal.key")), FILE_MODE);
        app.store.db.close().await;
    }

    #[test]
    fn only_sqlite_files_are_prepared() {
        assert_eq!(
            sqlite_file("sqlite://data/wallet.db"),
            Some(PathBuf::from("data/wallet.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("postgres://u@localhost/db"), None);
    }
}
