//! Socket addresses of the socket kinds: creating sockets, binding (with stale
//! unix socket files removed first and our own removed on drop), connecting.

use std::io;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use rustix::io::Errno;
use rustix::net::sockopt::set_socket_reuseaddr;
use rustix::net::{
    AddressFamily, SocketAddrAny, SocketAddrUnix, SocketFlags, SocketType, socket_with,
};

/// A resolved `RecvAddr` / `SendAddr`.
#[derive(Clone, Debug)]
pub(crate) enum Addr {
    Inet(SocketAddr),
    /// `path` is None for an abstract name.
    Unix {
        addr: SocketAddrUnix,
        path: Option<PathBuf>,
    },
}

impl Addr {
    pub(crate) fn inet(addr: SocketAddr) -> Self {
        Addr::Inet(addr)
    }

    /// A unix path, or an abstract name written `@name`.
    pub(crate) fn unix(path: &Path) -> io::Result<Self> {
        let bytes = path.as_os_str().as_bytes();
        Ok(match bytes.strip_prefix(b"@") {
            Some(name) => Addr::Unix {
                addr: SocketAddrUnix::new_abstract_name(name)?,
                path: None,
            },
            None => Addr::Unix {
                addr: SocketAddrUnix::new(path)?,
                path: Some(path.to_path_buf()),
            },
        })
    }

    pub(crate) fn family(&self) -> AddressFamily {
        match self {
            Addr::Inet(SocketAddr::V4(_)) => AddressFamily::INET,
            Addr::Inet(SocketAddr::V6(_)) => AddressFamily::INET6,
            Addr::Unix { .. } => AddressFamily::UNIX,
        }
    }

    pub(crate) fn any(&self) -> SocketAddrAny {
        match self {
            Addr::Inet(a) => SocketAddrAny::from(*a),
            Addr::Unix { addr, .. } => SocketAddrAny::from(addr.clone()),
        }
    }

    /// A new non-blocking, close-on-exec socket of this address's family.
    pub(crate) fn socket(&self, ty: SocketType) -> io::Result<OwnedFd> {
        new_socket(self.family(), ty)
    }

    /// Binds `fd` here. For a unix path, a stale socket file is removed first
    /// (only a socket file nobody listens on); the returned guard removes the
    /// file we created when dropped.
    pub(crate) fn bind(&self, fd: &OwnedFd, ty: SocketType) -> io::Result<Option<BoundPath>> {
        match self {
            Addr::Inet(a) => {
                if ty == SocketType::STREAM {
                    // Restarting while old connections sit in TIME_WAIT must work.
                    set_socket_reuseaddr(fd, true)?;
                }
                rustix::net::bind(fd, a)?;
                Ok(None)
            }
            Addr::Unix { addr, path: None } => {
                rustix::net::bind(fd, addr)?;
                Ok(None)
            }
            Addr::Unix {
                addr,
                path: Some(path),
            } => {
                remove_stale(path, ty)?;
                rustix::net::bind(fd, addr)?;
                let meta = std::fs::symlink_metadata(path)?;
                Ok(Some(BoundPath {
                    path: path.clone(),
                    id: FileId::of(&meta),
                }))
            }
        }
    }
}

pub(crate) fn new_socket(family: AddressFamily, ty: SocketType) -> io::Result<OwnedFd> {
    Ok(socket_with(
        family,
        ty,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?)
}

/// A unix socket file this process created; removed on drop unless something
/// else has replaced it since.
#[derive(Debug)]
pub(crate) struct BoundPath {
    path: PathBuf,
    id: FileId,
}

/// Identifies one file: inode numbers are reused at once on tmpfs, so the
/// change time and type are compared too.
#[derive(Debug, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
    socket: bool,
}

impl FileId {
    fn of(meta: &std::fs::Metadata) -> Self {
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            socket: meta.file_type().is_socket(),
        }
    }
}

impl Drop for BoundPath {
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path).is_ok_and(|m| FileId::of(&m) == self.id);
        if ours {
            // Best effort: a leftover file is removed as stale by the next bind.
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes `path` if it is a socket file nobody is bound to (a crashed
/// process's leftover). Refuses to touch anything else.
fn remove_stale(path: &Path, ty: SocketType) -> io::Result<()> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!(
                "{} exists and is not a socket; not removing it",
                path.display()
            ),
        ));
    }
    let probe = new_socket(AddressFamily::UNIX, ty)?;
    match rustix::net::connect(&probe, &SocketAddrUnix::new(path)?) {
        Err(Errno::CONNREFUSED) => match std::fs::remove_file(path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        },
        Err(Errno::NOENT) => Ok(()),
        // Connected, backlog full (AGAIN) or bound by another socket type (PROTOTYPE).
        Ok(()) | Err(Errno::AGAIN | Errno::PROTOTYPE | Errno::INPROGRESS) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("{} is in use by a live socket", path.display()),
        )),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn abstract_names_use_go_spelling() {
        let a = Addr::unix(Path::new("@egd-test")).unwrap();
        assert!(
            matches!(&a, Addr::Unix { path: None, addr } if addr.abstract_name() == Some(&b"egd-test"[..]))
        );
        let a = Addr::unix(Path::new("/tmp/x.sock")).unwrap();
        assert!(matches!(a, Addr::Unix { path: Some(_), .. }));
    }

    #[test]
    fn stale_sockets_are_removed_live_ones_and_files_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        // A plain file is never removed.
        std::fs::write(&path, b"x").unwrap();
        let e = remove_stale(&path, SocketType::STREAM).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        std::fs::remove_file(&path).unwrap();
        // A live listener is in use.
        let live = UnixListener::bind(&path).unwrap();
        let e = remove_stale(&path, SocketType::STREAM).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        // Once closed, its file is stale and goes away.
        drop(live);
        assert!(path.exists());
        remove_stale(&path, SocketType::STREAM).unwrap();
        assert!(!path.exists());
        // Missing is fine.
        remove_stale(&path, SocketType::STREAM).unwrap();
    }

    #[test]
    fn bound_path_is_removed_on_drop_only_if_still_ours() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let addr = Addr::unix(&path).unwrap();
        let fd = addr.socket(SocketType::DGRAM).unwrap();
        let guard = addr.bind(&fd, SocketType::DGRAM).unwrap().unwrap();
        assert!(path.exists());
        drop(guard);
        assert!(!path.exists());

        let guard = addr
            .bind(&addr.socket(SocketType::DGRAM).unwrap(), SocketType::DGRAM)
            .unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, b"someone else's").unwrap();
        drop(guard);
        assert!(path.exists());
    }
}
