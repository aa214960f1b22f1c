//! Many idle or half-sent connections do not make the API unresponsive:
//! the listener closes the ones idle the longest to let a client in
//! (docs/adr/0010-connection-limits.md).

mod common;
use common::wire::{Answer, Signer};
use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::time::Duration;

/// Opens `idle` connections that send nothing and `half_sent` that send
/// part of a request head, in that order; stops at the first the kernel
/// does not take (its queue of connections not accepted is full).
fn flood(port: u16, idle: usize, half_sent: usize) -> Vec<TcpStream> {
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut streams = Vec::new();
    for i in 0..idle + half_sent {
        let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(10)) else { break };
        if i >= idle {
            stream.write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty").unwrap();
        }
        streams.push(stream);
    }
    streams
}

/// A signed DescribeInstances, in a thread so that a cloud that never
/// answers fails the test instead of hanging it.
fn describe(cloud: &Cloud) -> Answer {
    let client = cloud.wire("/");
    let (tell, answered) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tell
            .send(client.send(&[("Action", "DescribeInstances"), ("Version", "2016-11-15")], Signer::Boto3));
    });
    answered.recv_timeout(Duration::from_secs(60)).expect("DescribeInstances is answered")
}

/// Has the cloud closed this connection (as far as this side knows now)?
fn closed(stream: &TcpStream) -> bool {
    stream.set_nonblocking(true).unwrap();
    match (&*stream).read(&mut [0u8; 1]) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[test]
fn idle_and_half_sent_connections_beyond_the_cap_do_not_keep_a_signed_request_out() {
    // The header timeout is long: only the cap can make room.
    let cap = 20;
    let cloud = Cloud::start_with(&["--max-connections", &cap.to_string(), "--header-timeout-secs", "600"]);
    let streams = flood(cloud.port, 300, 50);
    assert_eq!(streams.len(), 350, "the kernel took every connection");
    let answer = describe(&cloud);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("<reservationSet"), "{}", answer.body);
    // The cloud made room for the signed request's connection (closed
    // after its answer) and kept the flood's newest `cap - 1`.
    let oldest = streams.len() - (cap - 1);
    poll(60, "the flood's oldest connections to be closed", || streams[..oldest].iter().all(closed));
    assert!(!streams[oldest..].iter().any(closed), "only as many as needed were closed");
}

#[test]
fn with_the_default_cap_a_flood_beyond_the_file_limit_does_not_keep_a_signed_request_out() {
    // 400 connections when yukari may open 256 files: without a cap, the
    // files run out and nothing more is accepted.
    let cloud = Cloud::start_with_file_limit(256, &[]);
    let streams = flood(cloud.port, 350, 50);
    let answer = describe(&cloud);
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(answer.body.contains("<reservationSet"), "{}", answer.body);
    assert_eq!(streams.len(), 400, "the kernel took every connection");
}
