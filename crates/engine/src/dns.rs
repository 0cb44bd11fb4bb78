//! The embedded DNS server of a user-defined network (`quai __dns NETWORK`): one process
//! per network, on the network's gateway address, port 53 (UDP and TCP). It answers A
//! queries for the names, aliases and short ids of the network's running containers, and
//! PTR queries for their addresses (`NAME.NETWORK`), from the state database, and forwards everything else to the asking container's `--dns`
//! servers, or the host's resolvers (each forwarded query on a thread of its own, so a slow
//! upstream holds up nobody else).
//! Docker gives the default bridge no DNS; neither does quai.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{
    emit_message_parts, Header, MessageType, Metadata, OpCode, Query, ResponseCode,
};
use hickory_proto::rr::rdata::{A, PTR};
use hickory_proto::rr::{Name, Record, RecordData, RecordType};
use hickory_proto::serialize::binary::{BinDecodable, BinDecoder, BinEncoder};

use crate::db::Db;
use crate::network_record::Network;
use crate::{Error, Paths, Result};

/// The hidden subcommand.
pub const ARG: &str = "__dns";

/// Where a network's DNS server records its pid.
pub fn pid_file(paths: &Paths, n: &Network) -> std::path::PathBuf {
    paths.run.join(format!("dns-{}.pid", n.bridge))
}

/// Start the network's DNS server unless it runs (its pid file names a live `__dns`).
pub fn ensure(paths: &Paths, n: &Network) -> Result<()> {
    if running(paths, n).is_some() {
        return Ok(());
    }
    // Containers on one network start at once (compose starts a project's together):
    // one of them starts the server, the others find it running.
    let _one = crate::lock::container(paths, &format!("dns-{}", n.bridge))?;
    if running(paths, n).is_some() {
        return Ok(());
    }
    use std::os::unix::process::CommandExt;
    // Our own binary through the magic link: after the re-exec from the read-only copy
    // (runtime::selfexe) no path in any mount namespace names it.
    let mut cmd = std::process::Command::new("/proc/self/exe");
    cmd.arg0("quai");
    cmd.arg(ARG)
        .arg("--root")
        .arg(&paths.root)
        .arg("--run")
        .arg(&paths.run)
        .arg(&n.name)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    use std::os::fd::AsRawFd;
    let host_mnt = crate::rootfs::HOST_MOUNT_NS.get().map(|f| f.as_raw_fd());
    // SAFETY: setns and setsid are async-signal-safe; the fd stays open in the parent.
    unsafe {
        cmd.pre_exec(move || {
            if let Some(fd) = host_mnt {
                if libc::setns(fd, libc::CLONE_NEWNS) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            libc::setsid();
            Ok(())
        });
    }
    // It serves on the bridge: in the bridges' namespace (rootless, not ours).
    let out = net::ns::in_bridge_ns(|| {
        let child = cmd
            .spawn()
            .map_err(|e| Error::io("start", "dns server", e))?;
        // The first process binds, writes the pid file, forks the server and exits: its
        // status and words say whether the server is up (the server keeps no stderr).
        child
            .wait_with_output()
            .map_err(|e| Error::io("wait for", "dns server", e))
    })?;
    if out.status.success() {
        return Ok(());
    }
    let why = String::from_utf8_lossy(&out.stderr).trim().to_string();
    Err(Error::Invalid(format!(
        "start the DNS server of network {}: {}",
        n.name,
        if why.is_empty() {
            format!("it exited with {}", out.status)
        } else {
            why
        }
    )))
}

/// Stop a network's DNS server.
pub fn stop(paths: &Paths, n: &Network) {
    if let Some(pid) = running(paths, n) {
        // SAFETY: kill(2) on the DNS server this engine started (checked by its cmdline).
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    let _ = std::fs::remove_file(pid_file(paths, n));
}

/// The pid of the network's DNS server, when its pid file names a live `__dns`.
fn running(paths: &Paths, n: &Network) -> Option<i32> {
    let pid = std::fs::read_to_string(pid_file(paths, n))
        .ok()?
        .trim()
        .parse::<i32>()
        .ok()?;
    let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    String::from_utf8_lossy(&cmd).contains(ARG).then_some(pid)
}

/// Entry point: `quai __dns --root R --run D NETWORK`.
pub fn main(args: &[std::ffi::OsString]) -> i32 {
    let a: Vec<String> = args
        .iter()
        .skip(2)
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    let (Some(root), Some(run), Some(name)) = (
        a.iter()
            .position(|x| x == "--root")
            .and_then(|i| a.get(i + 1)),
        a.iter()
            .position(|x| x == "--run")
            .and_then(|i| a.get(i + 1)),
        a.last(),
    ) else {
        return 2;
    };
    let paths = Paths::new(Path::new(root), Path::new(run));
    let res = (|| -> Result<()> {
        let db = Db::open(&paths.root)?;
        let n = crate::network_record::get(&db, name)?;
        let gw = n.subnet()?.gateway();
        let sock = UdpSocket::bind(SocketAddr::from((gw, 53)))
            .map_err(|e| Error::io("bind", format!("{gw}:53/udp"), e))?;
        let tcp = TcpListener::bind(SocketAddr::from((gw, 53)))
            .map_err(|e| Error::io("bind", format!("{gw}:53/tcp"), e))?;
        // SAFETY: single-threaded; the parent only writes the pid file and exits.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Parent { child }) => {
                let pf = pid_file(&paths, &n);
                std::fs::write(&pf, child.as_raw().to_string())
                    .map_err(|e| Error::io("write", pf, e))?;
                // SAFETY: _exit in the parent of a fork.
                unsafe { libc::_exit(0) }
            }
            Ok(nix::unistd::ForkResult::Child) => {
                // Nobody reads our stderr after the parent's exit: the pipe would only
                // hold the starting command.
                if let Ok(null) = std::fs::OpenOptions::new().write(true).open("/dev/null") {
                    // SAFETY: dup2 of a valid descriptor onto stderr.
                    unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), 2) };
                }
                serve(&paths, &db, &n, &sock, tcp)
            }
            Err(e) => Err(Error::io("fork", "dns server", e.into())),
        }
    })();
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("{e}");
            1
        }
    }
}

/// Where to forward a query from `from`: the `--dns` servers of the container at that
/// address on this network, else the host's resolvers.
fn upstreams_for(
    db: &Db,
    n: &Network,
    from: std::net::IpAddr,
    host: &[SocketAddr],
) -> Vec<SocketAddr> {
    match container_at(db, n, &from.to_string()) {
        Some(r) if !r.config.dns.is_empty() => r
            .config
            .dns
            .iter()
            .filter_map(|d| d.parse::<std::net::IpAddr>().ok())
            .map(|ip| SocketAddr::from((ip, 53)))
            .collect(),
        _ => host.to_vec(),
    }
}

pub fn upstreams() -> Vec<SocketAddr> {
    std::fs::read_to_string("/etc/resolv.conf")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.strip_prefix("nameserver"))
        .filter_map(|a| a.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::from((ip, 53)))
        .collect()
}

/// The first question of a query, decoded by `hickory-proto`.
pub struct Question {
    pub header: Metadata,
    pub query: Query,
    /// The queried name, lower case, without the trailing dot.
    pub name: String,
}

/// The query's first question; None for what is not a DNS message with one (too short, a
/// bad name such as a pointer loop, no question): such a message is dropped.
///
/// Only the header and the first question are decoded: the server reads nothing else
/// (as before), and decoding whole messages (`Message::from_vec`) would link a parser
/// for every record type (docs/adr/011).
pub fn question(q: &[u8]) -> Option<Question> {
    let mut d = BinDecoder::new(q);
    let h = Header::read(&mut d).ok()?;
    if h.counts.queries == 0 {
        return None;
    }
    let query = Query::read(&mut d).ok()?;
    let name = query
        .name()
        .iter()
        .map(|l| String::from_utf8_lossy(l).to_ascii_lowercase())
        .collect::<Vec<_>>()
        .join(".");
    Some(Question {
        header: h.metadata,
        query,
        name,
    })
}

pub fn a_records(ips: &[Ipv4Addr]) -> Vec<A> {
    ips.iter().map(|ip| A(*ip)).collect()
}

/// The PTR data naming `owner` (`NAME.NETWORK`); labels longer than DNS allows are cut.
pub fn ptr_record(owner: &str) -> Option<PTR> {
    // Label by label: `Name::from_labels` formats its errors with names' Unicode forms,
    // which links IDNA tables (about 100 KB).
    let mut n = Name::root();
    for l in owner.split('.').filter(|l| !l.is_empty()) {
        n = n.append_label(&l.as_bytes()[..l.len().min(63)]).ok()?;
    }
    Some(PTR(n))
}

/// A reply to `q` (its question echoed) with `answers` for the question's name.
/// `limit` is the largest reply the transport takes (512 bytes for UDP, RFC 1035): the
/// encoder leaves out the answers beyond it and marks the reply truncated, so the client
/// asks again over TCP.
pub fn reply<R: RecordData>(
    q: &Question,
    answers: Vec<R>,
    rcode: ResponseCode,
    limit: u16,
) -> Option<Vec<u8>> {
    let mut h = Metadata::new(q.header.id, MessageType::Response, OpCode::Query);
    h.authoritative = true;
    h.recursion_desired = q.header.recursion_desired;
    h.recursion_available = true;
    h.response_code = rcode;
    let name = q.query.name();
    let answers: Vec<Record<R>> = answers
        .into_iter()
        .map(|d| Record::from_rdata(name.clone(), 600, d))
        .collect();
    let mut out = Vec::with_capacity(512);
    let mut enc = BinEncoder::new(&mut out);
    enc.set_max_size(limit);
    let none = std::iter::empty::<&Record<R>>;
    emit_message_parts(
        &h,
        &mut std::iter::once(&q.query),
        &mut answers.iter(),
        &mut none(),
        &mut none(),
        None,
        None,
        &mut enc,
    )
    .ok()?;
    Some(out)
}

/// For `D.C.B.A.in-addr.arpa`: `NAME.NETWORK` of the running container of `n` at A.B.C.D.
fn reverse(db: &Db, n: &Network, name: &str) -> Option<String> {
    let rev = name.strip_suffix(".in-addr.arpa")?;
    let mut o: Vec<u8> = rev
        .split('.')
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    if o.len() != 4 {
        return None;
    }
    o.reverse();
    let ip = Ipv4Addr::new(o[0], o[1], o[2], o[3]).to_string();
    container_at(db, n, &ip).map(|r| format!("{}.{}", r.name, n.name))
}

/// The container that has address `ip` on network `n` (on its first network or joined
/// later).
fn container_at(db: &Db, n: &Network, ip: &str) -> Option<crate::db::Record> {
    db.list().ok()?.into_iter().find(|r| {
        (r.config.network_mode.is_on(&n.name) && r.state.ip == ip)
            || r.state
                .endpoints
                .iter()
                .any(|e| e.network == n.name && e.ip == ip)
    })
}

/// Addresses of running containers of `n` called `name` (name, alias, short id).
fn lookup(db: &Db, n: &Network, name: &str) -> Vec<Ipv4Addr> {
    let name = name.strip_suffix(&format!(".{}", n.name)).unwrap_or(name);
    db.list()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|r| {
            let named = r.name == name || (name.len() >= 12 && r.id.starts_with(name));
            if r.config.network_mode.is_on(&n.name) && !r.state.ip.is_empty() {
                let alias = r.config.aliases.iter().any(|a| a == name);
                return (named || alias).then(|| r.state.ip.parse().ok()).flatten();
            }
            let e = r.state.endpoints.iter().find(|e| e.network == n.name)?;
            // (Its first network, joined again while it runs, comes as an endpoint too.)
            let alias = r
                .config
                .networks
                .iter()
                .any(|a| a.network == n.name && a.aliases.iter().any(|x| x == name))
                || (r.config.network_mode.is_on(&n.name)
                    && r.config.aliases.iter().any(|a| a == name));
            (named || alias).then(|| e.ip.parse().ok()).flatten()
        })
        .collect()
}

/// The largest reply over UDP without EDNS (RFC 1035).
pub const UDP_LIMIT: u16 = 512;
/// Forwarded queries in flight at most; more get SERVFAIL at once.
const MAX_FORWARDS: usize = 64;

/// The answer to a query for one of the network's containers, or None to forward it.
fn local_answer(db: &Db, n: &Network, q: &[u8], limit: u16) -> Option<Vec<u8>> {
    let q = question(q)?;
    let qtype = q.query.query_type();
    if let Some(owner) = reverse(db, n, &q.name) {
        let answers: Vec<PTR> = if qtype == RecordType::PTR {
            ptr_record(&owner).into_iter().collect()
        } else {
            Vec::new()
        };
        return reply(&q, answers, ResponseCode::NoError, limit);
    }
    let local = lookup(db, n, &q.name);
    if local.is_empty() {
        return None;
    }
    // A name of ours with no record of the type asked (AAAA): no data, not "no such name".
    let answers = if qtype == RecordType::A {
        a_records(&local)
    } else {
        Vec::new()
    };
    reply(&q, answers, ResponseCode::NoError, limit)
}

/// SERVFAIL for a query (None when it is not one).
pub fn servfail(q: &[u8]) -> Option<Vec<u8>> {
    reply::<A>(&question(q)?, Vec::new(), ResponseCode::ServFail, UDP_LIMIT)
}

/// Ask the host's resolvers over UDP; their first answer.
pub fn forward_udp(q: &[u8], ups: &[SocketAddr]) -> Option<Vec<u8>> {
    ups.iter().find_map(|up| {
        let u = UdpSocket::bind(SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0))).ok()?;
        u.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        u.send_to(q, up).ok()?;
        let mut rb = vec![0u8; 65535];
        let (rl, _) = u.recv_from(&mut rb).ok()?;
        rb.truncate(rl);
        Some(rb)
    })
}

/// Read one length-prefixed DNS message from a TCP stream (None at its end).
fn read_tcp_message(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len).ok()?;
    let mut m = vec![0u8; usize::from(u16::from_be_bytes(len))];
    s.read_exact(&mut m).ok()?;
    Some(m)
}

fn write_tcp_message(s: &mut TcpStream, m: &[u8]) -> std::io::Result<()> {
    let len = u16::try_from(m.len()).unwrap_or(u16::MAX);
    let mut b = len.to_be_bytes().to_vec();
    b.extend_from_slice(&m[..usize::from(len)]);
    s.write_all(&b)
}

/// Ask the host's resolvers over TCP; their first answer.
fn forward_tcp(q: &[u8], ups: &[SocketAddr]) -> Option<Vec<u8>> {
    ups.iter().find_map(|up| {
        let mut c = TcpStream::connect_timeout(up, Duration::from_secs(2)).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        write_tcp_message(&mut c, q).ok()?;
        read_tcp_message(&mut c)
    })
}

/// One DNS-over-TCP client: queries until it closes or idles for 10 s.
fn serve_tcp(paths: &Paths, n: &Network, mut c: TcpStream, ups: &[SocketAddr]) {
    let Ok(db) = Db::open(&paths.root) else {
        return;
    };
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let ups = match c.peer_addr() {
        Ok(p) => upstreams_for(&db, n, p.ip(), ups),
        Err(_) => ups.to_vec(),
    };
    while let Some(q) = read_tcp_message(&mut c) {
        let r = local_answer(&db, n, &q, u16::MAX)
            .or_else(|| forward_tcp(&q, &ups))
            .or_else(|| servfail(&q));
        match r {
            Some(r) if write_tcp_message(&mut c, &r).is_ok() => {}
            _ => return,
        }
    }
}

fn serve(paths: &Paths, db: &Db, n: &Network, sock: &UdpSocket, tcp: TcpListener) -> Result<()> {
    let ups: Arc<[SocketAddr]> = upstreams().into();
    {
        let (paths, n, ups) = (paths.clone(), n.clone(), ups.clone());
        std::thread::spawn(move || {
            for c in tcp.incoming().flatten() {
                let (paths, n, ups) = (paths.clone(), n.clone(), ups.clone());
                std::thread::spawn(move || serve_tcp(&paths, &n, c, &ups));
            }
        });
    }
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut buf = [0u8; 1500];
    loop {
        let Ok((len, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let q = &buf[..len];
        if let Some(r) = local_answer(db, n, q, UDP_LIMIT) {
            let _ = sock.send_to(&r, from);
            continue;
        }
        // Not ours: ask the host's resolvers, off this loop.
        let Some(fail) = servfail(q) else {
            continue;
        };
        let out = sock.try_clone();
        if in_flight.fetch_add(1, Ordering::SeqCst) >= MAX_FORWARDS || out.is_err() {
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let _ = sock.send_to(&fail, from);
            continue;
        }
        let ups = upstreams_for(db, n, from.ip(), &ups);
        let (q, in_flight) = (q.to_vec(), in_flight.clone());
        std::thread::spawn(move || {
            let r = forward_udp(&q, &ups).unwrap_or(fail);
            if let Ok(out) = out {
                let _ = out.send_to(&r, from);
            }
            in_flight.fetch_sub(1, Ordering::SeqCst);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// id 0x1234, RD, one question: `Web.front` A IN.
    fn query() -> Vec<u8> {
        let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in ["Web", "front"] {
            q.push(l.len() as u8);
            q.extend_from_slice(l.as_bytes());
        }
        q.extend_from_slice(&[0, 0, 1, 0, 1]);
        q
    }

    #[test]
    fn parses_questions_and_builds_answers() {
        let q = query();
        let end = q.len();
        let qq = question(&q).expect("question");
        assert_eq!(qq.name, "web.front");
        assert_eq!(qq.query.query_type(), RecordType::A);
        let ip = Ipv4Addr::new(10, 100, 0, 2);
        let r = reply(&qq, a_records(&[ip]), ResponseCode::NoError, UDP_LIMIT).expect("reply");
        assert_eq!(&r[..2], &[0x12, 0x34]);
        // Response, authoritative, recursion desired copied; recursion available, NOERROR.
        assert_eq!(&r[2..4], &[0x85, 0x80]);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 1);
        // The question comes back as it was asked (its case too: 0x20 randomisation).
        assert_eq!(&r[12..end], &q[12..]);
        // The answer names the question by pointer: type A, class IN, TTL 600.
        assert_eq!(
            &r[end..end + 12],
            &[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 2, 0x58, 0, 4]
        );
        assert_eq!(&r[r.len() - 4..], &[10, 100, 0, 2]);
        assert_eq!(r.len(), end + 16);
        // 40 answers do not fit in 512 bytes: as many as fit, marked truncated.
        let many = a_records(&[ip; 40]);
        let r = reply(&qq, many.clone(), ResponseCode::NoError, UDP_LIMIT).expect("reply");
        assert!(r.len() <= usize::from(UDP_LIMIT));
        assert_eq!(r[2] & 0x02, 0x02);
        assert_eq!(
            u16::from_be_bytes([r[6], r[7]]) as usize,
            (usize::from(UDP_LIMIT) - end) / 16
        );
        let r = reply(&qq, many, ResponseCode::NoError, u16::MAX).expect("reply");
        assert_eq!(r[2] & 0x02, 0);
        assert_eq!(u16::from_be_bytes([r[6], r[7]]), 40);
        // A PTR record carries a name.
        let ptr = ptr_record("db.front").expect("ptr");
        let r = reply(&qq, vec![ptr], ResponseCode::NoError, UDP_LIMIT).expect("reply");
        assert_eq!(&r[end + 2..end + 4], &12u16.to_be_bytes());
        let m = hickory_proto::op::Message::from_vec(&r).expect("decode");
        let want = Name::from_labels([&b"db"[..], b"front"]).expect("name");
        assert_eq!(m.answers[0].data, hickory_proto::rr::RData::PTR(PTR(want)));
        // EDNS (an OPT record in the additional section) is not read, nor answered.
        let mut edns = q.clone();
        edns[11] = 1;
        edns.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
        let qq = question(&edns).expect("question with EDNS");
        let r = reply(&qq, a_records(&[ip]), ResponseCode::NoError, UDP_LIMIT).expect("reply");
        assert_eq!(&r[8..12], &[0, 0, 0, 0]);
        assert_eq!(&r[12..end], &q[12..]);
        // SERVFAIL: the question, no answer, rcode 2.
        let r = servfail(&q).expect("servfail");
        assert_eq!(&r[2..4], &[0x85, 0x82]);
        assert_eq!(&r[12..], &q[12..]);
    }

    #[test]
    fn malformed_queries_are_dropped() {
        let q = query();
        // A truncated header, a header alone, and a question cut short.
        for short in [&q[..5], &q[..12], &q[..q.len() - 2]] {
            assert!(question(short).is_none(), "{short:?}");
            assert!(servfail(short).is_none(), "{short:?}");
        }
        // Zero questions (QDCOUNT 0), even with bytes after the header.
        let mut none = q.clone();
        none[5] = 0;
        assert!(question(&none).is_none());
        assert!(servfail(&none).is_none());
        // A name that is a pointer to itself, and two pointers to each other.
        let mut looped = q[..12].to_vec();
        looped.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1]);
        assert!(question(&looped).is_none());
        assert!(servfail(&looped).is_none());
        let mut pair = q[..12].to_vec();
        pair.extend_from_slice(&[1, b'a', 0xc0, 0x10, 0xc0, 0x0e, 0, 1, 0, 1]);
        assert!(question(&pair).is_none());
        // A label running past the end.
        let mut long = q[..12].to_vec();
        long.extend_from_slice(&[40, b'a', b'b']);
        assert!(question(&long).is_none());
    }

    #[test]
    fn long_owner_labels_are_cut() {
        let long = "x".repeat(70);
        let PTR(n) = ptr_record(&format!("{long}.net")).expect("ptr");
        assert_eq!(n.iter().map(<[u8]>::len).collect::<Vec<_>>(), vec![63, 3]);
    }
}
