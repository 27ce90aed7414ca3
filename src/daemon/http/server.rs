//! The HTTP server thread: binds the listeners, then runs a single-threaded
//! tokio runtime that accepts connections (optionally TLS) and hands each
//! request to the router in `routes`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot};
use tokio_rustls::TlsAcceptor;

use super::config::{HttpConfig, normalise_prefix};
use super::error::ServeError;
use super::routes::{Apis, router};
use super::{listen, tls};
use crate::control::api::SuperApi;
use crate::logging::target;

/// Connections served at once across all listeners; more are closed at
/// accept (the APIs are a control plane: a few dozen edges and an operator).
const MAX_CONNECTIONS: usize = 512;
/// Time a client has for the TLS handshake and for sending request headers.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Pause after a failed accept (e.g. out of file descriptors) before the
/// next, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The running server. Dropping it stops the server and waits for its
/// thread; open connections are closed.
#[derive(Debug)]
pub struct HttpHandle {
    edge: Vec<SocketAddr>,
    manage: Vec<SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl HttpHandle {
    /// Where the Edge API is served (the bound addresses, so port 0 reads
    /// back as the port the kernel chose).
    pub fn edge_addrs(&self) -> &[SocketAddr] {
        &self.edge
    }

    /// Where the Manage API is served; the same as [`Self::edge_addrs`] when
    /// one listener set serves both.
    pub fn manage_addrs(&self) -> &[SocketAddr] {
        &self.manage
    }

    /// Stops the server and waits for its thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!(target: target::INTERNAL, "HTTP API thread panicked");
        }
    }
}

impl Drop for HttpHandle {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Binds every listener of `cfg` and starts serving on a new thread.
/// Errors (bad prefix, unreadable TLS files, a port in use) come back here,
/// before anything is served.
pub fn spawn(cfg: HttpConfig, api: Arc<dyn SuperApi>) -> Result<HttpHandle, ServeError> {
    let prefix = normalise_prefix(&cfg.api_prefix)?;
    let tls = cfg.tls.as_ref().map(tls::acceptor).transpose()?;
    let shared = same_addresses(&cfg.edge_listen, &cfg.manage_listen);
    let edge_std = listen::bind_all(&cfg.edge_listen)?;
    let manage_std = if shared {
        Vec::new()
    } else {
        listen::bind_all(&cfg.manage_listen)?
    };
    let local = |ls: &[std::net::TcpListener]| {
        ls.iter()
            .map(|l| l.local_addr().map_err(ServeError::Listener))
            .collect::<Result<Vec<_>, _>>()
    };
    let edge = local(&edge_std)?;
    let manage = if shared {
        edge.clone()
    } else {
        local(&manage_std)?
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(ServeError::Runtime)?;
    // Registering the sockets with the runtime needs its context; doing it
    // here keeps every error on the caller's side.
    let listeners = {
        let _ctx = runtime.enter();
        let edge_apis = if shared { Apis::BOTH } else { Apis::EDGE };
        let mut all = Vec::new();
        for (l, apis) in edge_std
            .into_iter()
            .map(|l| (l, edge_apis))
            .chain(manage_std.into_iter().map(|l| (l, Apis::MANAGE)))
        {
            let l = TcpListener::from_std(l).map_err(ServeError::Listener)?;
            all.push((l, apis));
        }
        all
    };

    let (stop, stopped) = oneshot::channel();
    let thread = std::thread::Builder::new()
        .name("egd-http".into())
        .spawn(move || run(runtime, listeners, prefix, api, tls, stopped))
        .map_err(ServeError::Thread)?;
    for addr in edge
        .iter()
        .chain(if shared { &[][..] } else { &manage[..] })
    {
        tracing::info!(target: target::NORMAL, "HTTP API listening on {addr}");
    }
    Ok(HttpHandle {
        edge,
        manage,
        stop: Some(stop),
        thread: Some(thread),
    })
}

fn same_addresses(a: &[SocketAddr], b: &[SocketAddr]) -> bool {
    let sorted = |x: &[SocketAddr]| {
        let mut v = x.to_vec();
        v.sort();
        v.dedup();
        v
    };
    // Port 0 asks for a fresh port per listener, so it is never shared.
    !a.is_empty() && a.iter().all(|x| x.port() != 0) && sorted(a) == sorted(b)
}

fn run(
    runtime: tokio::runtime::Runtime,
    listeners: Vec<(TcpListener, Apis)>,
    prefix: String,
    api: Arc<dyn SuperApi>,
    tls: Option<TlsAcceptor>,
    stopped: oneshot::Receiver<()>,
) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    runtime.block_on(async move {
        for (listener, apis) in listeners {
            let app = router(api.clone(), prefix.clone(), apis);
            tokio::spawn(accept_loop(listener, app, tls.clone(), slots.clone()));
        }
        // A send or a dropped sender both mean stop.
        let _ = stopped.await;
    });
    // Dropping the runtime cancels the accept loops and every connection.
    drop(runtime);
}

async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    slots: Arc<Semaphore>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(target: target::INTERNAL, "HTTP API accept: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::debug!(target: target::INTERNAL, "HTTP API: too many connections, closing {peer}");
            continue;
        };
        let app = app.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match tls {
                None => serve_connection(stream, app).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => serve_connection(stream, app).await,
                        Ok(Err(e)) => {
                            tracing::debug!(target: target::INTERNAL, "HTTP API TLS from {peer}: {e}")
                        }
                        Err(_) => {
                            tracing::debug!(target: target::INTERNAL, "HTTP API TLS from {peer}: timed out")
                        }
                    }
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, app: axum::Router)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let result = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app))
        .await;
    if let Err(e) = result {
        tracing::debug!(target: target::INTERNAL, "HTTP API connection: {e}");
    }
}
