//! A container's own user namespace (`--uidmap`/`--gidmap`, `--userns=auto`,
//! `--userns=keep-id`), resolved at create into the mappings its record keeps: ids are
//! chosen once, so a restart finds its files with the owners it left.

use crate::config::{ContainerConfig, IdMap};
use crate::{Error, Result};

/// Where `--userns=auto` takes ranges from when /etc/subuid gives the `quai` user none:
/// 4096 ranges of 65536 ids above 10^9, far from any login's.
const POOL: (u32, u32) = (1_000_000_000, 65536 * 4096);

/// Turn the create options into mappings (or none), checking them whole. `taken` are the
/// host ranges other containers hold (uid and gid alike); `run` is the engine's run dir
/// (rootless, where the user's ids are recorded).
pub fn resolve(c: &mut ContainerConfig, taken: &[IdMap], run: &std::path::Path) -> Result<()> {
    let invalid = |m: String| Error::Invalid(m);
    let rootless = crate::rootless::active();
    let mode = c.userns_mode.clone();
    let (kind, opts) = mode.split_once(':').unwrap_or((mode.as_str(), ""));
    let opt = |k: &str| -> Result<Option<u32>> {
        for kv in opts.split(',').filter(|s| !s.is_empty()) {
            let (key, v) = kv
                .split_once('=')
                .ok_or_else(|| invalid(format!("--userns={mode}: {kv:?} is not KEY=VALUE")))?;
            if !["size", "uid", "gid"].contains(&key) {
                return Err(invalid(format!("--userns={mode}: unknown option {key:?}")));
            }
            if key == k {
                return v
                    .parse()
                    .map(Some)
                    .map_err(|_| invalid(format!("--userns={mode}: {key} must be a number")));
            }
        }
        Ok(None)
    };
    let given = !c.uid_map.is_empty() || !c.gid_map.is_empty();
    match kind {
        "" | "host" | "private" if !given => {
            if kind == "private" {
                return Err(invalid(format!(
                    "--userns: invalid USER mode {mode:?} (private needs --uidmap; or host, auto[:size=N], keep-id[:uid=U,gid=G])"
                )));
            }
            return Ok(());
        }
        "host" => {
            return Err(invalid(
                "--userns=host conflicts with --uidmap and --gidmap".into(),
            ))
        }
        "" | "private" => {
            if rootless {
                return Err(invalid(not_rootless("--uidmap")));
            }
            if c.uid_map.is_empty() {
                c.uid_map = c.gid_map.clone();
            }
            if c.gid_map.is_empty() {
                c.gid_map = c.uid_map.clone();
            }
            check(&c.uid_map, "--uidmap")?;
            check(&c.gid_map, "--gidmap")?;
            c.userns_mode = "private".into();
        }
        "auto" => {
            if given {
                return Err(invalid(
                    "--userns=auto conflicts with --uidmap and --gidmap".into(),
                ));
            }
            if rootless {
                return Err(invalid(not_rootless("--userns=auto")));
            }
            let size = opt("size")?.unwrap_or(65536);
            if size == 0 {
                return Err(invalid("--userns=auto: size must be 1 or more".into()));
            }
            let start = allocate(size, taken)?;
            let m = vec![IdMap {
                container_id: 0,
                host_id: start,
                size,
            }];
            c.uid_map = m.clone();
            c.gid_map = m;
        }
        "keep-id" => {
            if given {
                return Err(invalid(
                    "--userns=keep-id conflicts with --uidmap and --gidmap".into(),
                ));
            }
            if !rootless {
                return Err(invalid("keep-id is only supported in rootless mode".into()));
            }
            let (uid, gid) = crate::rootless::state(run)
                .map(|s| (s.uid, s.gid))
                .unwrap_or((0, 0));
            let uid = opt("uid")?.unwrap_or(uid);
            let gid = opt("gid")?.unwrap_or(gid);
            c.uid_map = keep_id(uid, total("/proc/self/uid_map"));
            c.gid_map = keep_id(gid, total("/proc/self/gid_map"));
            if c.user.is_empty() {
                c.user = format!("{uid}:{gid}");
            }
        }
        _ => {
            return Err(invalid(format!(
                "--userns: invalid USER mode {mode:?} (host, auto[:size=N], keep-id[:uid=U,gid=G])"
            )))
        }
    }
    Ok(())
}

fn not_rootless(what: &str) -> String {
    format!(
        "{what} needs idmapped mounts for the container's files, which only the host's root can make: not rootless (--userns=keep-id is)"
    )
}

/// Ranges of one map must not overlap on either side.
fn check(maps: &[IdMap], what: &str) -> Result<()> {
    for (i, a) in maps.iter().enumerate() {
        for b in &maps[i + 1..] {
            let overlap = |x: u32, y: u32| {
                u64::from(x) < u64::from(y) + u64::from(b.size)
                    && u64::from(y) < u64::from(x) + u64::from(a.size)
            };
            if overlap(a.container_id, b.container_id) || overlap(a.host_id, b.host_id) {
                return Err(Error::Invalid(format!("{what}: ranges overlap")));
            }
        }
    }
    Ok(())
}

/// The ranges `--userns=auto` may use: the `quai` user's in /etc/subuid, else [`POOL`].
fn pool() -> Vec<(u32, u32)> {
    let own: Vec<(u32, u32)> = std::fs::read_to_string("/etc/subuid")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.trim().split(':').collect();
            (f.len() == 3 && f[0] == "quai")
                .then(|| Some((f[1].parse().ok()?, f[2].parse().ok()?)))?
        })
        .collect();
    if own.is_empty() {
        vec![POOL]
    } else {
        own
    }
}

/// The lowest free `size`-long range of the pool.
fn allocate(size: u32, taken: &[IdMap]) -> Result<u32> {
    for (start, count) in pool() {
        let end = u64::from(start) + u64::from(count);
        let mut at = u64::from(start);
        while at + u64::from(size) <= end {
            let clash = taken.iter().find(|t| {
                at < u64::from(t.host_id) + u64::from(t.size)
                    && u64::from(t.host_id) < at + u64::from(size)
            });
            match clash {
                Some(t) => at = u64::from(t.host_id) + u64::from(t.size),
                None => return Ok(at as u32),
            }
        }
    }
    Err(Error::Invalid(format!(
        "--userns=auto: no free range of {size} ids left (ranges: the quai user's in /etc/subuid, else {}-{})",
        POOL.0,
        u64::from(POOL.0) + u64::from(POOL.1) - 1
    )))
}

/// How many ids this namespace has.
fn total(map: &str) -> u32 {
    std::fs::read_to_string(map)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(2)?.parse::<u32>().ok())
        .fold(0u32, |a, n| a.saturating_add(n))
}

/// keep-id: `id` inside is the user (0 here); the ids below it follow from 1, the ones
/// above map to themselves, as far as the namespace has ids.
fn keep_id(id: u32, total: u32) -> Vec<IdMap> {
    let mut m = vec![IdMap {
        container_id: id,
        host_id: 0,
        size: 1,
    }];
    let below = id.min(total.saturating_sub(1));
    if below > 0 {
        m.push(IdMap {
            container_id: 0,
            host_id: 1,
            size: below,
        });
    }
    if total > id.saturating_add(1) {
        m.push(IdMap {
            container_id: id + 1,
            host_id: id + 1,
            size: total - id - 1,
        });
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(c: u32, h: u32, s: u32) -> IdMap {
        IdMap {
            container_id: c,
            host_id: h,
            size: s,
        }
    }

    #[test]
    fn keep_id_maps_the_user_to_itself() {
        assert_eq!(
            keep_id(1000, 65537),
            vec![m(1000, 0, 1), m(0, 1, 1000), m(1001, 1001, 64536)]
        );
        // A single-id namespace: only the user.
        assert_eq!(keep_id(1000, 1), vec![m(1000, 0, 1)]);
    }

    #[test]
    fn auto_takes_the_lowest_free_range() {
        assert_eq!(allocate(65536, &[]).ok(), Some(POOL.0));
        // A range that fits exactly between two is taken; one that does not goes past.
        let taken = [m(0, POOL.0, 65536), m(0, POOL.0 + 65536 * 2, 100)];
        assert_eq!(allocate(65536, &taken).ok(), Some(POOL.0 + 65536));
        let taken = [m(0, POOL.0, 65536), m(0, POOL.0 + 100_000, 100)];
        assert_eq!(allocate(65536, &taken).ok(), Some(POOL.0 + 100_100));
        assert_eq!(allocate(1000, &taken).ok(), Some(POOL.0 + 65536));
    }

    #[test]
    fn overlapping_ranges_are_refused() {
        assert!(check(&[m(0, 100000, 65536), m(1000, 300000, 10)], "x").is_err());
        assert!(check(&[m(0, 100000, 10), m(10, 100010, 10)], "x").is_ok());
    }
}
