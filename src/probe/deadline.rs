//! One deadline per target. A socket timeout bounds each read, not the exchange: a server that
//! promises a 16 KiB TLS record and sends one byte a second keeps every read short and the probe
//! alive for hours. So a probe takes its deadline once ([`Deadline::after`]) and talks through
//! [`Bounded`], which sets the socket's read or write timeout to the time left before every
//! read and write, and fails with [`ErrorKind::TimedOut`] once none is left. Name resolution and
//! connecting take the time left from the same deadline.

use std::fmt;
use std::io::{self, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// When a target's time is up, and the timeout it came from (for the message).
#[derive(Clone, Copy, Debug)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// `timeout` from now.
    pub fn after(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + timeout,
            timeout,
        }
    }

    /// The timeout the deadline was set with.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The time left, or `None` once the deadline has passed.
    pub fn left(&self) -> Option<Duration> {
        let left = self.at.saturating_duration_since(Instant::now());
        (!left.is_zero()).then_some(left)
    }

    /// The time left, or a [`ErrorKind::TimedOut`] error once the deadline has passed.
    pub fn remaining(&self) -> io::Result<Duration> {
        self.left().ok_or_else(|| self.expired())
    }

    /// The error of a passed deadline.
    fn expired(&self) -> io::Error {
        io::Error::new(
            ErrorKind::TimedOut,
            format!("no answer within {}", Within(self.timeout)),
        )
    }
}

/// A timeout as the command line writes it: `5s`, or `1500ms` below whole seconds.
#[derive(Clone, Copy, Debug)]
pub struct Within(pub Duration);

impl fmt::Display for Within {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.subsec_nanos() == 0 {
            write!(f, "{}s", self.0.as_secs())
        } else {
            write!(f, "{}ms", self.0.as_millis().max(1))
        }
    }
}

/// A TCP stream whose every read and write ends by the deadline: the socket's timeout is set to
/// the time left first. A timeout from the socket comes back as [`ErrorKind::TimedOut`] (a
/// blocking socket says `WouldBlock` when its timeout expires, which rustls would take for a
/// non-blocking socket's "try again").
#[derive(Debug)]
pub struct Bounded {
    stream: TcpStream,
    deadline: Deadline,
}

impl Bounded {
    /// `stream`, bounded by `deadline`.
    pub fn new(stream: TcpStream, deadline: Deadline) -> Bounded {
        Bounded { stream, deadline }
    }

    /// The deadline every read and write ends by.
    pub fn deadline(&self) -> Deadline {
        self.deadline
    }

    /// A socket error, with an expired socket timeout said as the deadline's.
    fn timed_out(&self, e: io::Error) -> io::Error {
        match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => self.deadline.expired(),
            _ => e,
        }
    }
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.deadline.remaining()?;
        self.stream.set_read_timeout(Some(left))?;
        self.stream.read(buf).map_err(|e| self.timed_out(e))
    }
}

impl Write for Bounded {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.deadline.remaining()?;
        self.stream.set_write_timeout(Some(left))?;
        self.stream.write(buf).map_err(|e| self.timed_out(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.stream.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    fn the_deadline_bounds_the_exchange_not_each_read() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        // One byte every 50 ms, 100 at most (5 s), until the client goes away.
        let server = std::thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            for _ in 0..100 {
                if s.write_all(b"x").is_err() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        let started = Instant::now();
        let mut bounded = Bounded::new(stream, Deadline::after(Duration::from_millis(400)));
        let mut got = 0;
        let mut byte = [0u8; 1];
        let err = loop {
            match bounded.read(&mut byte) {
                Ok(0) => panic!("the server closed after {got} bytes"),
                Ok(_) => got += 1,
                Err(e) => break e,
            }
        };
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert_eq!(err.to_string(), "no answer within 400ms");
        assert!(got >= 1, "read {got} bytes before the deadline");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "{:?}",
            started.elapsed()
        );
        // Past the deadline, reads and writes fail at once.
        assert_eq!(
            bounded.read(&mut byte).unwrap_err().kind(),
            ErrorKind::TimedOut
        );
        assert_eq!(bounded.write(b"y").unwrap_err().kind(), ErrorKind::TimedOut);
        drop(bounded);
        server.join().unwrap();
    }

    #[test]
    fn a_silent_peer_times_out_by_the_deadline_as_timed_out() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
        let _held = listener.accept().unwrap();
        let mut bounded = Bounded::new(stream, Deadline::after(Duration::from_millis(200)));
        let err = bounded.read(&mut [0u8; 1]).unwrap_err();
        // The socket said WouldBlock; the wrapper says what it means.
        assert_eq!(err.kind(), ErrorKind::TimedOut, "{err}");
        assert_eq!(err.to_string(), "no answer within 200ms");
    }

    #[test]
    fn timeouts_print_as_the_command_line_writes_them() {
        assert_eq!(Within(Duration::from_secs(2)).to_string(), "2s");
        assert_eq!(Within(Duration::from_millis(1500)).to_string(), "1500ms");
        assert_eq!(Within(Duration::from_nanos(10)).to_string(), "1ms");
    }
}
