//! Least privilege (`egd --user USER[:GROUP]`): once the interface, the
//! sockets and the HTTP listeners exist, the daemon gives up root and every
//! capability it no longer needs.
//!
//! Drive it with [`Target::lookup`] and [`request`] from the command line,
//! then one [`after_setup`] call where a daemon has finished opening what
//! needs privileges (just before it reports READY to systemd). Without a
//! request `after_setup` does nothing.
//!
//! What a running daemon still does, and why it keeps what it keeps:
//! - reads its config on SIGHUP and writes it back for `SaveNewPeers`
//!   (a temporary file and a rename in the config's folder): plain file
//!   access, so the folder must belong to (or be writable by) the user;
//! - sends and receives on sockets it already has, binds NTP queries to
//!   ephemeral ports, reconnects stream/memif interfaces: no capability;
//! - interface, port and key changes need a restart (`reload.rs`), so a
//!   running edge does not change addresses or links today. An edge still
//!   keeps `CAP_NET_ADMIN` (permitted and effective) so that address and
//!   link changes through netlink stay possible; a supernode keeps nothing.
//!
//! The order matters, and capabilities belong to threads, not processes:
//! the bounding set is cut while still root (that needs `CAP_SETPCAP`);
//! then, with `PR_SET_KEEPCAPS` on this thread only, the group list, group
//! and user change — glibc applies `setresuid` to every thread, so threads
//! started earlier (HTTP, control, NTP) lose all their capabilities, while
//! this one keeps its permitted set, which is then cut to what it keeps.
//! Finally `PR_SET_NO_NEW_PRIVS` forbids regaining anything through exec.

use std::sync::OnceLock;

use caps::{CapSet, Capability, CapsHashSet};
use nix::unistd::{Gid, Group, Uid, User};

use crate::logging::target;

/// Whom to become: resolved at start, while `/etc/passwd` is readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
}

impl Target {
    /// Resolves `USER` (its primary group) or `USER:GROUP`; names or numbers.
    pub fn lookup(spec: &str) -> Result<Target, LookupError> {
        let (user, group) = match spec.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (spec, None),
        };
        let found = match user.parse::<u32>() {
            Ok(n) => User::from_uid(Uid::from_raw(n)),
            Err(_) => User::from_name(user),
        }
        .map_err(|source| LookupError::User {
            spec: spec.to_owned(),
            source,
        })?
        .ok_or_else(|| LookupError::NoUser(spec.to_owned()))?;
        let gid = match group {
            None => found.gid,
            Some(g) => match g.parse::<u32>() {
                Ok(n) => Gid::from_raw(n),
                Err(_) => {
                    Group::from_name(g)
                        .map_err(|source| LookupError::Group {
                            spec: spec.to_owned(),
                            source,
                        })?
                        .ok_or_else(|| LookupError::NoGroup(spec.to_owned()))?
                        .gid
                }
            },
        };
        if found.uid.is_root() {
            return Err(LookupError::Root(spec.to_owned()));
        }
        Ok(Target {
            user: found.name,
            uid: found.uid.as_raw(),
            gid: gid.as_raw(),
        })
    }
}

/// Why `--user` names no unprivileged user and group.
#[derive(Debug, thiserror::Error)]
pub enum LookupError {
    #[error("--user {spec}: cannot look the user up: {source}")]
    User { spec: String, source: nix::Error },
    #[error("--user {0}: no such user")]
    NoUser(String),
    #[error("--user {spec}: cannot look the group up: {source}")]
    Group { spec: String, source: nix::Error },
    #[error("--user {0}: no such group")]
    NoGroup(String),
    #[error("--user {0}: that is root; name an unprivileged user")]
    Root(String),
}

/// Dropping privileges to the `--user` failed.
#[derive(Debug, thiserror::Error)]
#[error("dropping privileges to {user}: {reason}")]
pub struct PrivdropError {
    user: String,
    #[source]
    reason: DropError,
}

/// The step of the drop that failed.
#[derive(Debug, thiserror::Error)]
pub enum DropError {
    #[error("{what}: {source}")]
    Caps {
        what: &'static str,
        source: caps::errors::CapsError,
    },
    #[error("{what}: {source}")]
    Sys {
        what: &'static str,
        source: nix::Error,
    },
    #[error("{0}")]
    ReadCaps(#[source] caps::errors::CapsError),
    /// The real/effective uid and gid after the change.
    #[error("ids are {0} after the change")]
    Ids(String),
    #[error("capabilities left: {0}")]
    CapsLeft(String),
    #[error("setuid(0) still succeeds")]
    SetuidRoot,
}

/// Which daemon is dropping: decides the capabilities kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Keeps `CAP_NET_ADMIN` (see the module docs).
    Edge,
    /// Keeps nothing: it has no interface.
    Super,
}

impl Role {
    fn keeps(self) -> CapsHashSet {
        match self {
            Role::Edge => [Capability::CAP_NET_ADMIN].into_iter().collect(),
            Role::Super => CapsHashSet::new(),
        }
    }
}

static REQUESTED: OnceLock<Target> = OnceLock::new();

/// Asks the daemon started next in this process to drop to `target` once
/// it is set up (the command line calls this; a second call is ignored).
pub fn request(target: Target) {
    let _ = REQUESTED.set(target);
}

/// Drops to the requested user, keeping `role`'s capabilities; does nothing
/// without a request. An error means the process may still be privileged:
/// the daemon must not run on.
pub fn after_setup(role: Role) -> Result<(), PrivdropError> {
    let Some(target) = REQUESTED.get() else {
        return Ok(());
    };
    drop_to(target, &role.keeps()).map_err(|reason| PrivdropError {
        user: target.user.clone(),
        reason,
    })?;
    tracing::info!(
        target: target::NORMAL,
        "running as {} (uid {}, gid {}), capabilities kept: {}",
        target.user,
        target.uid,
        target.gid,
        describe(&role.keeps())
    );
    Ok(())
}

fn describe(caps: &CapsHashSet) -> String {
    if caps.is_empty() {
        return "none".to_owned();
    }
    let mut names: Vec<String> = caps.iter().map(ToString::to_string).collect();
    names.sort();
    names.join(", ")
}

fn drop_to(target: &Target, keep: &CapsHashSet) -> Result<(), DropError> {
    let (uid, gid) = (Uid::from_raw(target.uid), Gid::from_raw(target.gid));
    // The bounding set first: cutting it needs CAP_SETPCAP, which goes with
    // root. Without it (e.g. a systemd unit already bounded the process) the
    // set stays as it was given.
    if caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)
        .map_err(err("read capabilities"))?
    {
        let bounding = caps::read(None, CapSet::Bounding).map_err(err("read the bounding set"))?;
        for cap in bounding.difference(keep) {
            caps::drop(None, CapSet::Bounding, *cap).map_err(err("cut the bounding set"))?;
        }
    }
    caps::clear(None, CapSet::Ambient).map_err(err("clear the ambient set"))?;
    caps::clear(None, CapSet::Inheritable).map_err(err("clear the inheritable set"))?;
    if Uid::current() != uid || Uid::effective() != uid || Gid::current() != gid {
        caps::securebits::set_keepcaps(true).map_err(err("set PR_SET_KEEPCAPS"))?;
        nix::unistd::setgroups(&[gid]).map_err(sys("setgroups"))?;
        nix::unistd::setresgid(gid, gid, gid).map_err(sys("setresgid"))?;
        nix::unistd::setresuid(uid, uid, uid).map_err(sys("setresuid"))?;
        caps::securebits::set_keepcaps(false).map_err(err("clear PR_SET_KEEPCAPS"))?;
    }
    // Effective before permitted: effective must stay a subset of permitted.
    let permitted = caps::read(None, CapSet::Permitted).map_err(err("read the permitted set"))?;
    let kept: CapsHashSet = keep.intersection(&permitted).copied().collect();
    caps::set(None, CapSet::Effective, &kept).map_err(err("set the effective set"))?;
    caps::set(None, CapSet::Permitted, &kept).map_err(err("set the permitted set"))?;
    nix::sys::prctl::set_no_new_privs().map_err(sys("PR_SET_NO_NEW_PRIVS"))?;
    verify(uid, gid, keep)
}

/// Maps a capability call's error to a message naming what was attempted.
fn err(what: &'static str) -> impl Fn(caps::errors::CapsError) -> DropError {
    move |source| DropError::Caps { what, source }
}

fn sys(what: &'static str) -> impl Fn(nix::Error) -> DropError {
    move |source| DropError::Sys { what, source }
}

/// Checks the kernel's view: ids changed everywhere, and root cannot be
/// taken back.
fn verify(uid: Uid, gid: Gid, keep: &CapsHashSet) -> Result<(), DropError> {
    let (ru, eu) = (Uid::current(), Uid::effective());
    let (rg, eg) = (Gid::current(), Gid::effective());
    if ru != uid || eu != uid || rg != gid || eg != gid {
        return Err(DropError::Ids(format!("{ru}/{eu}:{rg}/{eg}")));
    }
    let permitted = caps::read(None, CapSet::Permitted).map_err(DropError::ReadCaps)?;
    if !permitted.is_subset(keep) {
        return Err(DropError::CapsLeft(describe(&permitted)));
    }
    if nix::unistd::setuid(Uid::from_raw(0)).is_ok() {
        return Err(DropError::SetuidRoot);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn looks_up_users_groups_and_numbers() {
        // Debian's and most systems' `nobody`; root is refused.
        let Ok(nobody) = Target::lookup("nobody") else {
            eprintln!("skipped: no user `nobody` here");
            return;
        };
        assert_ne!(nobody.uid, 0);
        let numeric = Target::lookup(&format!("{}:{}", nobody.uid, nobody.gid)).unwrap();
        assert_eq!((numeric.uid, numeric.gid), (nobody.uid, nobody.gid));
        assert!(
            Target::lookup("root")
                .unwrap_err()
                .to_string()
                .contains("root")
        );
        assert!(
            Target::lookup("0")
                .unwrap_err()
                .to_string()
                .contains("root")
        );
        assert!(
            Target::lookup("no-such-user-egd")
                .unwrap_err()
                .to_string()
                .contains("no such user")
        );
        assert!(
            Target::lookup("nobody:no-such-group-egd")
                .unwrap_err()
                .to_string()
                .contains("no such group")
        );
    }

    #[test]
    fn an_edge_keeps_net_admin_and_a_supernode_nothing() {
        assert_eq!(describe(&Role::Edge.keeps()), "CAP_NET_ADMIN");
        assert_eq!(describe(&Role::Super.keeps()), "none");
    }
}
