//! The serve loop on real sockets on loopback. Timeouts under test are
//! short; every wait for something to happen is long (a busy machine only
//! makes a test slower), and nothing asserts how fast it happened.

use super::*;
use axum::extract::State;
use axum::routing::{get, post};
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// Generous bound on anything the server should do by itself.
const EVENTUALLY: Duration = Duration::from_secs(30);

/// A request held by `/slow` until the test lets it go.
#[derive(Clone)]
struct Gate {
    started: mpsc::UnboundedSender<()>,
    release: Arc<Semaphore>,
}

struct Server {
    address: SocketAddr,
    started: mpsc::UnboundedReceiver<()>,
    release: Arc<Semaphore>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

async fn peer(ConnectInfo(peer): ConnectInfo<SocketAddr>) -> String {
    peer.to_string()
}

async fn slow(State(gate): State<Gate>) -> &'static str {
    let _ = gate.started.send(());
    gate.release.acquire().await.expect("the gate stays open").forget();
    "done"
}

async fn echo(body: Body) -> String {
    match axum::body::to_bytes(body, 1 << 20).await {
        Ok(bytes) => format!("{} bytes", bytes.len()),
        Err(e) if body_stalled(&e) => "stalled".to_owned(),
        Err(e) => format!("failed: {e}"),
    }
}

async fn start(max_connections: usize, header_timeout: Duration) -> Server {
    let (started, started_rx) = mpsc::unbounded_channel();
    let release = Arc::new(Semaphore::new(0));
    let router = Router::new()
        .route("/peer", get(peer))
        .route("/slow", get(slow))
        .route("/echo", post(echo))
        .with_state(Gate { started, release: release.clone() });
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let limits = Limits { max_connections, header_timeout };
    let task = tokio::spawn(serve(listener, router, limits, async move {
        let _ = stopped.await;
    }));
    Server { address, started: started_rx, release, stop: Some(stop), task }
}

/// Writes `request` whole; the answer is read with [`answer`].
async fn send(address: SocketAddr, request: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

fn get_request(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

/// Reads one answer (status and body) from a kept-alive connection.
async fn answer(stream: &mut TcpStream) -> (u16, String) {
    let read = async {
        let mut bytes = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = stream.read(&mut chunk).await.expect("the answer arrives");
            assert!(n > 0, "closed before a whole answer: {:?}", String::from_utf8_lossy(&bytes));
            bytes.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else { continue };
            let length = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length: ").map(str::to_owned))
                .and_then(|l| l.trim().parse::<usize>().ok())
                .expect("a content length");
            if body.len() >= length {
                let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status");
                return (status, body[..length].to_owned());
            }
        }
    };
    tokio::time::timeout(EVENTUALLY, read).await.expect("an answer in time")
}

/// Has the server closed this connection (as far as this side knows now)?
fn closed(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    match stream.try_read(&mut byte) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

/// Waits (long) until `check` holds.
async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + EVENTUALLY;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until the server closes `stream`, reading what it may still say.
async fn closes(stream: &mut TcpStream, what: &str) {
    let read = async {
        let mut rest = Vec::new();
        // A reset is a close too.
        let _ = stream.read_to_end(&mut rest).await;
    };
    tokio::time::timeout(EVENTUALLY, read).await.unwrap_or_else(|_| panic!("{what} was never closed"));
}

#[test]
fn the_defaults_follow_the_file_limit() {
    assert_eq!(Limits::for_file_limit(1024).max_connections, 256);
    assert_eq!(Limits::for_file_limit(1 << 20).max_connections, Limits::MAX_CONNECTIONS);
    assert_eq!(Limits::for_file_limit(20).max_connections, 16);
    assert_eq!(Limits::for_file_limit(1024).header_timeout, Limits::HEADER_TIMEOUT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_idle_and_half_sent_connections_does_not_keep_a_request_out() {
    // The header timeout is long: only the cap can make room.
    let cap = 16;
    let server = start(cap, Duration::from_secs(600)).await;
    let mut flood = Vec::new();
    for _ in 0..300 {
        flood.push(TcpStream::connect(server.address).await.unwrap());
    }
    for _ in 0..50 {
        flood.push(send(server.address, "GET /peer HTTP/1.1\r\nHost: te").await);
    }
    let mut client = send(server.address, &get_request("/peer")).await;
    let (status, body) = answer(&mut client).await;
    assert_eq!(status, 200);
    assert_eq!(body, client.local_addr().unwrap().to_string(), "handlers see the peer's address");
    // The server keeps `cap` connections: the client's and the flood's
    // newest; it closed the others, oldest first.
    let keep = cap - 1;
    eventually("the flood's oldest to be closed", || {
        flood.iter().filter(|s| closed(s)).count() >= flood.len() - keep
    })
    .await;
    let open: Vec<usize> = (0..flood.len()).filter(|&i| !closed(&flood[i])).collect();
    assert_eq!(open, (flood.len() - keep..flood.len()).collect::<Vec<_>>());
    // The kept-alive client is served again.
    client.write_all(get_request("/peer").as_bytes()).await.unwrap();
    assert_eq!(answer(&mut client).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_send_no_whole_head_in_time_are_closed_but_slow_answers_are_not() {
    let mut server = start(100, Duration::from_secs(1)).await;
    // A request held past the header timeout is still answered.
    let mut held = send(server.address, &get_request("/slow")).await;
    server.started.recv().await.unwrap();
    let mut half_sent = send(server.address, "GET /peer HTTP/1.1\r\nHost: test\r\n").await;
    let mut silent = TcpStream::connect(server.address).await.unwrap();
    let mut kept_alive = send(server.address, &get_request("/peer")).await;
    assert_eq!(answer(&mut kept_alive).await.0, 200);
    closes(&mut half_sent, "a half-sent head").await;
    closes(&mut silent, "a connection that sent nothing").await;
    closes(&mut kept_alive, "an idle kept-alive connection").await;
    server.release.add_permits(1);
    assert_eq!(answer(&mut held).await, (200, "done".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_stops_coming_is_given_up() {
    let server = start(100, Duration::from_secs(1)).await;
    let head = "POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n";
    let mut whole = send(server.address, &format!("{head}{}", "x".repeat(100))).await;
    assert_eq!(answer(&mut whole).await, (200, "100 bytes".to_owned()));
    let mut stalled = send(server.address, &format!("{head}only ten.")).await;
    assert_eq!(answer(&mut stalled).await, (200, "stalled".to_owned()));
    // The rest of the body never came: the connection cannot be reused.
    closes(&mut stalled, "a connection with an unread body").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_head_beyond_the_limit_is_refused_and_the_connection_closed() {
    let server = start(100, Duration::from_secs(10)).await;
    // A URI of up to 65,534 bytes (the http crate's limit) is served, a
    // longer one answered 414.
    let uri = |n: usize| format!("/peer?{}", "q".repeat(n - "/peer?".len()));
    let mut within = send(server.address, &get_request(&uri(65_534))).await;
    assert_eq!(answer(&mut within).await.0, 200);
    let mut long = send(server.address, &get_request(&uri(65_535))).await;
    assert_eq!(answer(&mut long).await.0, 414);
    // Headers beyond the head limit: 431, and the connection closed.
    let header = "h".repeat(2 * Limits::HEAD_LIMIT);
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    // hyper may stop reading before the whole head is written.
    let request = format!("GET /peer HTTP/1.1\r\nHost: test\r\nX-Pad: {header}\r\n\r\n");
    let _ = stream.write_all(request.as_bytes()).await;
    let mut head = Vec::new();
    let read = tokio::time::timeout(EVENTUALLY, stream.read_to_end(&mut head)).await.expect("closed in time");
    let head = String::from_utf8_lossy(&head);
    assert!(read.is_err() || head.starts_with("HTTP/1.1 431"), "{head}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_the_connection_idle_the_longest_closes_never_one_answering() {
    let mut server = start(3, Duration::from_secs(600)).await;
    let mut answering = send(server.address, &get_request("/slow")).await;
    server.started.recv().await.unwrap();
    let mut older = send(server.address, &get_request("/peer")).await;
    assert_eq!(answer(&mut older).await.0, 200);
    let mut newer = TcpStream::connect(server.address).await.unwrap();
    // A fourth: the one idle the longest (the older kept-alive) makes room.
    let mut fourth = send(server.address, &get_request("/peer")).await;
    assert_eq!(answer(&mut fourth).await.0, 200);
    closes(&mut older, "the connection idle the longest").await;
    assert!(!closed(&newer) && !closed(&answering), "only one connection makes room");
    server.release.add_permits(1);
    assert_eq!(answer(&mut answering).await, (200, "done".to_owned()));
    // A fifth: now the silent one has been idle the longest.
    let mut fifth = send(server.address, &get_request("/peer")).await;
    assert_eq!(answer(&mut fifth).await.0, 200);
    closes(&mut newer, "the silent connection").await;
    assert!(!closed(&answering) && !closed(&fourth));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_the_cap_with_every_connection_answering_a_new_one_waits_its_turn() {
    let mut server = start(2, Duration::from_secs(600)).await;
    let mut first = send(server.address, &get_request("/slow")).await;
    server.started.recv().await.unwrap();
    let mut second = send(server.address, &get_request("/slow")).await;
    server.started.recv().await.unwrap();
    let mut third = send(server.address, &get_request("/peer")).await;
    // Not answered while both others are: nothing may be closed for it.
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut [0u8; 1])).await;
    assert!(early.is_err(), "answered while every connection was busy: {early:?}");
    // One answered, its connection is idle: it makes room, its answer sent.
    server.release.add_permits(1);
    assert_eq!(answer(&mut third).await.0, 200);
    server.release.add_permits(1);
    assert_eq!(answer(&mut first).await, (200, "done".to_owned()));
    assert_eq!(answer(&mut second).await, (200, "done".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_finishes_answers() {
    let mut server = start(100, Duration::from_secs(600)).await;
    let mut answering = send(server.address, &get_request("/slow")).await;
    server.started.recv().await.unwrap();
    let mut idle = send(server.address, &get_request("/peer")).await;
    assert_eq!(answer(&mut idle).await.0, 200);
    let mut half_sent = send(server.address, "GET /peer HTTP/1.1\r\n").await;
    server.stop.take().unwrap().send(()).unwrap();
    closes(&mut idle, "an idle connection at shutdown").await;
    closes(&mut half_sent, "a half-sent head at shutdown").await;
    assert!(!server.task.is_finished(), "a request is still being answered");
    server.release.add_permits(1);
    let (status, body) = answer(&mut answering).await;
    assert_eq!((status, body.as_str()), (200, "done"));
    tokio::time::timeout(EVENTUALLY, server.task).await.expect("serve returns").unwrap();
    assert!(TcpStream::connect(server.address).await.is_err(), "the listener is closed");
}

/// An upgrade for the test: a connection that starts with `!` is "secure"
/// (the `!` is taken off), any other is served as it is; one that sends
/// nothing never finishes its upgrade.
struct Bang;

impl Upgrade for Bang {
    fn upgrade(
        &self,
        stream: TcpStream,
    ) -> Pin<Box<dyn Future<Output = std::io::Result<Upgraded>> + Send + 'static>> {
        Box::pin(async move {
            let mut first = [0u8; 1];
            let mut stream = stream;
            stream.peek(&mut first).await?;
            let secure = first[0] == b'!';
            if secure {
                stream.read_exact(&mut first).await?;
            }
            Ok(Upgraded { io: Box::new(stream), secure })
        })
    }
}

async fn secure(request: axum::extract::Request) -> String {
    format!("{:?}", request.extensions().get::<Secure>())
}

#[tokio::test]
async fn upgraded_connections_tell_their_requests_whether_they_are_secure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let router = Router::new().route("/secure", get(secure));
    let limits = Limits { max_connections: 8, header_timeout: Duration::from_millis(300) };
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(serve_upgraded(listener, router, limits, Arc::new(Bang), async move {
        let _ = stopped.await;
    }));
    let mut plain = send(address, &get_request("/secure")).await;
    assert_eq!(answer(&mut plain).await, (200, "Some(Secure(false))".to_owned()));
    let mut bang = send(address, &format!("!{}", get_request("/secure"))).await;
    assert_eq!(answer(&mut bang).await, (200, "Some(Secure(true))".to_owned()));
    // One that never lets its upgrade finish is closed (after the header timeout).
    let mut silent = TcpStream::connect(address).await.unwrap();
    closes(&mut silent, "a connection that never upgraded").await;
    let _ = stop.send(());
    tokio::time::timeout(EVENTUALLY, task).await.unwrap().unwrap();
}
