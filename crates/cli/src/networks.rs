//! `network create|ls|inspect|rm|prune`.

use clap::Subcommand;
use engine::lifecycle::Engine;
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
            let mut docs: Vec<Value> = eng
                .networks()?
                .iter()
                .map(|n| engine::docker::network_inspect(eng, n))
                .collect();
            for (name, driver) in engine::docker::PREDEFINED {
                docs.push(engine::docker::predefined_network(eng, name, driver));
            }
            docs.sort_by(|a, b| a["Name"].as_str().cmp(&b["Name"].as_str()));
            let text = |d: &Value, k: &str| d[k].as_str().unwrap_or_default().to_string();
            docs.retain(|d| {
                filter.iter().all(|f| {
                    let (k, v) = f.split_once('=').unwrap_or((f, ""));
                    match k {
                        "name" => text(d, "Name").contains(v),
                        "id" => text(d, "Id").starts_with(v),
                        "label" => match v.split_once('=') {
                            Some((lk, lv)) => d["Labels"][lk].as_str() == Some(lv),
                            None => d["Labels"].get(v).is_some(),
                        },
                        "driver" => text(d, "Driver") == v,
                        "scope" => v == "local",
                        "type" => {
                            let builtin =
                                matches!(text(d, "Name").as_str(), "bridge" | "host" | "none");
                            (v == "builtin") == builtin
                        }
                        _ => false,
                    }
                })
            });
            let short = |d: &Value| text(d, "Id").chars().take(12).collect::<String>();
            if quiet {
                docs.iter().for_each(|d| println!("{}", short(d)));
                return Ok(0);
            }
            // `network ls` templates see docker's list fields.
            let rows: Vec<Value> = docs
                .iter()
                .map(|d| {
                    let labels: Vec<String> = d["Labels"]
                        .as_object()
                        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
                        .unwrap_or_default();
                    json!({"ID": short(d), "Name": d["Name"], "Driver": d["Driver"], "Scope": "local",
                           "IPv4": (d["Driver"] == "bridge").to_string(), "IPv6": "false", "Internal": d["Internal"].as_bool().unwrap_or(false).to_string(),
                           "Labels": labels.join(","), "CreatedAt": d["Created"]})
                })
                .collect();
            let format = format.or_else(|| crate::common::config_format("networksFormat"));
            match format.as_deref() {
                Some("json") => rows
                    .iter()
                    .for_each(|r| println!("{}", crate::template::go_json(r))),
                Some(t) => match t.strip_prefix("table") {
                    Some(rest) => println!(
                        "{}",
                        crate::template::render_table(
                            rest.trim_start(),
                            &rows,
                            &[
                                ("ID", "NETWORK ID"),
                                ("Name", "NAME"),
                                ("Driver", "DRIVER"),
                                ("Scope", "SCOPE"),
                                ("IPv6", "IPV6"),
                                ("Internal", "INTERNAL"),
                                ("Labels", "LABELS"),
                                ("CreatedAt", "CREATED")
                            ],
                        )
                        .map_err(anyhow::Error::msg)?
                    ),
                    None => {
                        for r in &rows {
                            println!(
                                "{}",
                                crate::template::render(t, r).map_err(anyhow::Error::msg)?
                            );
                        }
                    }
                },
                None => format::table(
                    &["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                    &rows
                        .iter()
                        .map(|r| {
                            ["ID", "Name", "Driver", "Scope"]
                                .iter()
                                .map(|k| text(r, k))
                                .collect()
                        })
                        .collect::<Vec<_>>(),
                ),
            }
            Ok(0)
        }
        NetworkCmd::Inspect { format, names } => {
            let mut docs = Vec::new();
            let mut code = 0;
            for n in &names {
                if let Some((name, driver)) =
                    engine::docker::PREDEFINED.iter().find(|(p, _)| p == n)
                {
                    docs.push(engine::docker::predefined_network(eng, name, driver));
                    continue;
                }
                match eng.network(n) {
                    Ok(net) => docs.push(engine::docker::network_inspect(eng, &net)),
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
            let gone = eng.network_prune(&engine::filters::Filters::default())?;
            if !gone.is_empty() {
                println!("Deleted Networks:");
                gone.iter().for_each(|n| println!("{n}"));
            }
            Ok(0)
        }
    }
}
