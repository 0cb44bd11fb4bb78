//! End-to-end networking on the default bridge, inside network namespaces the test makes:
//! the engine's own (a "host") and a peer "host" joined to it by a veth pair.

mod common;
mod engine_common;

use engine_common::*;
use std::process::Command;

/// A second "host": a network namespace with a veth to the engine's, 10.200.0.2 there and
/// 10.200.0.1 on the engine's side. Deleted on drop.
struct Peer {
    name: String,
}

impl Peer {
    fn new(e: &Eng) -> Peer {
        let name = format!("{}-peer", e.netns);
        let sh = |args: &[&str]| {
            let ok = Command::new("ip")
                .args(args)
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "ip {args:?}");
        };
        sh(&["netns", "add", &name]);
        let p = Peer { name };
        sh(&[
            "-n", &e.netns, "link", "add", "up0", "type", "veth", "peer", "name", "down0", "netns",
            &p.name,
        ]);
        sh(&["-n", &e.netns, "addr", "add", "10.200.0.1/24", "dev", "up0"]);
        sh(&["-n", &e.netns, "link", "set", "up0", "up"]);
        sh(&[
            "-n",
            &p.name,
            "addr",
            "add",
            "10.200.0.2/24",
            "dev",
            "down0",
        ]);
        sh(&["-n", &p.name, "link", "set", "down0", "up"]);
        sh(&["-n", &p.name, "link", "set", "lo", "up"]);
        p
    }

    /// A busybox httpd at 10.200.0.2:8000 answering "from the peer"; its stderr is its
    /// access log (`-v`), read by [`Peer::log`].
    fn serve(&self, e: &Eng) -> std::process::Child {
        let srv = e.dir.path().join("peer-www");
        std::fs::create_dir_all(&srv).expect("mkdir");
        std::fs::write(srv.join("index.html"), "from the peer\n").expect("write");
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.name))
            .args([
                "busybox",
                "httpd",
                "-f",
                "-v",
                "-p",
                "10.200.0.2:8000",
                "-h",
            ])
            .arg(&srv)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("httpd")
    }

    /// Stop a server from [`Peer::serve`]; what it logged.
    fn log(mut httpd: std::process::Child) -> String {
        let _ = httpd.kill();
        let out = httpd.wait_with_output().expect("httpd log");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    fn run(&self, prog: &str, args: &[&str]) -> std::process::Output {
        Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.name))
            .arg(prog)
            .args(args)
            .output()
            .expect("nsenter")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

fn get(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn curl(url: &str) -> Vec<&str> {
    vec!["-s", "--max-time", "5", url]
}

#[test]
fn published_ports_egress_and_hairpin() {
    if !root_or_skip("published_ports_egress_and_hairpin") {
        return;
    }
    let e = Eng::new();
    let peer = Peer::new(&e);
    let web = e.ok(&[
        "run",
        "-d",
        "--name",
        "web",
        "-p",
        "18080:80",
        "-p",
        "127.0.0.1:18081:80",
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    let ip = e.inspect("web", ".NetworkSettings.IPAddress");
    assert!(ip.starts_with("10.99."), "{ip}");
    assert_eq!(
        e.ok(&["port", "web", "80"]),
        "0.0.0.0:18080\n127.0.0.1:18081"
    );
    assert!(e.ok(&["ps"]).contains("0.0.0.0:18080->80/tcp"));
    let hosts = e.ok(&["exec", "web", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{ip}\t{}", &web[..12])), "{hosts}");
    // From the engine's host: loopback (both bindings) and its own address.
    let ok = |url: &str| {
        e.until(5, || {
            get(&e.in_netns("curl", &curl(url))) == "hello from quai\n"
        })
    };
    assert!(ok("http://127.0.0.1:18080/"));
    assert!(ok("http://127.0.0.1:18081/"));
    assert!(ok("http://10.200.0.1:18080/"));
    // From another host: the all-address binding answers, the loopback-only one does not.
    assert_eq!(
        get(&peer.run("curl", &curl("http://10.200.0.1:18080/"))),
        "hello from quai\n"
    );
    assert_eq!(
        get(&peer.run("curl", &curl("http://10.200.0.1:18081/"))),
        ""
    );
    // Egress through NAT: the peer's server sees the engine host's address.
    let httpd = peer.serve(&e);
    let got = e.until(5, || {
        e.ok(&[
            "exec",
            "web",
            "sh",
            "-c",
            &format!("{} || true", http_get("10.200.0.2", 8000, 3)),
        ])
        .contains("from the peer")
    });
    let log = Peer::log(httpd);
    assert!(got, "egress to the peer");
    assert!(log.contains("10.200.0.1"), "masqueraded source: {log}");
    // Hairpin: the container reaches its own published port through the host's address.
    let hair = e.ok(&["exec", "web", "sh", "-c", &http_get("10.200.0.1", 18080, 3)]);
    assert!(hair.contains("hello from quai"), "{hair}");
    // --dns and --add-host shape resolv.conf and /etc/hosts.
    let etc = e.ok(&[
        "run",
        "--rm",
        "--dns",
        "10.200.0.53",
        "--add-host",
        "db.local:10.200.0.9",
        "localbusybox",
        "cat",
        "/etc/resolv.conf",
        "/etc/hosts",
    ]);
    assert!(
        etc.starts_with("nameserver 10.200.0.53\n") && etc.contains("10.200.0.9\tdb.local"),
        "{etc}"
    );
    assert_eq!(
        e.q(&[
            "run",
            "--rm",
            "--add-host",
            "nocolon",
            "localbusybox",
            "true"
        ])
        .status
        .code(),
        Some(125)
    );
    // --mac-address, and --network container:NAME shares web's network namespace.
    let mac = e.ok(&[
        "run",
        "--rm",
        "--mac-address",
        "02:42:0a:63:00:99",
        "localbusybox",
        "cat",
        "/sys/class/net/eth0/address",
    ]);
    assert_eq!(mac, "02:42:0a:63:00:99");
    let shared = e.sh_on("container:web", &http_get("127.0.0.1", 80, 3));
    assert!(shared.contains("hello from quai"), "{shared}");
    // Two containers talk over the bridge by address.
    let other = e.ok(&[
        "run",
        "--rm",
        "localbusybox",
        "sh",
        "-c",
        &http_get(&ip, 80, 3),
    ]);
    assert!(other.contains("hello from quai"), "{other}");
    // Taken host port: a clear error, nothing left behind.
    let o = e.q(&[
        "run",
        "-d",
        "--name",
        "clash",
        "-p",
        "18080:80",
        "localbusybox",
        "sleep",
        "5",
    ]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        text(&o).contains("port is already allocated"),
        "{}",
        text(&o)
    );
    assert_eq!(e.inspect("clash", ".State.Status"), "created");
    // Flags that mean nothing here are refused in one line, as Docker does.
    for (args, want) in [
        (vec!["--network-alias", "x"], "user defined networks"),
        (vec!["-p", "[::1]:80:80"], "IPv6"),
        (vec!["--network", "nosuch"], "network nosuch not found"),
    ] {
        let mut a = vec!["run", "--rm"];
        a.extend(args.iter().copied());
        a.extend(["localbusybox", "true"]);
        let o = e.q(&a);
        assert_eq!(o.status.code(), Some(125), "{args:?}");
        assert!(text(&o).contains(want), "{args:?}: {}", text(&o));
        assert_eq!(text(&o).trim().lines().count(), 1, "{}", text(&o));
    }
    let ids = e.all_ids();
    e.ok(&["rm", "-f", "web"]);
    let _ = e.q(&["rm", "-f", "clash"]);
    assert_eq!(
        get(&e.in_netns("curl", &curl("http://127.0.0.1:18080/"))),
        ""
    );
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn publish_all_ipam_and_teardown() {
    if !root_or_skip("publish_all_ipam_and_teardown") {
        return;
    }
    let e = Eng::new();
    let tar = e.dir.path().join("rootfs.tar");
    e.ok(&[
        "import",
        "-c",
        "EXPOSE 80",
        "-c",
        "CMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/var/www\"]",
        tar.to_str().expect("utf-8"),
        "webimg",
    ]);
    e.ok(&["run", "-d", "--name", "pa", "-P", "webimg"]);
    let hostport = e.ok(&["port", "pa", "80/tcp"]);
    let port = hostport.rsplit(':').next().expect("port").to_string();
    assert!(port.parse::<u16>().is_ok_and(|p| p > 1024), "{hostport}");
    assert!(e.until(5, || get(
        &e.in_netns("curl", &curl(&format!("http://127.0.0.1:{port}/")))
    ) == "hello from quai\n"));
    // A range of 3000 ports (more than one nftables message holds): all published, the
    // last one answers, and all go with the container (checked by leaks() below).
    e.ok(&[
        "run",
        "-d",
        "--name",
        "wide",
        "-p",
        "127.0.0.1:20000-22999:20000-22999",
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "22999",
        "-h",
        "/var/www",
    ]);
    assert_eq!(
        e.ok(&["port", "wide"]).lines().count(),
        3000,
        "published ports"
    );
    assert!(e.until(5, || get(
        &e.in_netns("curl", &curl("http://127.0.0.1:22999/"))
    ) == "hello from quai\n"));
    e.ok(&["rm", "-f", "wide"]);
    // 20 parallel runs: 20 distinct addresses.
    let outs = e.run_parallel(20, "n");
    for o in &outs {
        assert!(o.status.success(), "{}", text(o));
    }
    let mut ips: Vec<String> = (0..20)
        .map(|i| e.inspect(&format!("n{i}"), ".NetworkSettings.IPAddress"))
        .collect();
    ips.push(e.inspect("pa", ".NetworkSettings.IPAddress"));
    let mut uniq = ips.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), 21, "{ips:?}");
    // A killed monitor: rm -f still withdraws the ports and the veth.
    let mons = e.monitors(&e.inspect("pa", ".Id"));
    assert_eq!(mons.len(), 1, "monitor of pa");
    kill9(mons[0]);
    let ids = e.all_ids();
    for id in &ids {
        e.ok(&["rm", "-f", id]);
    }
    // Addresses are free again: the next container gets the first one.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "again",
        "localbusybox",
        "sleep",
        "60",
    ]);
    assert_eq!(
        e.inspect("again", ".NetworkSettings.IPAddress"),
        "10.99.0.2"
    );
    e.ok(&["rm", "-f", "again"]);
    let mut all = ids;
    all.push("again".into());
    assert_eq!(e.leaks(&all), Vec::<String>::new());
}

#[test]
fn user_networks_isolation_and_internal() {
    if !root_or_skip("user_networks_isolation_and_internal") {
        return;
    }
    let e = Eng::new();
    let peer = Peer::new(&e);
    let front = e.ok(&["network", "create", "--label", "tier=web", "front"]);
    assert_eq!(front.len(), 64);
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.50.0/24",
        "--internal",
        "back",
    ]);
    let o = e.q(&["network", "create", "--subnet", "10.100.50.128/25", "clash"]);
    assert!(text(&o).contains("overlaps"), "{}", text(&o));
    assert!(e
        .ok(&["network", "ls", "--format", "{{.Name}}"])
        .contains("front"));
    assert_eq!(
        e.ok(&[
            "network",
            "inspect",
            "-f",
            "{{.Internal}} {{index .Labels \"tier\"}}",
            "front"
        ]),
        "false web"
    );
    e.ok(&[
        "run",
        "-d",
        "--name",
        "aa",
        "--network",
        "front",
        "--ip",
        "10.100.0.77",
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    assert_eq!(e.inspect("aa", ".NetworkSettings.IPAddress"), "10.100.0.77");
    assert_eq!(e.inspect("aa", ".NetworkSettings.Gateway"), "10.100.0.1");
    let fetch = &format!("{} || echo unreachable", http_get("10.100.0.77", 80, 2));
    // Same network: reachable.
    assert!(e.until(5, || e
        .ok(&[
            "run",
            "--rm",
            "--network",
            "front",
            "localbusybox",
            "sh",
            "-c",
            fetch
        ])
        .contains("hello from quai")));
    // Another network, the default bridge, an internal network: not.
    assert!(e
        .ok(&[
            "run",
            "--rm",
            "--network",
            "back",
            "localbusybox",
            "sh",
            "-c",
            fetch
        ])
        .contains("unreachable"));
    assert!(e
        .ok(&["run", "--rm", "localbusybox", "sh", "-c", fetch])
        .contains("unreachable"));
    // Internal: no egress to the other host either; a normal network has it.
    let httpd = peer.serve(&e);
    let out = &format!("{} || echo unreachable", http_get("10.200.0.2", 8000, 2));
    let normal = e.until(5, || e.sh_on("front", out).contains("from the peer"));
    let internal = e.sh_on("back", out);
    Peer::log(httpd);
    assert!(normal, "egress from a normal network");
    assert!(internal.contains("unreachable"), "{internal}");
    // Names and aliases resolve on a user-defined network, through its DNS server; other
    // names go to the host's resolvers.
    e.ok(&[
        "run",
        "-d",
        "--name",
        "db",
        "--network",
        "front",
        "--network-alias",
        "database",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let res = e.sh_on(
        "front",
        "nslookup aa; nslookup database; cat /etc/resolv.conf",
    );
    assert!(res.contains("10.100.0.77"), "{res}");
    assert!(res.contains("nameserver 10.100.0.1"), "{res}");
    let db_ip = e.inspect("db", ".NetworkSettings.IPAddress");
    assert!(res.contains(&db_ip), "alias: {res}");
    // The same over TCP (what a resolver falls back to after a truncated answer), by
    // name and by NAME.NETWORK.
    // Reverse lookups of a container's address give NAME.NETWORK, as Docker's do.
    let rev = e.sh_on("front", &format!("nslookup {db_ip}"));
    assert!(rev.contains("db.front"), "{rev}");
    let ip: std::net::Ipv4Addr = db_ip.parse().expect("address");
    assert_eq!(e.dns_tcp("10.100.0.1", "database"), vec![ip]);
    assert_eq!(e.dns_tcp("10.100.0.1", "db.front"), vec![ip]);
    // Other names go upstream: a container's --dns servers, asked by the network's DNS
    // server (its resolv.conf still names the network's), here a stand-in resolver.
    let upstream = e.fake_dns("127.0.0.1", std::net::Ipv4Addr::new(192, 0, 2, 7));
    let res = e.ok(&[
        "run",
        "--rm",
        "--network",
        "front",
        "--dns",
        "127.0.0.1",
        "localbusybox",
        "sh",
        "-c",
        "nslookup outside.example; nslookup database; cat /etc/resolv.conf",
    ]);
    drop(upstream);
    assert!(res.contains("192.0.2.7"), "forwarded: {res}");
    assert!(res.contains(&db_ip), "local: {res}");
    assert!(res.contains("nameserver 10.100.0.1"), "{res}");
    // None on the default bridge (Docker's behaviour).
    let res = e.ok(&[
        "run",
        "--rm",
        "localbusybox",
        "sh",
        "-c",
        "nslookup aa 2>&1 || true",
    ]);
    assert!(!res.contains("10.100.0.77"), "{res}");
    e.ok(&["rm", "-f", "db"]);
    // --ip taken, outside the subnet.
    let o = e.q(&[
        "run",
        "--rm",
        "--network",
        "front",
        "--ip",
        "10.100.0.77",
        "localbusybox",
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("already in use"), "{}", text(&o));
    // rm of a network in use is refused; after the container goes, it works and the
    // bridge goes with it.
    let o = e.q(&["network", "rm", "front"]);
    assert!(text(&o).contains("active endpoints"), "{}", text(&o));
    let ids = e.all_ids();
    e.ok(&["rm", "-f", "aa"]);
    e.ok(&["network", "rm", "front", "back"]);
    // The bridges are taken down at once and deleted in the background (ADR 019).
    let links = || String::from_utf8_lossy(&e.in_netns("ip", &["-o", "link"]).stdout).into_owned();
    assert!(e.until(10, || !links().contains(": quai-")), "{}", links());
    assert_eq!(
        e.ok(&["network", "ls", "-q"]).lines().count(),
        3,
        "only the default bridge (and the predefined host and none) remain"
    );
    let sets = String::from_utf8_lossy(
        &e.in_netns("nft", &["list", "set", "ip", "quai", "subnets"])
            .stdout,
    )
    .into_owned();
    assert!(!sets.contains("10.100."), "{sets}");
    let _ = peer;
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn connect_and_disconnect() {
    if !root_or_skip("connect_and_disconnect") {
        return;
    }
    let e = Eng::new();
    e.ok(&["network", "create", "--subnet", "10.100.1.0/24", "left"]);
    e.ok(&["network", "create", "--subnet", "10.100.2.0/24", "right"]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "srv",
        "--network",
        "left",
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "80",
        "-h",
        "/var/www",
    ]);
    e.ok(&[
        "run",
        "-d",
        "--name",
        "cli",
        "--network",
        "right",
        "localbusybox",
        "sleep",
        "60",
    ]);
    let fetch = |target: &str| {
        e.ok(&[
            "exec",
            "cli",
            "sh",
            "-c",
            &format!("{} || echo unreachable", http_get(target, 80, 2)),
        ])
    };
    let srv_left = e.inspect("srv", ".NetworkSettings.Networks.left.IPAddress");
    assert!(fetch(&srv_left).contains("unreachable"));
    // Connected to right as well: reachable there by address, name and alias.
    e.ok(&["network", "connect", "--alias", "web", "right", "srv"]);
    let srv_right = e.inspect("srv", ".NetworkSettings.Networks.right.IPAddress");
    assert!(srv_right.starts_with("10.100.2."), "{srv_right}");
    let hosts = e.ok(&["exec", "srv", "cat", "/etc/hosts"]);
    assert!(hosts.contains(&format!("{srv_right}\t")), "{hosts}");
    assert!(hosts.contains(&format!("{srv_left}\t")), "{hosts}");
    assert!(e.until(5, || fetch(&srv_right).contains("hello from quai")));
    let ns = e.ok(&["exec", "cli", "sh", "-c", "nslookup web; nslookup srv"]);
    assert_eq!(ns.matches(&srv_right).count(), 2, "{ns}");
    assert!(e
        .ok(&["network", "inspect", "-f", "{{json .Containers}}", "right"])
        .contains("srv"));
    let o = e.q(&["network", "connect", "right", "srv"]);
    assert!(text(&o).contains("already exists"), "{}", text(&o));
    // Disconnected: unreachable again, and the veth is gone.
    e.ok(&["network", "disconnect", "right", "srv"]);
    assert!(fetch(&srv_right).contains("unreachable"));
    let hosts = e.ok(&["exec", "srv", "cat", "/etc/hosts"]);
    assert!(!hosts.contains(&srv_right), "{hosts}");
    assert!(hosts.contains(&format!("{srv_left}\t")), "{hosts}");
    let links = String::from_utf8_lossy(&e.in_netns("ip", &["-o", "link"]).stdout).into_owned();
    assert_eq!(links.matches(": vq").count(), 2, "{links}");
    // A connection made while stopped applies at the next start.
    e.ok(&["stop", "-t", "0", "srv"]);
    e.ok(&["network", "connect", "right", "srv"]);
    e.ok(&["start", "srv"]);
    let again = e.inspect("srv", ".NetworkSettings.Networks.right.IPAddress");
    assert!(e.until(5, || fetch(&again).contains("hello from quai")));
    // Off its first network, live: eth0 goes, right's gateway takes the default route.
    e.ok(&["network", "disconnect", "left", "srv"]);
    let nets = e.ok(&["inspect", "-f", "{{json .NetworkSettings.Networks}}", "srv"]);
    assert!(!nets.contains("left") && nets.contains("right"), "{nets}");
    assert!(!e
        .ok(&["network", "inspect", "-f", "{{json .Containers}}", "left"])
        .contains("srv"));
    let inside = e.ok(&["exec", "srv", "sh", "-c", "ip -o addr; ip route"]);
    assert!(!inside.contains("10.100.1."), "{inside}");
    assert!(inside.contains("default via 10.100.2.1"), "{inside}");
    assert!(fetch(&again).contains("hello from quai"));
    assert_eq!(
        e.ok(&["ps", "--format", "{{.Networks}}", "-f", "name=srv"]),
        "right"
    );
    // Restarted, right is its only network (eth0 now).
    e.ok(&["restart", "-t", "0", "srv"]);
    let inside = e.ok(&["exec", "srv", "sh", "-c", "ip -o addr; ip route"]);
    assert!(
        inside.contains("eth0") && !inside.contains("eth1"),
        "{inside}"
    );
    assert!(inside.contains("default via 10.100.2.1"), "{inside}");
    let now = e.inspect("srv", ".NetworkSettings.Networks.right.IPAddress");
    assert!(e.until(5, || fetch(&now).contains("hello from quai")));
    // Back on left while it runs: reachable there from a container on left.
    e.ok(&["network", "connect", "left", "srv"]);
    let on_left = e.inspect("srv", ".NetworkSettings.Networks.left.IPAddress");
    assert!(on_left.starts_with("10.100.1."), "{on_left}");
    let probe = e.sh_on(
        "left",
        &format!("{} || echo unreachable", http_get(&on_left, 80, 2)),
    );
    assert!(probe.contains("hello from quai"), "{probe}");
    // Restarted: left is eth0 again, right eth1. Off left while it runs (right's gateway
    // takes the default route), then back: eth0 is free, so left takes it and the default
    // route back.
    e.ok(&["restart", "-t", "0", "srv"]);
    e.ok(&["network", "disconnect", "left", "srv"]);
    let inside = e.ok(&["exec", "srv", "sh", "-c", "ip -o -4 addr; ip route"]);
    assert!(inside.contains("default via 10.100.2.1"), "{inside}");
    e.ok(&["network", "connect", "left", "srv"]);
    let inside = e.ok(&["exec", "srv", "sh", "-c", "ip -o -4 addr; ip route"]);
    assert!(
        inside.contains("eth0") && inside.contains("10.100.1."),
        "{inside}"
    );
    assert!(inside.contains("default via 10.100.1.1"), "{inside}");
    let ids = e.all_ids();
    e.ok(&["rm", "-f", "srv", "cli"]);
    e.ok(&["network", "rm", "left", "right"]);
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn gateway_range_and_driver_options() {
    if !root_or_skip("gateway_range_and_driver_options") {
        return;
    }
    let e = Eng::new();
    // Out of the subnet, or without one: refused, nothing created.
    for bad in [
        vec!["--subnet", "10.100.9.0/24", "--gateway", "10.100.10.1"],
        vec!["--subnet", "10.100.9.0/24", "--gateway", "10.100.9.255"],
        vec!["--subnet", "10.100.9.0/24", "--ip-range", "10.100.8.0/25"],
        vec!["--gateway", "10.100.9.1"],
    ] {
        let mut args = vec!["network", "create"];
        args.extend(bad.iter().copied());
        args.push("ranged");
        let o = e.q(&args);
        assert_eq!(o.status.code(), Some(1), "{bad:?}: {}", text(&o));
        assert_eq!(text(&o).lines().count(), 1, "{}", text(&o));
    }
    assert!(!e.ok(&["network", "ls"]).contains("ranged"));
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.9.0/24",
        "--gateway",
        "10.100.9.254",
        "--ip-range",
        "10.100.9.128/25",
        "ranged",
    ]);
    let ipam = e.ok(&[
        "network",
        "inspect",
        "-f",
        "{{json .IPAM.Config}}",
        "ranged",
    ]);
    assert!(
        ipam.contains("\"Gateway\":\"10.100.9.254\"")
            && ipam.contains("\"IPRange\":\"10.100.9.128/25\""),
        "{ipam}"
    );
    // Addresses come from the range; the route and the DNS server are the gateway's.
    let out = e.sh_on(
        "ranged",
        "ip -o -4 addr show eth0; ip route; cat /etc/resolv.conf; ping -c1 -W2 10.100.9.254",
    );
    assert!(out.contains("inet 10.100.9.128/24"), "{out}");
    assert!(out.contains("default via 10.100.9.254"), "{out}");
    assert!(out.contains("nameserver 10.100.9.254"), "{out}");
    assert!(out.contains("1 packets received"), "{out}");
    // --ip outside the range but in the subnet is fine (as Docker); the gateway is not.
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "ranged",
        "--ip",
        "10.100.9.1",
        "localbusybox",
        "ip",
        "-o",
        "-4",
        "addr",
        "show",
        "eth0",
    ]);
    assert!(out.contains("inet 10.100.9.1/24"), "{out}");
    let o = e.q(&[
        "run",
        "--rm",
        "--network",
        "ranged",
        "--ip",
        "10.100.9.254",
        "localbusybox",
        "true",
    ]);
    assert_ne!(o.status.code(), Some(0));
    assert!(text(&o).contains("not usable"), "{}", text(&o));
    // Driver options: the bridge's name, the MTU of it and of containers' interfaces, and
    // egress without masquerade (the peer sees the container's own address). Options quai
    // does not honour are refused, not ignored.
    for (opt, want) in [
        (
            "com.docker.network.bridge.enable_icc=false",
            "not supported",
        ),
        (
            "com.docker.network.bridge.host_binding_ipv4=127.0.0.1",
            "not supported",
        ),
        ("com.docker.network.driver.mtu=9", "not an MTU"),
        (
            "com.docker.network.bridge.name=bad/name",
            "not a valid interface name",
        ),
    ] {
        let o = e.q(&["network", "create", "-o", opt, "opts"]);
        assert_eq!(o.status.code(), Some(1), "{opt}");
        assert!(text(&o).contains(want), "{opt}: {}", text(&o));
    }
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.11.0/24",
        "-o",
        "com.docker.network.bridge.name=qtest-br0",
        "-o",
        "com.docker.network.driver.mtu=1400",
        "-o",
        "com.docker.network.bridge.enable_ip_masquerade=false",
        "opts",
    ]);
    let peer = Peer::new(&e);
    let ok = peer
        .run(
            "ip",
            &["route", "add", "10.100.11.0/24", "via", "10.200.0.1"],
        )
        .status
        .success();
    assert!(ok, "peer route");
    let httpd = peer.serve(&e);
    let out = e.sh_on(
        "opts",
        &format!(
            "ip -o link show eth0; ip -o -4 addr show eth0; {}",
            http_get("10.200.0.2", 8000, 3)
        ),
    );
    let log = Peer::log(httpd);
    assert!(out.contains("mtu 1400"), "{out}");
    assert!(out.contains("from the peer"), "{out}");
    assert!(log.contains("10.100.11.2"), "unmasqueraded source: {log}");
    let links = String::from_utf8_lossy(
        &e.in_netns("ip", &["-o", "link", "show", "qtest-br0"])
            .stdout,
    )
    .into_owned();
    assert!(links.contains("mtu 1400"), "{links}");
    // Still 1400 with no container left on it: the next one gets 1400 too.
    assert!(e.until(5, || !String::from_utf8_lossy(
        &e.in_netns("ip", &["-o", "link"]).stdout
    )
    .contains(": vq")));
    let out = e.ok(&[
        "run",
        "--rm",
        "--network",
        "opts",
        "localbusybox",
        "ip",
        "-o",
        "link",
        "show",
        "eth0",
    ]);
    assert!(out.contains("mtu 1400"), "{out}");
    let ids = e.all_ids();
    e.ok(&["network", "rm", "ranged", "opts"]);
    let links = String::from_utf8_lossy(&e.in_netns("ip", &["-o", "link"]).stdout).into_owned();
    assert!(!links.contains("qtest-br0"), "{links}");
    assert_eq!(e.leaks(&ids), Vec::<String>::new());
}

#[test]
fn host_gateway_names_the_host() {
    if !root_or_skip("host_gateway_names_the_host") {
        return;
    }
    let e = Eng::new();
    // A server on the "host" (the engine's network namespace), from a host-network
    // container.
    let www = e.dir.path().join("www");
    std::fs::create_dir_all(&www).expect("www");
    std::fs::write(www.join("index.html"), "host-side\n").expect("index");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "hostweb",
        "--network",
        "host",
        "-v",
        &format!("{}:/www", www.display()),
        "localbusybox",
        "httpd",
        "-f",
        "-p",
        "18777",
        "-h",
        "/www",
    ]);
    e.ok(&["network", "create", "--subnet", "10.100.31.0/24", "hgnet"]);
    let probe = "grep host.docker.internal /etc/hosts; printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc host.docker.internal 18777 | tail -1";
    // The default bridge's gateway, a user network's own, the loopback on the host's.
    for (net, addr) in [
        ("bridge", "10.99.0.1"),
        ("hgnet", "10.100.31.1"),
        ("host", "127.0.0.1"),
    ] {
        let out = e.ok(&[
            "run",
            "--rm",
            "--network",
            net,
            "--add-host",
            "host.docker.internal:host-gateway",
            "localbusybox",
            "sh",
            "-c",
            probe,
        ]);
        assert_eq!(
            out,
            format!("{addr}\thost.docker.internal\nhost-side"),
            "{net}"
        );
    }
    assert_eq!(
        e.ok(&["create", "--add-host", "h:host-gateway", "localbusybox"])
            .len(),
        64
    );
    e.ok(&["rm", "-f", "hostweb"]);
    e.ok(&["network", "rm", "hgnet"]);
}

#[test]
fn containers_starting_together_share_their_networks_dns_server() {
    if !root_or_skip("containers_starting_together_share_their_networks_dns_server") {
        return;
    }
    let e = Eng::new();
    e.ok(&[
        "network",
        "create",
        "--subnet",
        "10.100.32.0/24",
        "together",
    ]);
    // Four starts at once on a network whose DNS server is not running yet (compose
    // starts a project's containers so): one starts it, none fails on its port.
    let kids: Vec<_> = (0..4)
        .map(|i| {
            e.cmd(&[
                "run",
                "-d",
                "--name",
                &format!("t{i}"),
                "--network",
                "together",
                "localbusybox",
                "sleep",
                "60",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run")
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().expect("wait");
        assert!(o.status.success(), "{}", text(&o));
    }
    let out = e.sh_on("together", "nslookup t3");
    assert!(out.contains("10.100.32."), "{out}");
    e.ok(&["rm", "-f", "t0", "t1", "t2", "t3"]);
    e.ok(&["network", "rm", "together"]);
}
