//! Replacing a file atomically: readers see the old contents or the new,
//! never a mix, and a crash or a full disk leaves the old file in place.
//!
//! [`replace_file`] writes a temporary file beside the target (same folder,
//! so the rename cannot cross file systems; a unique name made with
//! `O_EXCL`), writes and fsyncs it, gives it the target's permission bits and,
//! where allowed, its owner (a config holds private keys: a new file gets
//! 0600), renames it over the target and fsyncs the folder so the rename
//! itself is durable. A symlinked target is followed: the file it points to
//! is replaced, the link stays.
//!
//! A writer killed between creating its temporary file and the rename
//! (`kill -9`, power loss) leaves that file behind; the target is intact.
//! Every write first removes such leftovers of processes that no longer
//! run, so they cannot pile up across restarts.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::write_error::WriteError;

/// Permission bits of a config file that did not exist before: it holds
/// private keys.
pub const NEW_FILE_MODE: u32 = 0o600;

/// How many temporary names to try before giving up (another writer holding
/// all of them means something is badly wrong).
const TEMP_NAME_TRIES: u32 = 64;

/// Makes every temporary name of this process unique, with the pid.
static TEMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// Replaces `path`'s contents with `contents` atomically (see the module
/// docs). On error the original file is unchanged and no temporary file is
/// left behind.
pub fn replace_file(path: &Path, contents: &[u8]) -> Result<(), WriteError> {
    replace_file_with(path, contents, |_| Ok(()))
}

/// [`replace_file`] with a hook run just before the rename, which tests use
/// to make the write fail at its most delicate point.
pub fn replace_file_with(
    path: &Path,
    contents: &[u8],
    before_rename: impl FnOnce(&Path) -> io::Result<()>,
) -> Result<(), WriteError> {
    let io_err = |action: &'static str, source: io::Error| WriteError::Io {
        file: path.to_path_buf(),
        action,
        source,
    };
    let target = resolve_symlink(path).map_err(|e| io_err("follow the symlink", e))?;
    let (mode, owner) = match fs::metadata(&target) {
        Ok(m) => (m.permissions().mode() & 0o7777, Some((m.uid(), m.gid()))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => (NEW_FILE_MODE, None),
        Err(e) => return Err(io_err("read its permissions", e)),
    };
    if owner.is_some() && mode & 0o222 == 0 {
        // A file nobody may write (e.g. a config shipped read-only) stays as
        // it is, also for root, whom the kernel would let replace it.
        return Err(io_err(
            "replace it",
            io::Error::new(
                io::ErrorKind::PermissionDenied,
                "the file is read-only (no write permission bit)",
            ),
        ));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = target
        .file_name()
        .ok_or_else(|| io_err("write it", io::Error::other("the path has no file name")))?
        .to_string_lossy()
        .into_owned();
    remove_stale_temps(&dir, &name);
    let (temp_path, mut temp) =
        create_temp(&dir, &name).map_err(|e| io_err("create a temporary file beside it", e))?;
    let result = (|| {
        temp.write_all(contents)
            .map_err(|e| io_err("write a temporary file beside it", e))?;
        temp.set_permissions(fs::Permissions::from_mode(mode))
            .map_err(|e| io_err("set the permissions of a temporary file beside it", e))?;
        if let Some((uid, gid)) = owner {
            // Only root may give a file away; anyone else keeps the file
            // their own, which is what they could write anyway.
            let _ = std::os::unix::fs::fchown(&temp, Some(uid), Some(gid));
        }
        temp.sync_all()
            .map_err(|e| io_err("flush a temporary file beside it", e))?;
        before_rename(&temp_path).map_err(|e| io_err("replace it", e))?;
        fs::rename(&temp_path, &target).map_err(|e| io_err("replace it", e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp_path);
    }
    result?;
    File::open(&dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("flush its folder", e))
}

/// The file a symlink (chain) points to, or `path` itself.
fn resolve_symlink(path: &Path) -> io::Result<PathBuf> {
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path),
        _ => Ok(path.to_path_buf()),
    }
}

/// The prefix of every temporary name for the file `name`.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.egd-tmp.")
}

/// Removes temporary files for `name` in `dir` left by writers that died
/// before their rename: those whose pid (in the name) is not a running
/// process. Failures are ignored; the write goes on either way.
fn remove_stale_temps(dir: &Path, name: &str) {
    let prefix = temp_prefix(name);
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let Some(rest) = file.to_str().and_then(|f| f.strip_prefix(&prefix)) else {
            continue;
        };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn create_temp(dir: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    let mut last = io::Error::other("no temporary name tried");
    for _ in 0..TEMP_NAME_TRIES {
        let n = TEMP_COUNTER.fetch_add(1, Ordering::Relaxed);
        let p = dir.join(format!("{}{pid}.{n}", temp_prefix(name)));
        match OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(NEW_FILE_MODE)
            .open(&p)
        {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("egd-tmp"))
            .collect()
    }

    #[test]
    fn replaces_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o640)).unwrap();
        replace_file(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o640
        );
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn read_only_files_are_left_alone() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("ro.yaml");
        fs::write(&p, "old").unwrap();
        fs::set_permissions(&p, fs::Permissions::from_mode(0o444)).unwrap();
        let e = replace_file(&p, b"new").unwrap_err();
        assert!(e.to_string().contains("read-only"), "{e}");
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert!(leftovers(d.path()).is_empty());
    }

    #[test]
    fn a_new_file_is_private() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("n.yaml");
        replace_file(&p, b"x").unwrap();
        assert_eq!(
            fs::metadata(&p).unwrap().permissions().mode() & 0o7777,
            0o600
        );
    }

    #[test]
    fn failure_before_rename_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        fs::write(&p, "old").unwrap();
        let e = replace_file_with(&p, b"new", |temp| {
            assert_eq!(fs::read_to_string(temp).unwrap(), "new");
            Err(io::Error::other("disk on fire"))
        })
        .unwrap_err();
        assert!(e.to_string().contains("c.yaml"), "{e}");
        assert!(e.to_string().contains("disk on fire"), "{e}");
        assert_eq!(fs::read_to_string(&p).unwrap(), "old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn leftovers_of_dead_writers_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.yaml");
        fs::write(&p, "old").unwrap();
        // A pid above the kernel's limit (4194304) never runs.
        let dead = dir.path().join(".c.yaml.egd-tmp.99999999.3");
        let live = dir
            .path()
            .join(format!(".c.yaml.egd-tmp.{}.999", std::process::id()));
        let other = dir.path().join(".other.yaml.egd-tmp.99999999.0");
        for f in [&dead, &live, &other] {
            fs::write(f, "half a conf").unwrap();
        }
        replace_file(&p, b"new").unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "new");
        assert!(!dead.exists(), "a dead writer's temporary file is removed");
        assert!(live.exists(), "a running writer's is not");
        assert!(other.exists(), "another file's is not");
    }

    #[test]
    fn missing_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/c.yaml");
        let e = replace_file(&p, b"x").unwrap_err();
        assert!(e.to_string().contains("no/such/c.yaml"), "{e}");
    }

    #[test]
    fn symlinks_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        let link = dir.path().join("link.yaml");
        fs::write(&real, "old").unwrap();
        std::os::unix::fs::symlink(&real, &link).unwrap();
        replace_file(&link, b"new").unwrap();
        assert!(
            fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(fs::read_to_string(&real).unwrap(), "new");
    }
}
