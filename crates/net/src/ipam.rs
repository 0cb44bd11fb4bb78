//! IPv4 address management for a bridge network: the gateway is the first host address
//! unless one is given, containers get the lowest free address (of the `--ip-range` when
//! there is one) that is not the gateway.

use std::net::Ipv4Addr;

use crate::{Error, Result};

/// An IPv4 subnet (`10.99.0.0/16`), with its gateway and the range containers' addresses
/// come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// Network address.
    pub base: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
    /// The gateway, when not the first host address.
    gw: Option<Ipv4Addr>,
    /// First and last address handed out automatically (`--ip-range`).
    range: Option<(u32, u32)>,
}

impl std::fmt::Display for Subnet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

impl std::str::FromStr for Subnet {
    type Err = Error;
    fn from_str(s: &str) -> Result<Subnet> {
        let bad = || Error::Invalid(format!("invalid subnet {s:?} (want A.B.C.D/N)"));
        let (a, p) = s.split_once('/').ok_or_else(bad)?;
        let addr: Ipv4Addr = a.parse().map_err(|_| bad())?;
        let prefix: u8 = p.parse().map_err(|_| bad())?;
        if !(8..=30).contains(&prefix) {
            return Err(bad());
        }
        let base = Ipv4Addr::from(u32::from(addr) & mask(prefix));
        Ok(Subnet {
            base,
            prefix,
            gw: None,
            range: None,
        })
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

impl Subnet {
    /// The gateway (the bridge's address): the first host address unless set.
    pub fn gateway(&self) -> Ipv4Addr {
        self.gw
            .unwrap_or_else(|| Ipv4Addr::from(u32::from(self.base) + 1))
    }

    fn broadcast(&self) -> u32 {
        u32::from(self.base) | !mask(self.prefix)
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.base)
    }

    /// Whether a container may have `ip`: in the subnet, neither its network nor its
    /// broadcast address, not the gateway.
    pub fn usable(&self, ip: Ipv4Addr) -> bool {
        self.contains(ip)
            && ip != self.base
            && u32::from(ip) != self.broadcast()
            && ip != self.gateway()
    }

    /// The same subnet with gateway `gw` (`--gateway`).
    pub fn with_gateway(self, gw: Ipv4Addr) -> Result<Subnet> {
        if !self.contains(gw) || gw == self.base || u32::from(gw) == self.broadcast() {
            return Err(Error::Invalid(format!(
                "gateway {gw} is not a host address of {self}"
            )));
        }
        Ok(Subnet {
            gw: Some(gw),
            ..self
        })
    }

    /// The same subnet, handing out addresses from `range` only (`--ip-range`).
    pub fn with_range(self, range: Subnet) -> Result<Subnet> {
        if !self.contains(range.base) || range.prefix < self.prefix {
            return Err(Error::Invalid(format!(
                "ip range {range} is not inside {self}"
            )));
        }
        Ok(Subnet {
            range: Some((u32::from(range.base), range.broadcast())),
            ..self
        })
    }

    /// The lowest usable address of the range (the whole subnet without one) not in
    /// `used`.
    pub fn allocate(&self, used: &[Ipv4Addr]) -> Result<Ipv4Addr> {
        let (first, last) = self
            .range
            .unwrap_or((u32::from(self.base), self.broadcast()));
        (first..=last)
            .map(Ipv4Addr::from)
            .find(|a| self.usable(*a) && !used.contains(a))
            .ok_or_else(|| Error::Exhausted(self.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_lowest_free() {
        let s: Subnet = "10.99.3.7/24".parse().expect("subnet");
        assert_eq!(s.to_string(), "10.99.3.0/24");
        assert_eq!(s.gateway(), Ipv4Addr::new(10, 99, 3, 1));
        let a = s.allocate(&[]).expect("free");
        assert_eq!(a, Ipv4Addr::new(10, 99, 3, 2));
        let b = s.allocate(&[a, Ipv4Addr::new(10, 99, 3, 3)]).expect("free");
        assert_eq!(b, Ipv4Addr::new(10, 99, 3, 4));
        assert!(s.contains(b) && !s.contains(Ipv4Addr::new(10, 99, 4, 1)));
        let tiny: Subnet = "10.0.0.0/30".parse().expect("subnet");
        let one = tiny.allocate(&[]).expect("one");
        assert!(
            tiny.allocate(&[one]).is_err(),
            "network, gateway, host, broadcast"
        );
        assert!("10.0.0.0/33".parse::<Subnet>().is_err());
        assert!("nonsense".parse::<Subnet>().is_err());
    }

    #[test]
    fn gateway_and_range_are_honoured() {
        let s: Subnet = "10.7.0.0/24".parse().expect("subnet");
        let g = s
            .with_gateway(Ipv4Addr::new(10, 7, 0, 254))
            .expect("gateway");
        assert_eq!(g.gateway(), Ipv4Addr::new(10, 7, 0, 254));
        // .1 is an ordinary address now; the gateway is never handed out.
        assert_eq!(g.allocate(&[]).expect("free"), Ipv4Addr::new(10, 7, 0, 1));
        assert!(!g.usable(Ipv4Addr::new(10, 7, 0, 254)));
        assert!(s.with_gateway(Ipv4Addr::new(10, 7, 0, 255)).is_err());
        assert!(s.with_gateway(Ipv4Addr::new(10, 8, 0, 1)).is_err());
        let r = g
            .with_range("10.7.0.128/25".parse().expect("range"))
            .expect("range");
        assert_eq!(r.allocate(&[]).expect("free"), Ipv4Addr::new(10, 7, 0, 128));
        // The range's last address is the subnet's broadcast; the one before, the gateway.
        let used: Vec<Ipv4Addr> = (128..=252).map(|i| Ipv4Addr::new(10, 7, 0, i)).collect();
        assert_eq!(
            r.allocate(&used).expect("free"),
            Ipv4Addr::new(10, 7, 0, 253)
        );
        let used: Vec<Ipv4Addr> = (128..=253).map(|i| Ipv4Addr::new(10, 7, 0, i)).collect();
        assert!(r.allocate(&used).is_err());
        assert!(s.with_range("10.7.1.0/25".parse().expect("r")).is_err());
        assert!(s.with_range("10.7.0.0/16".parse().expect("r")).is_err());
    }
}
