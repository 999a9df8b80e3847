//! What the fleet's tests and `examples/fleet.rs` share: a real
//! `redis-server` (on 127.0.0.1, a free port, its own temporary directory, no
//! persistence; stopped and its directory removed on drop), and instance
//! processes driven line by line through their stdin.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
}

/// Whether `redis-server` can be run here.
pub fn redis_installed() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A server for the test `test`, or `None` (after one line on stderr saying
/// the test did not run) where `redis-server` is not installed and `CI` is
/// unset. Under `CI`, a missing `redis-server` fails the test.
pub fn redis_for(test: &str) -> Option<RedisServer> {
    if !redis_installed() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "false") {
            panic!(
                "fleet test `{test}`: redis-server is not on PATH and CI is set; install it (apt-get install redis-server), as .ci/run does"
            );
        }
        // Straight to stderr: libtest captures only the print macros.
        let _ = writeln!(
            std::io::stderr(),
            "fleet test `{test}` did not run: redis-server is not on PATH (apt-get install redis-server)"
        );
        return None;
    }
    Some(RedisServer::start())
}

impl RedisServer {
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let dir = std::env::temp_dir().join(format!("retry-fleet-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        let mut server = RedisServer {
            child: None,
            port,
            dir,
        };
        server.restart();
        server
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn pid(&self) -> Option<String> {
        self.child.as_ref().map(|c| c.id().to_string())
    }

    fn signal(&self, signal: &str) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill").args([signal, &pid]).status();
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open but nothing answers, like a partition.
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// Kills the server at once (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server (again) on its port, empty, and waits until it answers.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.ping() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        );
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut answer = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut answer).is_ok()
            && &answer == b"+PONG\r\n"
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.signal("-CONT");
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A child process that answers each command line with one line starting
/// with `@ ` (anything else it prints is ignored); told `quit` on drop.
pub struct Driven {
    child: Child,
    stdin: ChildStdin,
    answers: mpsc::Receiver<String>,
}

impl Driven {
    /// Starts `command` and waits for its first answer (`@ ready ...`).
    pub fn start(mut command: Command) -> (Driven, String) {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the instance process starts");
        let stdin = child.stdin.take().expect("piped");
        let stdout = child.stdout.take().expect("piped");
        let (send, answers) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // libtest may have written `test instance_process ... ` first.
                if let Some((_, answer)) = line.split_once("@ ")
                    && send.send(answer.to_owned()).is_err()
                {
                    break;
                }
            }
        });
        let mut driven = Driven {
            child,
            stdin,
            answers,
        };
        let ready = driven.answer();
        (driven, ready)
    }

    pub fn answer(&mut self) -> String {
        self.answers
            .recv_timeout(Duration::from_secs(60))
            .expect("the instance answers within 60 s")
    }

    pub fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("the instance reads its stdin");
    }

    pub fn ask(&mut self, command: &str) -> String {
        self.send(command);
        self.answer()
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
