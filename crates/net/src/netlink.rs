//! The kernel calls behind a bridge network, over netlink sockets instead of `ip` and `nft`
//! processes (each of those cost 4-25 ms per container; a message costs microseconds):
//! links, addresses and routes over rtnetlink (messages from `netlink-packet-route`), and the
//! elements of quai's nftables maps over nfnetlink (a handful of attributes, encoded here).
//!
//! The kernel handles a netlink request inside the `send` that carries it, so its answers
//! are queued by the time `send` returns.

use std::net::Ipv4Addr;
use std::os::fd::AsFd;

use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL,
    NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{
    InfoBridgePort, InfoData, InfoKind, InfoPortData, InfoPortKind, InfoVeth, LinkAttribute,
    LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols, Socket, SocketAddr};

use crate::{Error, Result};

fn sock_err(what: &str, e: std::io::Error) -> Error {
    Error::Command {
        what: format!("netlink {what}"),
        message: e.to_string(),
    }
}

fn open(protocol: isize) -> Result<Socket> {
    let s = Socket::new(protocol).map_err(|e| sock_err("socket", e))?;
    s.connect(&SocketAddr::new(0, 0))
        .map_err(|e| sock_err("connect", e))?;
    // The kernel answers within the send; a missing answer must not hang a monitor.
    let tv = nix::sys::time::TimeVal::new(5, 0);
    nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::ReceiveTimeout, &tv)
        .map_err(|e| sock_err("set timeout", e.into()))?;
    Ok(s)
}

/// Receive one datagram into `buf` (grown to the kernel's announced size).
fn recv(s: &Socket, buf: &mut Vec<u8>, flags: libc::c_int) -> std::io::Result<usize> {
    buf.clear();
    buf.reserve(65536);
    s.recv(buf, flags)
}

/// The netlink messages in one datagram, as (type, sequence, whole message).
fn messages(mut b: &[u8]) -> Vec<(u16, u32, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 16 {
        let len = u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize;
        if len < 16 || len > b.len() {
            break;
        }
        let ty = u16::from_ne_bytes([b[4], b[5]]);
        let seq = u32::from_ne_bytes([b[8], b[9], b[10], b[11]]);
        out.push((ty, seq, &b[..len]));
        b = &b[len.next_multiple_of(4).min(b.len())..];
    }
    out
}

const NLMSG_ERROR: u16 = 2;

/// The errno of an NLMSG_ERROR payload (0 for an acknowledgement).
fn error_code(payload: &[u8]) -> i32 {
    payload
        .get(..4)
        .map(|c| i32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .unwrap_or(0)
}

/// An rtnetlink socket, in this process's network namespace or a container's.
pub struct Route {
    sock: Socket,
    seq: u32,
}

impl Route {
    pub fn new() -> Result<Route> {
        Ok(Route {
            sock: open(protocols::NETLINK_ROUTE)?,
            seq: 0,
        })
    }

    /// A socket in the network namespace of process `pid` (a socket belongs to the
    /// namespace it was made in; a helper thread enters that one to make it).
    pub fn in_netns_of(pid: i32) -> Result<Route> {
        let path = format!("/proc/{pid}/ns/net");
        let ns = std::fs::File::open(&path).map_err(|source| Error::Io {
            op: "open",
            path: path.clone().into(),
            source,
        })?;
        std::thread::scope(|s| {
            s.spawn(|| {
                nix::sched::setns(ns.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| sock_err(&format!("setns {path}"), e.into()))?;
                Route::new()
            })
            .join()
            .unwrap_or_else(|_| {
                Err(Error::Invalid(
                    "netlink: the namespace helper thread panicked".into(),
                ))
            })
        })
    }

    /// Send one request and wait for its acknowledgement; returns the replies before it.
    /// `what` names the request in errors.
    fn request(
        &mut self,
        msg: RouteNetlinkMessage,
        flags: u16,
        what: &str,
    ) -> Result<Vec<RouteNetlinkMessage>> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = seq;
        let mut m = NetlinkMessage::new(header, NetlinkPayload::from(msg));
        m.finalize();
        let mut buf = vec![0u8; m.buffer_len()];
        m.serialize(&mut buf);
        self.sock
            .send(&buf, 0)
            .map_err(|e| sock_err(&format!("send ({what})"), e))?;
        let mut replies = Vec::new();
        let mut rbuf = Vec::new();
        loop {
            recv(&self.sock, &mut rbuf, 0).map_err(|e| sock_err(&format!("recv ({what})"), e))?;
            for (ty, s, whole) in messages(&rbuf) {
                if s != seq {
                    continue;
                }
                if ty != NLMSG_ERROR {
                    // A reply (a GETLINK's answer) comes before the acknowledgement.
                    if let Ok(NetlinkMessage {
                        payload: NetlinkPayload::InnerMessage(inner),
                        ..
                    }) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(whole)
                    {
                        replies.push(inner);
                    }
                    continue;
                }
                let code = error_code(&whole[16..]);
                if code == 0 {
                    return Ok(replies);
                }
                return Err(Error::Command {
                    what: what.to_string(),
                    message: std::io::Error::from_raw_os_error(-code).to_string(),
                });
            }
        }
    }

    /// The index of interface `name`, if there is one.
    pub fn link_index(&mut self, name: &str) -> Result<Option<u32>> {
        Ok(self.link_info(name)?.map(|(index, _)| index))
    }

    /// The index and MTU of interface `name`, if there is one.
    pub fn link_info(&mut self, name: &str) -> Result<Option<(u32, u32)>> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            RouteNetlinkMessage::GetLink(m),
            0,
            &format!("get link {name}"),
        ) {
            Ok(replies) => Ok(replies.into_iter().find_map(|r| match r {
                RouteNetlinkMessage::NewLink(l) => {
                    let mtu = l.attributes.iter().find_map(|a| match a {
                        LinkAttribute::Mtu(m) => Some(*m),
                        _ => None,
                    });
                    Some((l.header.index, mtu.unwrap_or(1500)))
                }
                _ => None,
            })),
            Err(e) if is_errno(&e, libc::ENODEV) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bring an interface up.
    pub fn set_up(&mut self, index: u32, what: &str) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::NewLink(m), 0, what)
            .map(drop)
    }

    /// Take an interface down.
    pub fn set_down(&mut self, index: u32, what: &str) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        m.header.change_mask = LinkFlags::Up;
        self.request(RouteNetlinkMessage::NewLink(m), 0, what)
            .map(drop)
    }

    /// `ip link add NAME [mtu MTU] type bridge`, then its address and up.
    pub fn add_bridge(
        &mut self,
        name: &str,
        gateway: Ipv4Addr,
        prefix: u8,
        mtu: Option<u32>,
    ) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Bridge,
            )]));
        let what = format!("add bridge {name}");
        self.request(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        )?;
        let index = self
            .link_index(name)?
            .ok_or_else(|| Error::Invalid(format!("bridge {name} vanished")))?;
        self.add_address(index, gateway, prefix, &what)?;
        if let Some(mtu) = mtu {
            // Set on the existing bridge (not at creation), so that the kernel keeps it as
            // the user's: otherwise it follows its ports' MTUs and goes back to 1500 when
            // the last one leaves.
            let mut m = LinkMessage::default();
            m.header.index = index;
            m.attributes.push(LinkAttribute::Mtu(mtu));
            self.request(RouteNetlinkMessage::NewLink(m), 0, &what)?;
        }
        self.set_up(index, &what)
    }

    /// `ip addr add IP/PREFIX dev INDEX`.
    pub fn add_address(&mut self, index: u32, ip: Ipv4Addr, prefix: u8, what: &str) -> Result<()> {
        let mut m = AddressMessage::default();
        m.header.family = AddressFamily::Inet;
        m.header.prefix_len = prefix;
        m.header.index = index;
        m.attributes.push(AddressAttribute::Local(ip.into()));
        m.attributes.push(AddressAttribute::Address(ip.into()));
        let o = ip.octets();
        let bcast = u32::from_be_bytes(o) | (u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0));
        m.attributes
            .push(AddressAttribute::Broadcast(Ipv4Addr::from(bcast)));
        self.request(
            RouteNetlinkMessage::NewAddress(m),
            NLM_F_CREATE | NLM_F_EXCL,
            what,
        )
        .map(drop)
    }

    /// A veth pair: `host_if` here, up, on bridge `master`, with hairpin on; `peer` in the
    /// network namespace of `pid`, with MAC address `mac`; both with `mtu`.
    pub fn add_veth(
        &mut self,
        host_if: &str,
        master: u32,
        peer: &str,
        pid: i32,
        mac: [u8; 6],
        mtu: u32,
    ) -> Result<()> {
        let what = format!("add veth {host_if}");
        let mut p = LinkMessage::default();
        p.attributes.push(LinkAttribute::IfName(peer.to_string()));
        p.attributes.push(LinkAttribute::NetNsPid(pid as u32));
        p.attributes.push(LinkAttribute::Address(mac.to_vec()));
        p.attributes.push(LinkAttribute::Mtu(mtu));
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::Mtu(mtu));
        m.header.flags = LinkFlags::Up;
        m.header.change_mask = LinkFlags::Up;
        m.attributes
            .push(LinkAttribute::IfName(host_if.to_string()));
        m.attributes.push(LinkAttribute::Controller(master));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
        ]));
        self.request(
            RouteNetlinkMessage::NewLink(m),
            NLM_F_CREATE | NLM_F_EXCL,
            &what,
        )?;
        // Hairpin: a container reaches its own published port through the bridge.
        let mut h = LinkMessage::default();
        h.attributes
            .push(LinkAttribute::IfName(host_if.to_string()));
        h.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::PortKind(InfoPortKind::Bridge),
            LinkInfo::PortData(InfoPortData::BridgePort(vec![InfoBridgePort::HairpinMode(
                true,
            )])),
        ]));
        if let Err(e) = self.request(RouteNetlinkMessage::NewLink(h), 0, &what) {
            let _ = self.del_link(host_if);
            return Err(e);
        }
        Ok(())
    }

    /// `ip route add default via GATEWAY` (`replace`: `ip route replace ...`).
    pub fn add_default_route(
        &mut self,
        gateway: Ipv4Addr,
        replace: bool,
        what: &str,
    ) -> Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = AddressFamily::Inet;
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Universe;
        m.header.kind = RouteType::Unicast;
        m.attributes
            .push(RouteAttribute::Gateway(RouteAddress::Inet(gateway)));
        let mode = if replace { NLM_F_REPLACE } else { NLM_F_EXCL };
        self.request(RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE | mode, what)
            .map(drop)
    }

    /// `ip link del NAME`; a missing link is fine. Returns whether there was one.
    pub fn del_link(&mut self, name: &str) -> Result<bool> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        match self.request(
            RouteNetlinkMessage::DelLink(m),
            0,
            &format!("delete link {name}"),
        ) {
            Ok(_) => Ok(true),
            Err(e) if is_errno(&e, libc::ENODEV) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

fn is_errno(e: &Error, errno: i32) -> bool {
    matches!(e, Error::Command { message, .. }
        if *message == std::io::Error::from_raw_os_error(errno).to_string())
}

// nfnetlink, for the elements of quai's maps.
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFNL_MSG_BATCH_BEGIN: u16 = 16;
const NFNL_MSG_BATCH_END: u16 = 17;
const NFT_MSG_NEWSETELEM: u16 = 12;
const NFT_MSG_DELSETELEM: u16 = 14;
const NFPROTO_IPV4: u8 = 2;
const NFTA_SET_ELEM_LIST_TABLE: u16 = 1;
const NFTA_SET_ELEM_LIST_SET: u16 = 2;
const NFTA_SET_ELEM_LIST_ELEMENTS: u16 = 3;
const NFTA_LIST_ELEM: u16 = 1;
const NFTA_SET_ELEM_KEY: u16 = 1;
const NFTA_SET_ELEM_DATA: u16 = 2;
const NFTA_DATA_VALUE: u16 = 1;
const NLA_F_NESTED: u16 = 1 << 15;

/// An element of one of quai's maps: its key and (when adding) its value, each already
/// laid out as nftables registers (every field in 4-byte slots, big-endian first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    pub map: &'static str,
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// Append a netlink attribute; `f` writes its payload.
fn attr(buf: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    f(buf);
    let len = (buf.len() - start) as u16;
    buf[start..start + 2].copy_from_slice(&len.to_ne_bytes());
    buf[start + 2..start + 4].copy_from_slice(&ty.to_ne_bytes());
    buf.resize(buf.len().next_multiple_of(4), 0);
}

/// Append a netlink message with an nfgenmsg header; `f` writes its attributes.
fn nf_message(
    buf: &mut Vec<u8>,
    ty: u16,
    flags: u16,
    seq: u32,
    family: u8,
    res_id: u16,
    f: impl FnOnce(&mut Vec<u8>),
) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 4]);
    buf.extend_from_slice(&ty.to_ne_bytes());
    buf.extend_from_slice(&flags.to_ne_bytes());
    buf.extend_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&0u32.to_ne_bytes());
    buf.extend_from_slice(&[family, 0]);
    buf.extend_from_slice(&res_id.to_be_bytes());
    f(buf);
    let len = (buf.len() - start) as u32;
    buf[start..start + 4].copy_from_slice(&len.to_ne_bytes());
}

/// This process's nftables socket, with the last sequence number used. It is opened once
/// and only closed at exit: when the last netfilter socket closes after a deletion, the
/// kernel first finishes the frees that the deletion deferred, a whole RCU grace period
/// (10-30 ms here). At exit nobody waits for that: the monitor that withdrew a container's
/// ports has reported the exit already.
static NFT: std::sync::Mutex<Option<(Socket, u32)>> = std::sync::Mutex::new(None);

/// One nftables transaction adding (or deleting) `elements` in table `ip quai`: all of
/// them or none. The error names the first element refused.
pub fn set_elements(add: bool, elements: &[Element]) -> Result<()> {
    if elements.is_empty() {
        return Ok(());
    }
    let mut guard = NFT.lock().unwrap_or_else(|p| p.into_inner());
    if guard.is_none() {
        *guard = Some((open(protocols::NETLINK_NETFILTER)?, 0));
    }
    let Some((s, last_seq)) = guard.as_mut() else {
        return Err(Error::Invalid("netlink: no nftables socket".into()));
    };
    // Sequence numbers from base on (at most one message per element, and the batch's
    // begin and end): answers left over from an earlier call are skipped.
    let base = *last_seq;
    *last_seq = base.wrapping_add(elements.len() as u32 + 2);
    let mut buf = Vec::new();
    nf_message(
        &mut buf,
        NFNL_MSG_BATCH_BEGIN,
        NLM_F_REQUEST,
        base,
        0,
        NFNL_SUBSYS_NFTABLES,
        |_| {},
    );
    let (ty, flags) = if add {
        (NFT_MSG_NEWSETELEM, NLM_F_CREATE)
    } else {
        (NFT_MSG_DELSETELEM, 0)
    };
    // One message per map and run of at most ELEMENTS_PER_MESSAGE elements (a nested
    // attribute's length is 16 bits). Only the last asks for an acknowledgement: the
    // kernel answers a failed message with an error anyway, and one answer per element
    // would overflow the socket's receive buffer for a wide port range.
    let mut groups: Vec<(&'static str, Vec<&Element>)> = Vec::new();
    for e in elements {
        match groups.last_mut() {
            Some((m, v)) if *m == e.map && v.len() < ELEMENTS_PER_MESSAGE => v.push(e),
            _ => groups.push((e.map, vec![e])),
        }
    }
    let count = groups.len() as u32;
    for (i, (map, group)) in groups.iter().enumerate() {
        let last = i as u32 + 1 == count;
        nf_message(
            &mut buf,
            (NFNL_SUBSYS_NFTABLES << 8) | ty,
            NLM_F_REQUEST | flags | if last { NLM_F_ACK } else { 0 },
            base.wrapping_add(i as u32 + 1),
            NFPROTO_IPV4,
            0,
            |b| {
                attr(b, NFTA_SET_ELEM_LIST_TABLE, |b| {
                    b.extend_from_slice(b"quai\0")
                });
                attr(b, NFTA_SET_ELEM_LIST_SET, |b| {
                    b.extend_from_slice(map.as_bytes());
                    b.push(0);
                });
                attr(b, NFTA_SET_ELEM_LIST_ELEMENTS | NLA_F_NESTED, |b| {
                    for e in group {
                        attr(b, NFTA_LIST_ELEM | NLA_F_NESTED, |b| {
                            attr(b, NFTA_SET_ELEM_KEY | NLA_F_NESTED, |b| {
                                attr(b, NFTA_DATA_VALUE, |b| b.extend_from_slice(&e.key));
                            });
                            if let Some(v) = &e.value {
                                attr(b, NFTA_SET_ELEM_DATA | NLA_F_NESTED, |b| {
                                    attr(b, NFTA_DATA_VALUE, |b| b.extend_from_slice(v));
                                });
                            }
                        });
                    }
                });
            },
        );
    }
    nf_message(
        &mut buf,
        NFNL_MSG_BATCH_END,
        NLM_F_REQUEST,
        base.wrapping_add(count + 1),
        0,
        NFNL_SUBSYS_NFTABLES,
        |_| {},
    );
    let what = if add { "add" } else { "delete" };
    s.send(&buf, 0)
        .map_err(|e| sock_err(&format!("send (nftables {what} element)"), e))?;
    // The batch ran inside `send`: every answer is queued now.
    let mut rbuf = Vec::new();
    let mut acked = false;
    let mut first_error: Option<(u32, i32)> = None;
    loop {
        match recv(s, &mut rbuf, libc::MSG_DONTWAIT) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => return Err(sock_err(&format!("recv (nftables {what} element)"), e)),
        }
        for (ty, seq, whole) in messages(&rbuf) {
            let seq = seq.wrapping_sub(base);
            if ty != NLMSG_ERROR || !(1..=count).contains(&seq) {
                continue;
            }
            let code = error_code(&whole[16..]);
            if code != 0 {
                first_error = first_error.or(Some((seq, code)));
            } else if seq == count {
                acked = true;
            }
        }
    }
    match first_error {
        None if acked => Ok(()),
        None => Err(Error::Command {
            what: format!("nftables {what} element"),
            message: "the kernel did not acknowledge the transaction".into(),
        }),
        Some((seq, code)) => {
            let map = groups
                .get(seq.saturating_sub(1) as usize)
                .map(|g| g.0)
                .unwrap_or("?");
            Err(Error::Command {
                what: format!("nftables {what} element in map {map}"),
                message: std::io::Error::from_raw_os_error(-code).to_string(),
            })
        }
    }
}

/// Elements per nftables message: each takes up to 48 bytes, and a nested attribute
/// holds at most 64 KiB.
const ELEMENTS_PER_MESSAGE: usize = 1024;

/// Whether an error from [`set_elements`] means "no such element / table".
pub fn is_missing(e: &Error) -> bool {
    is_errno(e, libc::ENOENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_and_nested() {
        let mut b = Vec::new();
        attr(&mut b, 2 | NLA_F_NESTED, |b| {
            attr(b, 1, |b| b.extend_from_slice(&[6]));
        });
        // Outer: 4 header + inner (4 header + 1 byte, padded to 8) = 12.
        assert_eq!(b.len(), 12);
        assert_eq!(u16::from_ne_bytes([b[0], b[1]]), 12);
        assert_eq!(u16::from_ne_bytes([b[2], b[3]]), 2 | NLA_F_NESTED);
        assert_eq!(u16::from_ne_bytes([b[4], b[5]]), 5);
        assert_eq!(&b[8..], &[6, 0, 0, 0]);
    }

    #[test]
    fn messages_split_a_datagram() {
        let mut b = Vec::new();
        nf_message(&mut b, 2, 0, 7, 0, 0, |b| b.extend_from_slice(&[0; 4]));
        nf_message(&mut b, 2, 0, 8, 0, 0, |b| {
            b.extend_from_slice(&[1, 0, 0, 0])
        });
        let m = messages(&b);
        assert_eq!(m.len(), 2);
        assert_eq!((m[0].0, m[0].1), (2, 7));
        assert_eq!(m[1].1, 8);
    }
}
