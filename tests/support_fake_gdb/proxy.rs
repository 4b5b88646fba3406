//! A packet-counting proxy between a GDB client and a server's unix socket: counts
//! packets (`$...#xx`) and bytes each way, for the docs' packet counts.
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
}

pub struct Proxy {
    pub dir: tempfile::TempDir,
    counts: Arc<Mutex<Counts>>,
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
        let upstream = upstream.to_path_buf();
        let c = counts.clone();
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
                    true,
                );
                pipe(server, client, c.clone(), false);
            }
        });
        Proxy { dir, counts }
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

fn pipe(mut from: UnixStream, mut to: UnixStream, counts: Arc<Mutex<Counts>>, to_server: bool) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
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
                } else {
                    c.to_client += packets;
                    c.bytes_to_client += n as u64;
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
    });
}
