//! `network create|ls|inspect|rm|prune`.

use clap::Subcommand;
use engine::lifecycle::Engine;
use engine::network::Network;
use serde_json::{json, Value};

use crate::format;

/// `network` subcommands.
#[derive(Debug, Subcommand)]
pub enum NetworkCmd {
    /// Create a bridge network.
    Create {
        /// Driver (`bridge`).
        #[arg(short, long, default_value = "bridge")]
        driver: String,
        /// Subnet (`10.100.7.0/24`); a free /24 of 10.100.0.0/16 when absent.
        #[arg(long)]
        subnet: Option<String>,
        /// Gateway (the subnet's first address).
        #[arg(long)]
        gateway: Option<String>,
        /// Allocate container addresses from this range (must be the subnet here).
        #[arg(long = "ip-range")]
        ip_range: Option<String>,
        /// No traffic in or out of the network, only within it.
        #[arg(long)]
        internal: bool,
        /// Labels.
        #[arg(long = "label")]
        label: Vec<String>,
        /// Driver options.
        #[arg(short, long = "opt")]
        opt: Vec<String>,
        /// Name.
        name: String,
    },
    /// List networks.
    #[command(alias = "list")]
    Ls {
        /// Only ids.
        #[arg(short, long)]
        quiet: bool,
        /// Filter (`name=`, `label=`).
        #[arg(short, long)]
        filter: Vec<String>,
        /// `json` or a Go template.
        #[arg(long)]
        format: Option<String>,
    },
    /// Show network details.
    Inspect {
        /// Go template.
        #[arg(short, long)]
        format: Option<String>,
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Remove networks.
    Rm {
        /// Networks.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Connect a container to a network (besides its first one).
    Connect {
        /// Another name for the container on this network.
        #[arg(long)]
        alias: Vec<String>,
        /// IPv4 address on this network.
        #[arg(long)]
        ip: Option<String>,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
    /// Disconnect a container from a network it was connected to.
    Disconnect {
        /// Ignored: the container's state is consistent either way.
        #[arg(short, long)]
        force: bool,
        /// Network.
        network: String,
        /// Container.
        container: String,
    },
    /// Remove networks no container uses.
    Prune {
        /// Do not prompt.
        #[arg(short, long)]
        force: bool,
    },
}

/// One entry of `IPAM.Config`: Docker leaves out an `IPRange` that was not given.
fn ipam_config(n: &Network, gw: &str) -> Value {
    let mut c = json!({"Subnet": n.subnet, "Gateway": gw});
    if !n.ip_range.is_empty() {
        c["IPRange"] = json!(n.ip_range);
    }
    c
}

/// Docker's `network inspect` document.
pub fn network_json(eng: &Engine, n: &Network) -> Value {
    let gw = n
        .subnet()
        .map(|s| s.gateway().to_string())
        .unwrap_or_default();
    let mut containers = serde_json::Map::new();
    for r in eng.records().unwrap_or_default() {
        let ip = if r.config.network_mode.is_on(&n.name) && !r.state.ip.is_empty() {
            r.state.ip.clone()
        } else {
            r.state
                .endpoints
                .iter()
                .find(|e| e.network == n.name)
                .map(|e| e.ip.clone())
                .unwrap_or_default()
        };
        if !ip.is_empty() {
            let prefix = n.subnet().map(|s| s.prefix).unwrap_or(0);
            containers.insert(
                r.id.clone(),
                json!({"Name": r.name, "IPv4Address": format!("{ip}/{prefix}")}),
            );
        }
    }
    json!({
        "Name": n.name, "Id": n.id, "Created": n.created, "Scope": "local", "Driver": n.driver,
        "EnableIPv6": false,
        "IPAM": {"Driver": "default", "Config": [ipam_config(n, &gw)]},
        "Internal": n.internal, "Attachable": false,
        "Containers": containers, "Options": n.options, "Labels": n.labels,
        "com.quai.bridge": n.bridge,
    })
}

/// `network ...`.
pub fn network(eng: &mut Engine, cmd: NetworkCmd) -> anyhow::Result<i32> {
    match cmd {
        NetworkCmd::Create {
            driver,
            subnet,
            gateway,
            ip_range,
            internal,
            label,
            opt,
            name,
        } => {
            if driver != "bridge" {
                anyhow::bail!("network driver {driver:?} is not supported: only \"bridge\"");
            }
            let n = eng.network_create(engine::network::CreateArgs {
                name: &name,
                subnet: subnet.as_deref(),
                gateway: gateway.as_deref(),
                ip_range: ip_range.as_deref(),
                internal,
                labels: crate::common::kv(&label),
                options: crate::common::kv(&opt),
            })?;
            println!("{}", n.id);
            Ok(0)
        }
        NetworkCmd::Ls {
            quiet,
            filter,
            format,
        } => {
            let mut rows: Vec<Network> = eng.networks()?;
            rows.retain(|n| {
                filter.iter().all(|f| {
                    let (k, v) = f.split_once('=').unwrap_or((f, ""));
                    match k {
                        "name" => n.name.contains(v),
                        "label" => match v.split_once('=') {
                            Some((lk, lv)) => n.labels.get(lk).is_some_and(|x| x == lv),
                            None => n.labels.contains_key(v),
                        },
                        "driver" => n.driver == v,
                        _ => false,
                    }
                })
            });
            if quiet {
                rows.iter().for_each(|n| println!("{}", &n.id[..12]));
                return Ok(0);
            }
            match format.as_deref() {
                Some("json") => rows.iter().for_each(|n| println!("{}", json!({"ID": &n.id[..12], "Name": n.name, "Driver": n.driver, "Scope": "local"}))),
                Some(t) => {
                    for n in &rows {
                        println!("{}", crate::template::render(t, &network_json(eng, n)).map_err(anyhow::Error::msg)?);
                    }
                }
                None => format::table(
                    &["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                    &rows.iter().map(|n| vec![n.id[..12].to_string(), n.name.clone(), n.driver.clone(), "local".into()]).collect::<Vec<_>>(),
                ),
            }
            Ok(0)
        }
        NetworkCmd::Inspect { format, names } => {
            let mut docs = Vec::new();
            let mut code = 0;
            for n in &names {
                match eng.network(n) {
                    Ok(net) => docs.push(network_json(eng, &net)),
                    Err(e) => {
                        eprintln!("Error: {e}");
                        code = 1;
                    }
                }
            }
            crate::template::print_docs(&docs, format.as_deref())?;
            Ok(code)
        }
        NetworkCmd::Connect {
            alias,
            ip,
            network,
            container,
        } => {
            eng.network_connect(&network, &container, alias, ip)?;
            Ok(0)
        }
        NetworkCmd::Disconnect {
            force: _,
            network,
            container,
        } => {
            eng.network_disconnect(&network, &container)?;
            Ok(0)
        }
        NetworkCmd::Rm { names } => {
            crate::common::each(&names, |n| eng.network_remove(n).map(|_| ()))
        }
        NetworkCmd::Prune { force } => {
            if !crate::common::confirm(
                force,
                "all custom networks not used by at least one container",
            )? {
                return Ok(0);
            }
            println!("Deleted Networks:");
            for n in eng.network_prune()? {
                println!("{n}");
            }
            Ok(0)
        }
    }
}
