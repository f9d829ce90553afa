//! Accepting connections within bounds: hyper serves each connection with a
//! deadline for a request's headers (a client that connects and says nothing, or
//! keeps a connection open between requests, is closed after
//! [`HEADER_SECONDS`]), at most [`PER_CLIENT`] connections of one address at a
//! time (more are closed as they arrive) and at most [`MOST_CONNECTIONS`] in all
//! (more wait in the kernel's queue until one closes), so that silent sockets can
//! neither exhaust the process's file descriptors nor crowd out other clients.
//! Each request has [`REQUEST_SECONDS`] to be answered (408 after).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use rustc_hash::FxHashMap;
use tower::ServiceExt;

/// Seconds a client has to send a request's headers, counted from the connection
/// or from the end of its last answer.
pub const HEADER_SECONDS: u64 = 10;
/// Seconds a request has to be answered: above the slowest page of a whole
/// region and a PDF's print (which has a minute).
pub const REQUEST_SECONDS: u64 = 90;
/// Connections open at once, in all: well under the 1,024 file descriptors a
/// process is commonly allowed.
pub const MOST_CONNECTIONS: usize = 768;
/// Connections open at once from one address.
pub const PER_CLIENT: usize = 64;

/// The connections each address has open.
#[derive(Default, Clone)]
struct Clients(Arc<Mutex<FxHashMap<IpAddr, usize>>>);

/// One connection counted against its address until dropped.
struct Counted {
    clients: Clients,
    address: IpAddr,
}

impl Clients {
    fn admit(&self, address: IpAddr) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(address).or_default();
        if *n >= PER_CLIENT {
            return None;
        }
        *n += 1;
        Some(Counted {
            clients: self.clone(),
            address,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.clients.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.address) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.address);
            }
        }
    }
}

/// Serves `app` on `listener` until the process ends.
pub(crate) async fn serve(app: Router, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let slots = Arc::new(tokio::sync::Semaphore::new(MOST_CONNECTIONS));
    let clients = Clients::default();
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return Ok(());
        };
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, or a connection reset before it was
                // accepted: wait a little, then go on accepting.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(counted) = clients.admit(peer.ip()) else {
            tracing::warn!(client = %peer.ip(), "too many connections from one client: closed");
            drop(stream);
            continue;
        };
        // The peer's address goes with each request, for the per-client throttles.
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut request: hyper::Request<hyper::body::Incoming>| {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                request
            },
        ));
        tokio::spawn(async move {
            let _held = (slot, counted);
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(HEADER_SECONDS));
            // A connection that ends badly (reset, timed out) ends only itself.
            let _ = builder
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
