//! The monitor's socket protocol: frames of `[kind: u8][len: u32 BE][payload]` over a unix
//! stream socket.
//!
//! Client → monitor: [`ATTACH`] (payload: `i`, `o`, `e` for the streams wanted),
//! [`STDIN`] data, [`STDIN_CLOSE`], [`RESIZE`] (rows and cols, u16 BE each).
//! Monitor → client: [`STDOUT`], [`STDERR`], [`STARTED`] (the pid, text), [`FAILED`]
//! (the exit status Docker gives, one byte, then the message) and [`EXITED`] (the exit
//! code, text), after which the monitor closes the connection.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Container stdout bytes.
pub const STDOUT: u8 = 1;
/// Container stderr bytes.
pub const STDERR: u8 = 2;
/// Stdin bytes for the container.
pub const STDIN: u8 = 0;
/// The client's stdin reached EOF.
pub const STDIN_CLOSE: u8 = b'c';
/// The client wants these streams.
pub const ATTACH: u8 = b'A';
/// Terminal size.
pub const RESIZE: u8 = b'R';
/// The container started.
pub const STARTED: u8 = b'S';
/// The container could not start.
pub const FAILED: u8 = b'F';
/// The container exited (for good: no restart follows).
pub const EXITED: u8 = b'X';

/// Encode one frame.
pub fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(5 + payload.len());
    v.push(kind);
    v.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// Write one frame.
pub fn send(w: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    w.write_all(&frame(kind, payload))
}

/// Read one frame (blocking); `None` at EOF.
pub fn recv(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut h = [0u8; 5];
    match r.read_exact(&mut h) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = u32::from_be_bytes([h[1], h[2], h[3], h[4]]) as usize;
    if len > 16 << 20 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "frame too large",
        ));
    }
    let mut p = vec![0u8; len];
    r.read_exact(&mut p)?;
    Ok(Some((h[0], p)))
}

/// Incremental frame decoder for non-blocking readers.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    /// Add bytes read.
    pub fn push(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Option<(u8, Vec<u8>)> {
        if self.buf.len() < 5 {
            return None;
        }
        let len = u32::from_be_bytes([self.buf[1], self.buf[2], self.buf[3], self.buf[4]]) as usize;
        if self.buf.len() < 5 + len {
            return None;
        }
        let kind = self.buf[0];
        let payload = self.buf[5..5 + len].to_vec();
        self.buf.drain(..5 + len);
        Some((kind, payload))
    }
}

/// Connect to a container's monitor.
pub fn connect(sock: &Path) -> std::io::Result<UnixStream> {
    UnixStream::connect(sock)
}

/// How [`client_loop`] ended.
pub enum Ended {
    /// The container exited with this code.
    Exited(i32),
    /// The monitor closed the connection without an exit (it was killed).
    Closed,
    /// The user typed the detach keys: the container runs on.
    Detached,
    /// The monitor failed (it could not start the container, or not record its exit).
    Failed {
        /// Docker's exit status for it.
        code: i32,
        /// What went wrong.
        message: String,
    },
}

/// Our terminal's size as a [`RESIZE`] payload.
pub fn winsize_payload() -> Option<Vec<u8>> {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes into the winsize we own.
    if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } != 0 || ws.ws_row == 0 {
        return None;
    }
    let mut p = ws.ws_row.to_be_bytes().to_vec();
    p.extend_from_slice(&ws.ws_col.to_be_bytes());
    Some(p)
}

fn write_fd(fd: i32, mut data: &[u8]) {
    while !data.is_empty() {
        // SAFETY: writing a slice we own to a standard descriptor.
        let n = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
        if n < 0 {
            if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return;
        }
        data = &data[n as usize..];
    }
}

/// The attached side of `run`, `start -a` and `attach`: relays the container's output to
/// ours, our stdin to it (with `stdin`), our terminal size (with `tty`), and hands the
/// signals we receive to `on_signal` (Docker's sig-proxy). On a terminal, typing
/// `detach_keys` (Docker's `ctrl-p,ctrl-q` by default; empty: never) detaches. Signals
/// must be blocked by the caller (see `runtime::wait::block_signals`).
pub fn client_loop(
    mut stream: UnixStream,
    stdin: bool,
    tty: bool,
    detach_keys: &[u8],
    mut on_signal: impl FnMut(nix::sys::signal::Signal),
) -> std::io::Result<Ended> {
    use nix::sys::signal::{SigSet, Signal};
    use nix::sys::signalfd::{SfdFlags, SignalFd};
    use std::os::fd::{AsFd, AsRawFd};
    let mut set = SigSet::empty();
    for s in [
        Signal::SIGINT,
        Signal::SIGTERM,
        Signal::SIGHUP,
        Signal::SIGQUIT,
        Signal::SIGUSR1,
        Signal::SIGUSR2,
        Signal::SIGWINCH,
    ] {
        set.add(s);
    }
    let _ = set.thread_block();
    let sfd = SignalFd::with_flags(&set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
        .map_err(std::io::Error::from)?;
    let _raw = if tty && stdin {
        Some(runtime::wait::RawMode::enter())
    } else {
        None
    };
    if tty {
        if let Some(p) = winsize_payload() {
            send(&mut stream, RESIZE, &p)?;
        }
    }
    let mut stdin_open = stdin;
    let mut escape = Escape::new(if tty { detach_keys } else { &[] });
    let mut dec = Decoder::default();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut fds = vec![
            libc::pollfd {
                fd: stream.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: sfd.as_fd().as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        if stdin_open {
            fds.push(libc::pollfd {
                fd: 0,
                events: libc::POLLIN,
                revents: 0,
            });
        }
        // SAFETY: fds is a valid pollfd array of its length.
        if unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, -1) } < 0 {
            continue;
        }
        if fds[1].revents != 0 {
            while let Ok(Some(si)) = sfd.read_signal() {
                let Ok(sig) = Signal::try_from(si.ssi_signo as i32) else {
                    continue;
                };
                if sig == Signal::SIGWINCH {
                    if let Some(p) = winsize_payload() {
                        let _ = send(&mut stream, RESIZE, &p);
                    }
                } else if !tty {
                    on_signal(sig);
                }
            }
        }
        if stdin_open && fds.get(2).is_some_and(|f| f.revents != 0) {
            // SAFETY: reading into a buffer we own from fd 0.
            let n = unsafe { libc::read(0, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                stdin_open = false;
                let _ = send(&mut stream, STDIN_CLOSE, b"");
            } else {
                match escape.feed(&buf[..n as usize]) {
                    Some(pass) => {
                        if !pass.is_empty() {
                            let _ = send(&mut stream, STDIN, &pass);
                        }
                    }
                    None => return Ok(Ended::Detached),
                }
            }
        }
        if fds[0].revents != 0 {
            let n = stream.read(&mut buf)?;
            if n == 0 {
                return Ok(Ended::Closed);
            }
            dec.push(&buf[..n]);
            while let Some((k, p)) = dec.next_frame() {
                match k {
                    STDOUT => write_fd(1, &p),
                    STDERR => write_fd(2, &p),
                    EXITED => {
                        let code = String::from_utf8_lossy(&p).trim().parse().unwrap_or(255);
                        return Ok(Ended::Exited(code));
                    }
                    FAILED => {
                        return Ok(Ended::Failed {
                            code: i32::from(p.first().copied().unwrap_or(125)),
                            message: String::from_utf8_lossy(p.get(1..).unwrap_or_default())
                                .into_owned(),
                        })
                    }
                    _ => {}
                }
            }
        }
    }
}

/// Docker's escape proxy: input bytes pass through, except the detach sequence, held
/// while it is being typed (and let through when a byte breaks it).
pub struct Escape<'a> {
    keys: &'a [u8],
    /// How many bytes of `keys` were typed last.
    matched: usize,
}

impl<'a> Escape<'a> {
    /// A proxy for `keys` (none: everything passes).
    pub fn new(keys: &'a [u8]) -> Escape<'a> {
        Escape { keys, matched: 0 }
    }

    /// The bytes to send on, or None: the whole sequence was typed.
    pub fn feed(&mut self, input: &[u8]) -> Option<Vec<u8>> {
        if self.keys.is_empty() {
            return Some(input.to_vec());
        }
        let mut out = Vec::with_capacity(input.len());
        for &b in input {
            if self.keys.get(self.matched) == Some(&b) {
                self.matched += 1;
                if self.matched == self.keys.len() {
                    return None;
                }
                continue;
            }
            // The held prefix was no escape after all.
            out.extend_from_slice(&self.keys[..self.matched]);
            self.matched = 0;
            if self.keys.first() == Some(&b) {
                self.matched = 1;
                if self.keys.len() == 1 {
                    return None;
                }
            } else {
                out.push(b);
            }
        }
        Some(out)
    }
}

/// `--detach-keys`: `ctrl-<c>` or single characters, comma-separated; the bytes.
pub fn detach_keys(v: &str) -> crate::Result<Vec<u8>> {
    let bad = || crate::Error::Invalid(format!("Invalid escape keys ({v}) provided"));
    let mut out = Vec::new();
    for k in v.split(',') {
        let k = k.trim();
        if let Some(c) = k.strip_prefix("ctrl-") {
            let c = c.to_ascii_lowercase();
            let b = match c.as_bytes() {
                [b @ b'a'..=b'z'] => b - b'a' + 1,
                [b'@'] => 0,
                [b'['] => 27,
                [b'\\'] => 28,
                [b']'] => 29,
                [b'^'] => 30,
                [b'_'] => 31,
                _ => return Err(bad()),
            };
            out.push(b);
        } else if k.len() == 1 {
            out.extend_from_slice(k.as_bytes());
        } else {
            return Err(bad());
        }
    }
    Ok(out)
}

/// Docker's default detach sequence, `ctrl-p,ctrl-q`.
pub const DEFAULT_DETACH_KEYS: &[u8] = &[0x10, 0x11];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_escape_sequence_is_held_then_detaches_or_passes() {
        let mut e = Escape::new(DEFAULT_DETACH_KEYS);
        assert_eq!(e.feed(b"ab"), Some(b"ab".to_vec()));
        assert_eq!(e.feed(&[0x10]), Some(Vec::new()), "held");
        assert_eq!(e.feed(b"x"), Some(vec![0x10, b'x']), "not the sequence");
        assert_eq!(e.feed(&[b'y', 0x10]), Some(b"y".to_vec()));
        assert_eq!(e.feed(&[0x11, b'z']), None, "detached");
        let mut e = Escape::new(&[]);
        assert_eq!(e.feed(&[0x10, 0x11]), Some(vec![0x10, 0x11]), "no keys");
        let mut e = Escape::new(b"q");
        assert_eq!(e.feed(b"aq"), None);
    }

    #[test]
    fn detach_keys_in_dockers_words() {
        assert_eq!(detach_keys("ctrl-p,ctrl-q").expect("keys"), [16, 17]);
        assert_eq!(
            detach_keys("ctrl-@,x,ctrl-\\").expect("keys"),
            [0, b'x', 28]
        );
        assert_eq!(
            detach_keys("bogus").expect_err("bad").to_string(),
            "Invalid escape keys (bogus) provided"
        );
    }

    #[test]
    fn frames_round_trip_in_pieces() {
        let mut all = frame(STDOUT, b"hello");
        all.extend(frame(EXITED, b"3"));
        let mut d = Decoder::default();
        for b in all.chunks(3) {
            d.push(b);
        }
        assert_eq!(d.next_frame(), Some((STDOUT, b"hello".to_vec())));
        assert_eq!(d.next_frame(), Some((EXITED, b"3".to_vec())));
        assert_eq!(d.next_frame(), None);
        let mut r = std::io::Cursor::new(frame(STARTED, b"42"));
        assert_eq!(recv(&mut r).expect("read"), Some((STARTED, b"42".to_vec())));
        assert_eq!(recv(&mut r).expect("read"), None);
    }
}
