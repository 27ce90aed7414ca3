//! `linkemu`: the link emulator as a process, for shell scripts and
//! multi-process tests (for example inside `ip netns exec`).
//!
//! It binds both sides, prints one `ready a_listen=… b_listen=… realtime=…`
//! line on stdout (the real ports, useful with port 0; whether its threads
//! got real-time scheduling), then answers the command
//! lines of `egd_linkemu::control` read from stdin (replies on stdout) and,
//! with `--control PATH`, from each connection to a Unix stream socket
//! (replies on that connection). It runs until `quit`, a signal, or — with
//! `--quit-on-eof` — the end of stdin. Exit status: 0 after `quit`, 1 if it
//! cannot start, 2 for a bad command line.

#![forbid(unsafe_code)]
// A real-time test tool, not the protocol core: it runs threads (see lib.rs).
#![allow(clippy::disallowed_methods)]

use std::io::{self, BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc::{self, Sender};
use std::thread;
use std::time::Duration;

use clap::Parser;
use egd_linkemu::{Direction, Link, LinkConfig, QueueLimit, control};

/// Userspace UDP link emulator: forwards datagrams between two sockets with
/// independent per-direction delay, jitter, loss, MTU and link state,
/// changeable at run time.
///
/// Datagrams arriving on --a-listen go out from --b-listen to --b-peer;
/// datagrams arriving on --b-listen go out from --a-listen to --a-peer, or
/// to whoever last sent to --a-listen.
///
/// SPEC is key=value items separated by commas: delay=30ms, jitter=2ms
/// (uniform ±), loss=0.05 (or 5%), reorder=true|false, mtu=1400|none,
/// up=true|false. Unnamed keys default to an ideal link.
///
/// Run-time commands (stdin, or each line on the --control socket): `set
/// a_to_b delay=10ms loss=0`, `set b_to_a up=false`, `show`, `stats` (one
/// line of JSON), `addrs`, `help`, `quit`. One reply line per command.
#[derive(Debug, Parser)]
#[command(name = "linkemu", version)]
struct Args {
    /// Side A's address: the A end of the path sends here.
    #[arg(long, value_name = "ADDR")]
    a_listen: SocketAddr,
    /// Side B's address: datagrams to --b-peer leave from here.
    #[arg(long, value_name = "ADDR")]
    b_listen: SocketAddr,
    /// Where a→b datagrams go.
    #[arg(long, value_name = "ADDR")]
    b_peer: SocketAddr,
    /// A fixed destination for b→a datagrams, instead of the last sender to
    /// --a-listen.
    #[arg(long, value_name = "ADDR")]
    a_peer: Option<SocketAddr>,
    /// The a→b direction.
    #[arg(long, value_name = "SPEC", value_parser = parse_direction, default_value = "delay=0")]
    a_to_b: Direction,
    /// The b→a direction.
    #[arg(long, value_name = "SPEC", value_parser = parse_direction, default_value = "delay=0")]
    b_to_a: Direction,
    /// Seed of the loss and jitter draws.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Most datagrams in flight per direction; more are dropped.
    #[arg(long, value_name = "N", default_value_t = QueueLimit::DEFAULT.datagrams)]
    queue_datagrams: usize,
    /// Most payload bytes in flight per direction; more are dropped.
    #[arg(long, value_name = "BYTES", default_value_t = QueueLimit::DEFAULT.bytes)]
    queue_bytes: usize,
    /// Also accept commands on a Unix stream socket at this path (a stale
    /// socket file is replaced; removed again after `quit`).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Quit when stdin ends (by default the end of stdin only ends stdin
    /// commands, so `linkemu … </dev/null &` keeps running).
    #[arg(long)]
    quit_on_eof: bool,
}

fn parse_direction(text: &str) -> Result<Direction, egd_linkemu::SpecError> {
    text.parse()
}

/// Why `linkemu` could not start (printed after `linkemu: `).
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("{0}")]
    Spawn(#[from] egd_linkemu::SpawnError),
    #[error("stdout: {0}")]
    Stdout(io::Error),
    #[error("starting the {0} thread: {1}")]
    Thread(&'static str, io::Error),
    #[error("--control {}: exists and is not a socket", .0.display())]
    ControlNotSocket(PathBuf),
    #[error("--control {}: another process is listening there", .0.display())]
    ControlInUse(PathBuf),
    #[error("--control {}: cannot remove the stale socket: {}", .0.display(), .1)]
    ControlStale(PathBuf, io::Error),
    #[error("--control {}: {}", .0.display(), .1)]
    ControlBind(PathBuf, io::Error),
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("linkemu: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), StartError> {
    let link = Link::spawn(LinkConfig {
        a_listen: args.a_listen,
        a_peer: args.a_peer,
        b_listen: args.b_listen,
        b_peer: args.b_peer,
        a_to_b: args.a_to_b,
        b_to_a: args.b_to_a,
        seed: args.seed,
        queue_limit: QueueLimit {
            datagrams: args.queue_datagrams,
            bytes: args.queue_bytes,
        },
    })?;
    let link = Arc::new(link);
    let (quit_tx, quit_rx) = mpsc::channel::<()>();

    let listener = match &args.control {
        Some(path) => Some(bind_control(path)?),
        None => None,
    };
    let local = link.local_addrs();
    let mut out = io::stdout().lock();
    writeln!(
        out,
        "ready a_listen={} b_listen={} realtime={}",
        local.a,
        local.b,
        link.realtime()
    )
    .and_then(|()| out.flush())
    .map_err(StartError::Stdout)?;
    drop(out);

    if let Some(listener) = listener {
        let (link, quit) = (Arc::clone(&link), quit_tx.clone());
        thread::Builder::new()
            .name("linkemu control".into())
            .spawn(move || accept_loop(&listener, &link, &quit))
            .map_err(|e| StartError::Thread("control", e))?;
    }
    {
        let (link, quit) = (Arc::clone(&link), quit_tx.clone());
        let quit_on_eof = args.quit_on_eof;
        thread::Builder::new()
            .name("linkemu stdin".into())
            .spawn(move || stdin_loop(&link, &quit, quit_on_eof))
            .map_err(|e| StartError::Thread("stdin", e))?;
    }
    // `quit_tx` stays alive here, so the wait ends only on a real quit.
    let _ = quit_rx.recv();
    if let Some(path) = &args.control {
        let _ = std::fs::remove_file(path);
    }
    // Other threads may still block on stdin or a connection and hold the
    // link; returning from main ends them and the link's threads with the
    // process, and the kernel closes the sockets.
    Ok(())
}

fn stdin_loop(link: &Link, quit: &Sender<()>, quit_on_eof: bool) {
    let stdin = io::stdin().lock();
    let stdout = io::stdout();
    for line in stdin.lines() {
        let Ok(line) = line else { break };
        let response = control::execute(link, &line);
        if let Some(reply) = response.reply {
            let mut out = stdout.lock();
            // A closed stdout cannot be reported anywhere; keep serving.
            let _ = writeln!(out, "{reply}").and_then(|()| out.flush());
        }
        if response.quit {
            let _ = quit.send(());
            return;
        }
    }
    if quit_on_eof {
        let _ = quit.send(());
    }
}

/// Binds the control socket, replacing a stale socket file left by a killed
/// run but never another kind of file, nor a socket someone still serves.
fn bind_control(path: &Path) -> Result<UnixListener, StartError> {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if !meta.file_type().is_socket() {
            return Err(StartError::ControlNotSocket(path.to_owned()));
        }
        if UnixStream::connect(path).is_ok() {
            return Err(StartError::ControlInUse(path.to_owned()));
        }
        std::fs::remove_file(path).map_err(|e| StartError::ControlStale(path.to_owned(), e))?;
    }
    UnixListener::bind(path).map_err(|e| StartError::ControlBind(path.to_owned(), e))
}

fn accept_loop(listener: &UnixListener, link: &Arc<Link>, quit: &Sender<()>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else {
            // Out of file descriptors, say: wait instead of spinning.
            thread::sleep(Duration::from_millis(100));
            continue;
        };
        let (link, quit) = (Arc::clone(link), quit.clone());
        // One thread per connection: a test tool sees a handful of them.
        let _ = thread::Builder::new()
            .name("linkemu control conn".into())
            .spawn(move || serve_connection(stream, &link, &quit));
    }
}

fn serve_connection(stream: UnixStream, link: &Link, quit: &Sender<()>) {
    let Ok(mut writer) = stream.try_clone() else {
        return;
    };
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let response = control::execute(link, &line);
        if let Some(reply) = response.reply
            && writeln!(writer, "{reply}").is_err()
        {
            return;
        }
        if response.quit {
            let _ = quit.send(());
            return;
        }
    }
}
