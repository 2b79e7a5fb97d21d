//! The HTTP/1.1 server loop, with a shutdown that never waits on a client that is doing nothing.
//!
//! poem's own `Server` asks every connection to shut down gracefully and waits for all of them, so one
//! client that sent half a request head and stalled held a SIGTERM for the whole shutdown timeout.
//! Here each connection knows whether a request is in flight: from the moment its head has arrived
//! until the last byte of its answer has been written. On shutdown a connection with nothing in
//! flight (idle keep-alive, or a request head still arriving) is closed at once; one with a request in
//! flight lets it finish and then closes, bounded by the shutdown timeout.
use std::{
    convert::Infallible,
    io,
    net::SocketAddr,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    task::{Context, Poll},
    time::Duration,
};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::{body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use poem::{
    Addr, Endpoint, EndpointExt, IntoEndpoint,
    http::uri::Scheme,
    web::{LocalAddr, RemoteAddr},
};
use tokio::{net::TcpListener, sync::watch, task::JoinSet};

type PoemBody = http_body_util::combinators::BoxBody<Bytes, io::Error>;

/// A request head must arrive within this time (a slow-header client is dropped after it).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves `ep` on `listener` until `signal` resolves, then stops accepting, closes idle connections at
/// once and gives requests in flight at most `grace` to finish.
pub async fn run<E>(
    listener: TcpListener,
    ep: E,
    signal: impl Future<Output = ()>,
    grace: Duration,
) -> io::Result<()>
where
    E: IntoEndpoint,
    E::Endpoint: 'static,
{
    let ep: Arc<dyn poem::endpoint::DynEndpoint<Output = poem::Response>> = Arc::new(
        poem::endpoint::ToDynEndpoint(ep.into_endpoint().map_to_response()),
    );
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    tokio::pin!(signal);
    loop {
        tokio::select! {
            _ = &mut signal => break,
            accepted = listener.accept() => {
                let (stream, remote) = match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                connections.spawn(serve_connection(stream, local, remote, ep.clone(), stop_rx.clone()));
            }
            // Reap finished connections so the set does not grow with the number ever served.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let drained = tokio::time::timeout(grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "shutdown timeout: closing connections with requests still in flight"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    local: SocketAddr,
    remote: SocketAddr,
    ep: Arc<dyn poem::endpoint::DynEndpoint<Output = poem::Response>>,
    mut stop: watch::Receiver<bool>,
) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let service = {
        let in_flight = in_flight.clone();
        let stopping = Stopping(stop.clone());
        service_fn(move |mut req: hyper::Request<Incoming>| {
            // Counted as soon as the head is here, before any await.
            let guard = InFlight::start(&in_flight);
            let ep = ep.clone();
            req.extensions_mut().insert(stopping.clone());
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(Addr::SocketAddr(local)),
                    RemoteAddr(Addr::SocketAddr(remote)),
                    Scheme::HTTP,
                ));
                let resp: hyper::Response<PoemBody> = ep.get_response(req).await.into();
                Ok::<_, Infallible>(resp.map(|body| Guarded {
                    body,
                    _guard: guard,
                }))
            }
        })
    };
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        _ = &mut conn => return,
        _ = stop.wait_for(|stopping| *stopping) => {}
    }
    if in_flight.load(Ordering::Acquire) == 0 {
        // Idle, or a request head still arriving: nothing to finish.
        return;
    }
    conn.as_mut().graceful_shutdown();
    let _ = conn.await;
}

/// Carried by every request: becomes true when the server starts shutting down, so a request still
/// waiting for its body can give up at once (`middleware::limit_body`) instead of holding the shutdown.
#[derive(Clone)]
pub struct Stopping(watch::Receiver<bool>);

impl Stopping {
    /// Resolves when shutdown starts (never, if the server is dropped without one).
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|stopping| *stopping).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Marks a request in flight until the answer's body has been written (or dropped).
struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn start(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::AcqRel);
        Self(counter.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A response body that holds its request's in-flight mark.
struct Guarded {
    body: PoemBody,
    _guard: InFlight,
}

impl HttpBody for Guarded {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
