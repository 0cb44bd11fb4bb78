//! IPv4 address management for a bridge network: the gateway is the first host address,
//! containers get the lowest free address after it.

use std::net::Ipv4Addr;

use crate::{Error, Result};

/// An IPv4 subnet (`10.99.0.0/16`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subnet {
    /// Network address.
    pub base: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
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
        Ok(Subnet { base, prefix })
    }
}

fn mask(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

impl Subnet {
    /// The gateway (the bridge's address): the first host address.
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.base) + 1)
    }

    /// Whether `ip` is in the subnet.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        u32::from(ip) & mask(self.prefix) == u32::from(self.base)
    }

    /// The lowest address that is neither the network, the gateway, the broadcast nor in
    /// `used`.
    pub fn allocate(&self, used: &[Ipv4Addr]) -> Result<Ipv4Addr> {
        let first = u32::from(self.base) + 2;
        let last = u32::from(self.base) | !mask(self.prefix);
        (first..last)
            .map(Ipv4Addr::from)
            .find(|a| !used.contains(a))
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
}
