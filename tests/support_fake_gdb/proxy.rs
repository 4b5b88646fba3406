//! A packet-counting proxy between a GDB client and a server's unix socket: counts
//! packets (`$...#xx`), bytes and round trips each way, for the docs' packet counts
//! and the link benchmark (tests/bench_link.rs).
use std::io::{Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Packets from the client to the server.
    pub to_server: u64,
    /// Packets from the server to the client.
    pub to_client: u64,
    pub bytes_to_server: u64,
    pub bytes_to_client: u64,
    /// Times the client sent a packet after the server had answered the previous one:
    /// each is one wait for the link. Back-to-back packets sent without waiting for an
    /// answer (pipelining) count once.
    pub round_trips: u64,
    /// Whether the client's last packet is still unanswered (bookkeeping).
    awaiting: bool,
}

pub struct Proxy {
    pub dir: tempfile::TempDir,
    counts: Arc<Mutex<Counts>>,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    /// Listens on a fresh socket and forwards every connection to `upstream`.
    pub fn start(upstream: &Path) -> Proxy {
        let dir = tempfile::Builder::new()
            .prefix("isrscope-proxy")
            .tempdir()
            .unwrap();
        let listener = UnixListener::bind(dir.path().join("proxy.sock")).unwrap();
        let counts = Arc::new(Mutex::new(Counts::default()));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let upstream = upstream.to_path_buf();
        let c = counts.clone();
        let r = requests.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { return };
                let Ok(server) = UnixStream::connect(&upstream) else {
                    return;
                };
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    c.clone(),
                    Some(r.clone()),
                );
                pipe(server, client, c.clone(), None);
            }
        });
        Proxy {
            dir,
            counts,
            requests,
        }
    }

    /// The client's packets so far (payloads, lossy UTF-8, cut at 40 characters): to
    /// see where a tool's packets go.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("proxy.sock")
    }

    pub fn counts(&self) -> Counts {
        *self.counts.lock().unwrap()
    }

    pub fn reset(&self) {
        *self.counts.lock().unwrap() = Counts::default();
    }
}

/// Copies `from` to `to`, counting. `requests` is given for the client-to-server
/// direction, which is also logged packet by packet.
fn pipe(
    mut from: UnixStream,
    mut to: UnixStream,
    counts: Arc<Mutex<Counts>>,
    requests: Option<Arc<Mutex<Vec<String>>>>,
) {
    let to_server = requests.is_some();
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let mut partial: Vec<u8> = Vec::new();
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            {
                let mut c = counts.lock().unwrap();
                let packets = buf[..n].iter().filter(|&&b| b == b'$').count() as u64;
                if to_server {
                    c.to_server += packets;
                    c.bytes_to_server += n as u64;
                    if packets > 0 && !c.awaiting {
                        c.round_trips += 1;
                        c.awaiting = true;
                    }
                } else {
                    c.to_client += packets;
                    c.bytes_to_client += n as u64;
                    if packets > 0 {
                        c.awaiting = false;
                    }
                }
            }
            if let Some(log) = &requests {
                partial.extend_from_slice(&buf[..n]);
                while let Some(start) = partial.iter().position(|&b| b == b'$') {
                    let Some(end) = partial[start..].iter().position(|&b| b == b'#') else {
                        break;
                    };
                    let payload = &partial[start + 1..start + end];
                    let text: String = String::from_utf8_lossy(payload).chars().take(40).collect();
                    log.lock().unwrap().push(text);
                    partial.drain(..start + end + 1);
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
