//! A `gridmap serve` process for end-to-end tests: started on port 0, its address read from the
//! "listening on" log line, killed when dropped (also when an assertion fails first).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct Server {
    pub child: Child,
    /// `host:port` the server listens on.
    pub addr: String,
    /// Every log line after the "listening" one, as it comes.
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Server {
    /// Start the binary on `data_dir` (GeoPackage store; an empty one gets the demo).
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(data_dir, &[])
    }

    /// The same with more `serve` arguments.
    pub fn start_with(data_dir: &Path, serve_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_gridmap"))
            .args(["--data", data_dir.to_str().unwrap()])
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(serve_args)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "gridmap=info")
            .env("NO_COLOR", "1")
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        // Own the child before anything can fail, so it is killed on every path.
        let mut server = Server {
            child,
            addr: String::new(),
            log: Default::default(),
        };
        let mut lines = BufReader::new(stderr).lines();
        server.addr = loop {
            let line = lines
                .next()
                .expect("server exited before listening")
                .unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                // Text or JSON logs: the address is the run of host and port characters.
                break rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '[' | ']'))
                    .collect();
            }
        };
        // Keep draining the log so that the server never blocks on a full pipe.
        let log = server.log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                log.lock().unwrap().push(line);
            }
        });
        server
    }

    /// A plain HTTP/1.1 GET, so the tests need no HTTP client crate: status and body.
    pub fn get(&self, path: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.addr).expect("connect to the server");
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            self.addr
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let status = resp[9..12].parse().unwrap();
        let body = resp
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        (status, body)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
