//! Parent/child synchronisation over a `SOCK_SEQPACKET` socket pair: one message a packet.
//!
//! The socket is close-on-exec, so a successful `execve` in the child shows up as EOF in the
//! parent, and an error is a message sent just before the child exits.

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};

use nix::sys::socket::{
    self, AddressFamily, ControlMessage, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};

use crate::error::{Error, Result, SysContext};

/// A message between the runtime and the processes it forks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    /// The stage-1 child has unshared its user namespace: write the id maps.
    UsernsReady,
    /// The id maps are written.
    MapsWritten,
    /// Go on (the child is in its cgroup).
    Go,
    /// Host pid of the container's init.
    InitPid(i32),
    /// Init asks the runtime to run prestart and createRuntime hooks.
    RuntimeHooks,
    /// The runtime hooks ran; the payload is the state JSON for the container's hooks.
    HooksDone(String),
    /// Init is ready and waits for `start`.
    Ready,
    /// Start the user process now (used by `run`).
    Start,
    /// The child failed; the text is for the user.
    Error(crate::error::ChildError),
}

impl Msg {
    fn encode(&self) -> Vec<u8> {
        let (tag, payload): (u8, Vec<u8>) = match self {
            Msg::UsernsReady => (1, vec![]),
            Msg::MapsWritten => (2, vec![]),
            Msg::Go => (3, vec![]),
            Msg::InitPid(p) => (4, p.to_le_bytes().to_vec()),
            Msg::RuntimeHooks => (5, vec![]),
            Msg::HooksDone(s) => (6, s.as_bytes().to_vec()),
            Msg::Ready => (7, vec![]),
            Msg::Start => (8, vec![]),
            Msg::Error(e) => {
                let kind = match e.kind {
                    crate::error::ChildKind::NotFound => 1,
                    crate::error::ChildKind::NotExecutable => 2,
                    crate::error::ChildKind::Other => 0,
                };
                let mut v = vec![kind];
                v.extend_from_slice(e.message.as_bytes());
                (9, v)
            }
        };
        let mut v = Vec::with_capacity(payload.len() + 1);
        v.push(tag);
        v.extend(payload);
        v
    }

    fn decode(b: &[u8]) -> Option<Msg> {
        let (&tag, rest) = b.split_first()?;
        Some(match tag {
            1 => Msg::UsernsReady,
            2 => Msg::MapsWritten,
            3 => Msg::Go,
            4 => Msg::InitPid(i32::from_le_bytes(rest.get(..4)?.try_into().ok()?)),
            5 => Msg::RuntimeHooks,
            6 => Msg::HooksDone(String::from_utf8_lossy(rest).into_owned()),
            7 => Msg::Ready,
            8 => Msg::Start,
            9 => {
                let (&k, text) = rest.split_first()?;
                Msg::Error(crate::error::ChildError {
                    kind: match k {
                        1 => crate::error::ChildKind::NotFound,
                        2 => crate::error::ChildKind::NotExecutable,
                        _ => crate::error::ChildKind::Other,
                    },
                    message: String::from_utf8_lossy(text).into_owned(),
                })
            }
            _ => return None,
        })
    }
}

/// One end of the channel.
#[derive(Debug)]
pub struct Channel {
    fd: OwnedFd,
}

/// A connected pair (parent end, child end), both close-on-exec.
pub fn pair() -> Result<(Channel, Channel)> {
    let (a, b) = socket::socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .sys("socketpair", "sync channel")?;
    Ok((Channel { fd: a }, Channel { fd: b }))
}

impl Channel {
    /// Send one message.
    pub fn send(&self, m: &Msg) -> Result<()> {
        let b = m.encode();
        socket::send(self.fd.as_raw_fd(), &b, MsgFlags::MSG_NOSIGNAL)
            .sys("send", "sync channel")?;
        Ok(())
    }

    /// Receive one message; `None` on EOF (the peer exited or exec'd).
    pub fn recv(&self) -> Result<Option<Msg>> {
        let mut buf = vec![0u8; 8192];
        loop {
            match socket::recv(self.fd.as_raw_fd(), &mut buf, MsgFlags::empty()) {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    return Msg::decode(&buf[..n])
                        .map(Some)
                        .ok_or_else(|| Error::Invalid("malformed sync message".into()))
                }
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(Error::sys("recv", "sync channel", e)),
            }
        }
    }

    /// Receive and require `want`; an error message or EOF becomes an error.
    pub fn expect(&self, want: &Msg, what: &str) -> Result<()> {
        match self.recv()? {
            Some(m) if &m == want => Ok(()),
            Some(Msg::Error(e)) => Err(Error::Child(e)),
            Some(m) => Err(Error::Invalid(format!("{what}: unexpected message {m:?}"))),
            None => Err(Error::child(format!(
                "{what}: the container process exited"
            ))),
        }
    }

    /// Raw fd (for passing over fork).
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for Channel {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Send `fd` over the unix socket `sock` (SCM_RIGHTS), with a one-byte payload.
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<()> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [std::io::IoSlice::new(b"c")];
    socket::sendmsg::<()>(sock, &iov, &cmsg, MsgFlags::empty(), None)
        .sys("send fd", "console socket")?;
    Ok(())
}

/// Receive one fd sent with [`send_fd`].
pub fn recv_fd(sock: RawFd) -> Result<OwnedFd> {
    use std::os::fd::FromRawFd;
    let mut buf = [0u8; 64];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let msg = socket::recvmsg::<()>(sock, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
        .sys("receive fd", "console socket")?;
    for c in msg.cmsgs().sys("read control message", "console socket")? {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(&fd) = fds.first() {
                // SAFETY: the kernel just installed this fd in our table for us; we own it.
                return Ok(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        }
    }
    Err(Error::Invalid("no fd received on console socket".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (a, b) = pair().expect("pair");
        for m in [
            Msg::Go,
            Msg::InitPid(4242),
            Msg::Error(crate::error::ChildError {
                kind: crate::error::ChildKind::NotExecutable,
                message: "boom: x".into(),
            }),
            Msg::Ready,
        ] {
            a.send(&m).expect("send");
            assert_eq!(b.recv().expect("recv"), Some(m));
        }
        drop(a);
        assert_eq!(b.recv().expect("eof"), None);
    }
}
