//! quai's container networking: address management (`ipam`), published-port specs
//! (`ports`), and the kernel side (`bridge`): a Linux bridge per network, a veth pair into
//! each container's network namespace, and NAT (egress masquerade, published ports as
//! DNAT) in an nftables table that quai owns (`ip quai`), never touching other tables.
//!
//! Links, addresses, routes and published ports go over netlink sockets (`netlink`); the
//! table itself and a network's set elements are loaded with `nft` (Debian `nftables`),
//! which runs once per network: docs/adr/008 and 009. Depends on nothing of quai's; never
//! on the runtime, the engine or anything async.

pub mod bridge;
pub mod ipam;
pub mod netlink;
pub mod ns;
pub mod ports;
pub mod services;

/// Networking errors, each naming what failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A command (`nft`) or a netlink request failed; `what` names it.
    #[error("{what}: {message}")]
    Command { what: String, message: String },
    /// Bad input, with the reason.
    #[error("{0}")]
    Invalid(String),
    /// No free address left.
    #[error("no free address left in {0}")]
    Exhausted(String),
    /// A file operation.
    #[error("{op} {path}: {source}")]
    Io {
        op: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Result alias.
pub type Result<T, E = Error> = std::result::Result<T, E>;
