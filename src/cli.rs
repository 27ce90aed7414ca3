//! The command line (clap): `egd --config FILE [--mode …]`, `egd --check`,
//! `egd --example`, `egd genkey`, `egd pubkey`.
//!
//! [`run`] does what was asked and returns the process exit status: 0 for
//! success, 2 for a bad configuration or a request egd cannot serve (yet),
//! 1 for an operating-system failure.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{self, Config, FileKind, example};
use crate::wg::PrivateKey;
use crate::wg::keys;

/// Full-mesh Layer-2 VPN on the WireGuard protocol, routed by one-way latency.
#[derive(Debug, Parser)]
#[command(name = "egd", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// Configuration file (for `--mode solve`, a latency matrix).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to run; inferred from the file when absent.
    #[arg(long, value_enum)]
    pub mode: Option<Mode>,
    /// With `--mode gencfg`: which kind of network to generate.
    #[arg(long, value_enum)]
    pub cfgmode: Option<CfgMode>,
    /// Socket back-end: io_uring (`linux` is accepted as an alias) or portable std sockets.
    #[arg(long, value_enum, default_value_t = Bind::Uring)]
    pub bind: Bind,
    /// Do not open the WireGuard UAPI socket.
    #[arg(long)]
    pub no_uapi: bool,
    /// Data-path threads for a tap edge: tap queues, UDP sockets and
    /// reactors, one each per thread (default: `EGD_THREADS`, else one per
    /// CPU). Other interface kinds always run one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=256))]
    pub threads: Option<u16>,
    /// Print an example configuration for `--mode edge` or `--mode super`.
    #[arg(long)]
    pub example: bool,
    /// Validate the configuration and exit: 0 if it is usable, 2 if not.
    #[arg(long)]
    pub check: bool,
    /// Serve Prometheus metrics at http://ADDR/metrics (overrides the
    /// config's `Metrics.Listen`).
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// Once the interface, sockets and listeners are open, switch to this
    /// user (and its group, or GROUP) and keep only the capabilities still
    /// needed: `CAP_NET_ADMIN` on an edge, none on a supernode.
    #[arg(long, value_name = "USER[:GROUP]")]
    pub user: Option<String>,
    /// With `--mode solve`: print the hop list from SRC to DST.
    #[arg(long, num_args = 2, value_names = ["SRC", "DST"])]
    pub path: Option<Vec<u16>>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print a new private key (WireGuard base64), like `wg genkey`.
    Genkey,
    /// Read a private key on stdin, print its public key, like `wg pubkey`.
    Pubkey,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Mode {
    Edge,
    Super,
    Solve,
    Gencfg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CfgMode {
    Static,
    Super,
    P2p,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Bind {
    #[value(alias = "linux")]
    Uring,
    Std,
}

/// Exit status for a configuration or usage problem (like `nginx -t`).
const EXIT_CONFIG: u8 = 2;
/// Exit status for a failure of the machine (I/O, randomness).
const EXIT_OS: u8 = 1;

/// Runs the command line; see the module docs for exit statuses.
pub fn run(cli: Cli) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure { status, message }) => {
            let _ = writeln!(io::stderr(), "{message}");
            ExitCode::from(status)
        }
    }
}

struct Failure {
    status: u8,
    message: String,
}

fn usage(message: impl Into<String>) -> Failure {
    Failure {
        status: EXIT_CONFIG,
        message: message.into(),
    }
}

fn os(message: impl Into<String>) -> Failure {
    Failure {
        status: EXIT_OS,
        message: message.into(),
    }
}

fn out(text: &str) -> Result<(), Failure> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| os(format!("cannot write to stdout: {e}")))
}

fn dispatch(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Some(Command::Genkey) => return genkey(),
        Some(Command::Pubkey) => return pubkey(),
        None => {}
    }
    if cli.example {
        return match cli.mode {
            Some(Mode::Edge) | None => out(example::EDGE),
            Some(Mode::Super) => out(example::SUPER),
            Some(other) => Err(usage(format!(
                "--example is available for --mode edge and --mode super, not {other:?}"
            ))),
        };
    }
    let Some(path) = cli.config.as_deref() else {
        return Err(usage("--config FILE is required (see egd --help)"));
    };
    if cli.mode == Some(Mode::Solve) {
        return solve(path, cli.path.as_deref());
    }
    let forced = match cli.mode {
        Some(Mode::Edge) => Some(FileKind::Edge),
        Some(Mode::Super) => Some(FileKind::Super),
        Some(Mode::Gencfg) => Some(FileKind::Generator),
        Some(Mode::Solve) | None => None,
    };
    let loaded = config::load_file(path, forced).map_err(|e| usage(e.to_string()))?;
    crate::daemon::logging::init(loaded.config.log().as_ref());
    for w in &loaded.warnings {
        tracing::warn!(target: crate::logging::target::INTERNAL, "{w}");
        if cli.check {
            let _ = writeln!(io::stderr(), "warning: {w}");
        }
    }
    if cli.check {
        return out(&format!(
            "{}: ok ({})\n",
            path.display(),
            describe(&loaded.config)
        ));
    }
    if let Some(spec) = &cli.user {
        crate::daemon::privdrop::request(
            crate::daemon::privdrop::Target::lookup(spec).map_err(|e| usage(e.to_string()))?,
        );
    }
    let opts = crate::daemon::edge::RunOptions {
        backend: match cli.bind {
            Bind::Uring => egd_uring::Backend::Uring,
            Bind::Std => egd_uring::Backend::Std,
        },
        metrics_listen: cli.metrics_listen,
        config_path: Some(path.to_path_buf()),
        uapi: !cli.no_uapi,
        threads: match cli.threads {
            Some(n) => Some(usize::from(n)),
            None => threads_from_env()?,
        },
    };
    match loaded.config {
        Config::Edge(edge) => crate::daemon::edge::run(&edge, &opts).map_err(|e| os(e.to_string())),
        Config::Super(sup) => {
            crate::daemon::super_node::run(&sup, &opts).map_err(|e| os(e.to_string()))
        }
        Config::Generator(generator) => match cli.cfgmode {
            None => Err(usage("--mode gencfg needs --cfgmode static, super or p2p")),
            Some(m) => gencfg(path, &generator, m),
        },
    }
}

/// `EGD_THREADS` (what `--threads` takes), when set.
fn threads_from_env() -> Result<Option<usize>, Failure> {
    let Some(v) = std::env::var_os("EGD_THREADS") else {
        return Ok(None);
    };
    match v.to_str().and_then(|s| s.parse::<usize>().ok()) {
        Some(n @ 1..=256) => Ok(Some(n)),
        _ => Err(usage(format!(
            "EGD_THREADS={v:?}: expected a number from 1 to 256"
        ))),
    }
}

fn describe(config: &Config) -> String {
    match config {
        Config::Edge(e) => format!(
            "edge {} config, {:?} mode, {} peer(s)",
            e.node_id,
            e.mode(),
            e.peers.len()
        ),
        Config::Super(s) => format!("supernode config, {} peer(s)", s.peers.len()),
        Config::Generator(g) => format!("gencfg generator, network {:?}", g.network_name),
    }
}

/// `--mode solve`: the next-hop and distance tables for a latency matrix
/// (docs/system.md#solve), or with `--path SRC DST` the hops between two nodes.
fn solve(path: &std::path::Path, hops: Option<&[u16]>) -> Result<(), Failure> {
    let text =
        read_bounded(path).map_err(|e| usage(format!("{}:0: cannot read: {e}", path.display())))?;
    let graph = egd_routing::parse_matrix(&text)
        .map_err(|e| usage(format!("{}:{}: {}", path.display(), e.line, e.reason)))?;
    let solution =
        egd_routing::solve(&graph).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    match hops {
        None => out(&egd_routing::render_yaml(&solution)),
        Some(&[src, dst]) => {
            let id = |v: u16| {
                crate::NodeId::new(v).ok_or_else(|| usage(format!("--path: {v} is not a node id")))
            };
            let line = egd_routing::render_path(&solution, id(src)?, id(dst)?)
                .map_err(|e| usage(format!("--path {src} {dst}: {e}")))?;
            out(&format!("{line}\n"))
        }
        Some(_) => Err(usage("--path takes two node ids: SRC DST")),
    }
}

/// Largest matrix file read: 2048 nodes with long numbers fit easily.
const MAX_MATRIX_BYTES: u64 = 256 * 1024 * 1024;

fn read_bounded(path: &std::path::Path) -> io::Result<String> {
    let mut text = String::new();
    std::fs::File::open(path)?
        .take(MAX_MATRIX_BYTES)
        .read_to_string(&mut text)?;
    Ok(text)
}

/// `--mode gencfg`: generates the network the generator file at `path`
/// describes (config/gen/) and writes it into its `Config output
/// dir` (relative to the generator's folder, as upstream), files 0600.
fn gencfg(
    path: &std::path::Path,
    generator: &config::GenConfig,
    mode: CfgMode,
) -> Result<(), Failure> {
    let mode = match mode {
        CfgMode::Static => config::GenMode::Static,
        CfgMode::Super => config::GenMode::Super,
        CfgMode::P2p => config::GenMode::P2p,
    };
    let templates = config::read_templates(generator).map_err(|e| usage(e.to_string()))?;
    let seed = crate::daemon::entropy::random_32()
        .map_err(|e| os(format!("cannot read OS randomness: {e}")))?;
    let network = config::generate(path, generator, &templates, mode, seed)
        .map_err(|e| usage(e.to_string()))?;
    let dir = path
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join(&generator.output_dir);
    for written in write_network(&dir, &network.files, generator.overwrite)? {
        out(&format!("{}\n", written.display()))?;
    }
    Ok(())
}

/// Writes `files` into `dir` (created 0700 if missing), each 0600 since they
/// hold private keys. Without `overwrite`, refuses before writing anything
/// if any of them exists.
fn write_network(
    dir: &std::path::Path,
    files: &[config::GeneratedFile],
    overwrite: bool,
) -> Result<Vec<PathBuf>, Failure> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| os(format!("{}: cannot create the folder: {e}", dir.display())))?;
    let paths: Vec<PathBuf> = files.iter().map(|f| dir.join(&f.name)).collect();
    if !overwrite && let Some(p) = paths.iter().find(|p| p.symlink_metadata().is_ok()) {
        return Err(usage(format!(
            "{} exists; nothing was written (set `Enable generated config overwrite: true` \
             to replace generated files)",
            p.display()
        )));
    }
    for (file, p) in files.iter().zip(&paths) {
        let write = || -> io::Result<()> {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(p)?;
            f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            f.write_all(file.text.as_bytes())?;
            f.sync_all()
        };
        write().map_err(|e| os(format!("{}: cannot write: {e}", p.display())))?;
    }
    Ok(paths)
}

fn genkey() -> Result<(), Failure> {
    let bytes = crate::daemon::entropy::random_32()
        .map_err(|e| os(format!("cannot read OS randomness: {e}")))?;
    out(&format!(
        "{}\n",
        keys::private_key_from_random(bytes).to_base64()
    ))
}

fn pubkey() -> Result<(), Failure> {
    let mut text = String::new();
    io::stdin()
        .take(1024)
        .read_to_string(&mut text)
        .map_err(|e| os(format!("cannot read stdin: {e}")))?;
    let private = PrivateKey::parse(text.trim())
        .map_err(|e| usage(format!("stdin: not a private key: {e}")))?;
    out(&format!("{}\n", keys::public_key(&private).to_base64()))
}
