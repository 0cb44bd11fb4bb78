//! The device cgroup rule list, shared by v1 (`devices.allow`/`devices.deny` lines) and v2
//! (an eBPF program, `devices_bpf.rs`), and the state the v1 kernel code builds from it.
//!
//! v2 has no rule list of its own: the program must decide exactly what v1 would, so the
//! list is first replayed through [`Effective::from_rules`], which mirrors the kernel's v1
//! state machine (security/device_cgroup.c), and the program is compiled from the result.
//! runc does the same with its devices emulator.

use oci_spec::runtime::{LinuxDevice, LinuxDeviceCgroup, LinuxDeviceType};

use crate::error::{Error, Result};

/// Access bits, with the values of the kernel's `BPF_DEVCG_ACC_*` (the v1 letters are
/// rendered from them).
pub const ACC_MKNOD: u8 = 1;
/// Read access.
pub const ACC_READ: u8 = 2;
/// Write access.
pub const ACC_WRITE: u8 = 4;
/// `rwm`.
pub const ACC_ALL: u8 = ACC_MKNOD | ACC_READ | ACC_WRITE;

/// Which devices a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `a`: every device; the kernel ignores numbers and access of such a line and resets
    /// the whole list (default allow or deny, no exceptions).
    All,
    /// `b`.
    Block,
    /// `c` (and the spec's `u`).
    Char,
}

/// One device cgroup rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `devices.allow` (true) or `devices.deny`.
    pub allow: bool,
    /// Device type.
    pub kind: Kind,
    /// Major number; `None` is `*`.
    pub major: Option<u32>,
    /// Minor number; `None` is `*`.
    pub minor: Option<u32>,
    /// `ACC_*` bits.
    pub access: u8,
}

impl Rule {
    fn new(allow: bool, kind: Kind, major: Option<u32>, minor: Option<u32>, access: u8) -> Rule {
        Rule {
            allow,
            kind,
            major,
            minor,
            access,
        }
    }

    /// The line written to `devices.allow` or `devices.deny`.
    pub fn v1_line(&self) -> String {
        let t = match self.kind {
            Kind::All => return "a".into(),
            Kind::Block => 'b',
            Kind::Char => 'c',
        };
        let num = |n: Option<u32>| n.map_or("*".to_string(), |n| n.to_string());
        let mut access = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                access.push(c);
            }
        }
        format!("{t} {}:{} {access}", num(self.major), num(self.minor))
    }
}

/// The devices every container may use (runc's allow list): mknod of anything, and the
/// usual character devices (null, zero, full, random, urandom, tty, console, ptmx, pts,
/// tun).
const DEFAULT_ALLOW: &[(Kind, Option<u32>, Option<u32>, u8)] = &[
    (Kind::Char, None, None, ACC_MKNOD),
    (Kind::Block, None, None, ACC_MKNOD),
    (Kind::Char, Some(1), Some(3), ACC_ALL),
    (Kind::Char, Some(1), Some(5), ACC_ALL),
    (Kind::Char, Some(1), Some(7), ACC_ALL),
    (Kind::Char, Some(1), Some(8), ACC_ALL),
    (Kind::Char, Some(1), Some(9), ACC_ALL),
    (Kind::Char, Some(5), Some(0), ACC_ALL),
    (Kind::Char, Some(5), Some(1), ACC_ALL),
    (Kind::Char, Some(5), Some(2), ACC_ALL),
    (Kind::Char, Some(136), None, ACC_ALL),
    (Kind::Char, Some(10), Some(200), ACC_ALL),
];

fn parse_access(s: &str) -> Result<u8> {
    s.chars().try_fold(0, |acc, c| match c {
        'r' => Ok(acc | ACC_READ),
        'w' => Ok(acc | ACC_WRITE),
        'm' => Ok(acc | ACC_MKNOD),
        _ => Err(Error::Invalid(format!(
            "linux.resources.devices: invalid access {s:?} (letters r, w, m)"
        ))),
    })
}

/// A spec number: negative means `*`; beyond 32 bits no device can have it.
fn number(n: Option<i64>, what: &str) -> Result<Option<u32>> {
    match n {
        None => Ok(None),
        Some(n) if n < 0 => Ok(None),
        Some(n) => u32::try_from(n)
            .map(Some)
            .map_err(|_| Error::Invalid(format!("device cgroup rule: {what} {n} out of range"))),
    }
}

/// The rule list, in the order it is applied: deny everything, then the spec's rules in
/// order, then runc's default allow list and the spec's devices (rwm each).
pub fn rules(spec: &[LinuxDeviceCgroup], devices: &[LinuxDevice]) -> Result<Vec<Rule>> {
    let mut out = vec![Rule::new(false, Kind::All, None, None, ACC_ALL)];
    for r in spec {
        let kind = match r.typ() {
            Some(LinuxDeviceType::A) | None => Kind::All,
            Some(LinuxDeviceType::B) => Kind::Block,
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Kind::Char,
            // The device cgroup has no fifo type: v1 refused the line with EINVAL.
            Some(LinuxDeviceType::P) => {
                return Err(Error::Invalid(
                    "linux.resources.devices: type \"p\" cannot be a device cgroup rule".into(),
                ))
            }
        };
        let access = match r.access() {
            Some(a) => parse_access(a)?,
            None => ACC_ALL,
        };
        out.push(Rule::new(
            r.allow(),
            kind,
            number(r.major(), "major")?,
            number(r.minor(), "minor")?,
            access,
        ));
    }
    for &(kind, major, minor, access) in DEFAULT_ALLOW {
        out.push(Rule::new(true, kind, major, minor, access));
    }
    for d in devices {
        let kind = match d.typ() {
            LinuxDeviceType::B => Kind::Block,
            // A fifo needs no device cgroup permission.
            LinuxDeviceType::P => continue,
            _ => Kind::Char,
        };
        let num = |n: i64, what: &str| {
            u32::try_from(n).map_err(|_| {
                Error::Invalid(format!(
                    "device {}: {what} {n} out of range",
                    d.path().display()
                ))
            })
        };
        out.push(Rule::new(
            true,
            kind,
            Some(num(d.major(), "major")?),
            Some(num(d.minor(), "minor")?),
            ACC_ALL,
        ));
    }
    Ok(out)
}

/// An exception of the v1 list: allowed devices under a default deny, denied ones under a
/// default allow. Never [`Kind::All`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exception {
    /// Block or char.
    pub kind: Kind,
    /// `None` matches every major.
    pub major: Option<u32>,
    /// `None` matches every minor.
    pub minor: Option<u32>,
    /// The access bits the exception covers.
    pub access: u8,
}

#[cfg(test)]
impl Exception {
    /// The kernel's match (`match_exception` under a default deny, `match_exception_partial`
    /// under a default allow): same type, numbers equal or wildcard, and the access either
    /// wholly covered by this one exception (to allow) or overlapping it at all (to deny).
    pub fn matches(&self, kind: Kind, major: u32, minor: u32, access: u8, partial: bool) -> bool {
        let access_ok = if partial {
            access & self.access != 0
        } else {
            access & !self.access == 0
        };
        self.kind == kind
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && access_ok
    }
}

/// What a v1 device cgroup holds after a rule list was written to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// Behaviour for devices no exception matches.
    pub default_allow: bool,
    /// The exceptions, in the order they were added.
    pub exceptions: Vec<Exception>,
}

impl Effective {
    /// Replay `rules` as the v1 kernel code does: `a` resets; a rule of the opposite kind
    /// to the default adds an exception (merging access into an identical one); a rule of
    /// the default's kind removes access from exceptions with exactly the same type and
    /// numbers only, so a deny cannot punch a hole into a wildcard allow (as in v1).
    pub fn from_rules(rules: &[Rule]) -> Effective {
        // A new cgroup starts as its parent; the root allows everything.
        let mut e = Effective {
            default_allow: true,
            exceptions: vec![],
        };
        for r in rules {
            if r.kind == Kind::All {
                e.default_allow = r.allow;
                e.exceptions.clear();
                continue;
            }
            let same = |x: &Exception| x.kind == r.kind && x.major == r.major && x.minor == r.minor;
            if r.allow != e.default_allow {
                match e.exceptions.iter_mut().find(|x| same(x)) {
                    Some(x) => x.access |= r.access,
                    None if r.access != 0 => e.exceptions.push(Exception {
                        kind: r.kind,
                        major: r.major,
                        minor: r.minor,
                        access: r.access,
                    }),
                    None => {}
                }
            } else {
                for x in e.exceptions.iter_mut().filter(|x| same(x)) {
                    x.access &= !r.access;
                }
                e.exceptions.retain(|x| x.access != 0);
            }
        }
        e
    }

    /// Whether `access` to the device is allowed (the reference the tests hold the
    /// compiled program to).
    #[cfg(test)]
    pub fn allows(&self, kind: Kind, major: u32, minor: u32, access: u8) -> bool {
        let matched = self
            .exceptions
            .iter()
            .any(|x| x.matches(kind, major, minor, access, self.default_allow));
        matched != self.default_allow
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
        serde_json::from_str(json).expect("rules")
    }

    #[test]
    fn v1_lines_are_the_ones_written_before() {
        let devices: Vec<LinuxDevice> = serde_json::from_str(
            r#"[{"path":"/dev/fuse","type":"c","major":10,"minor":229},
                {"path":"/dev/sdb","type":"b","major":8,"minor":16},
                {"path":"/dev/fifo","type":"p","major":0,"minor":0}]"#,
        )
        .expect("devices");
        let r = rules(
            &spec(
                r#"[{"allow":false,"access":"rwm"},
                    {"allow":true,"type":"c","major":4,"minor":-1,"access":"mrw"},
                    {"allow":false,"type":"b","major":8,"access":"w"},
                    {"allow":true,"type":"u","major":1,"minor":2}]"#,
            ),
            &devices,
        )
        .expect("rules");
        let lines: Vec<(bool, String)> = r.iter().map(|r| (r.allow, r.v1_line())).collect();
        let want = [
            (false, "a"),
            (false, "a"),
            (true, "c 4:* rwm"),
            (false, "b 8:* w"),
            (true, "c 1:2 rwm"),
            (true, "c *:* m"),
            (true, "b *:* m"),
            (true, "c 1:3 rwm"),
        ];
        for (i, (a, l)) in want.iter().enumerate() {
            assert_eq!(lines[i], (*a, l.to_string()), "line {i}");
        }
        assert_eq!(lines[lines.len() - 3], (true, "c 10:200 rwm".into()));
        assert_eq!(lines[lines.len() - 2], (true, "c 10:229 rwm".into()));
        assert_eq!(lines[lines.len() - 1], (true, "b 8:16 rwm".into()));
    }

    #[test]
    fn bad_rules_are_refused() {
        assert!(rules(&spec(r#"[{"allow":true,"type":"c","access":"rwx"}]"#), &[]).is_err());
        assert!(rules(&spec(r#"[{"allow":true,"type":"p","access":"r"}]"#), &[]).is_err());
        assert!(rules(
            &spec(r#"[{"allow":true,"type":"c","major":4294967296,"access":"r"}]"#),
            &[]
        )
        .is_err());
    }

    #[test]
    fn replay_follows_the_v1_kernel() {
        let e = Effective::from_rules(
            &rules(&spec(r#"[{"allow":false,"access":"rwm"}]"#), &[]).expect("rules"),
        );
        assert!(!e.default_allow);
        assert!(e.allows(Kind::Char, 1, 3, ACC_READ | ACC_WRITE));
        assert!(e.allows(Kind::Block, 8, 0, ACC_MKNOD));
        assert!(!e.allows(Kind::Block, 8, 0, ACC_READ));
        assert!(!e.allows(Kind::Block, 8, 0, ACC_READ | ACC_MKNOD));
        assert!(e.allows(Kind::Char, 136, 7, ACC_ALL));
        assert!(!e.allows(Kind::Char, 10, 229, ACC_READ));

        // A deny only removes an identical exception: no hole in `c *:* rwm`.
        let e = Effective::from_rules(
            &rules(
                &spec(
                    r#"[{"allow":false,"access":"rwm"},
                        {"allow":true,"type":"c","access":"rwm"},
                        {"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"},
                        {"allow":true,"type":"b","major":8,"minor":0,"access":"rw"},
                        {"allow":false,"type":"b","major":8,"minor":0,"access":"w"}]"#,
                ),
                &[],
            )
            .expect("rules"),
        );
        assert!(e.allows(Kind::Char, 1, 3, ACC_READ));
        assert!(e.allows(Kind::Block, 8, 0, ACC_READ));
        assert!(!e.allows(Kind::Block, 8, 0, ACC_WRITE));

        // `a` resets, whatever numbers it carries; then default allow with deny exceptions.
        let e = Effective::from_rules(&[
            Rule::new(false, Kind::All, None, None, ACC_ALL),
            Rule::new(true, Kind::Char, Some(1), Some(3), ACC_ALL),
            Rule::new(true, Kind::All, Some(4), None, ACC_READ),
            Rule::new(false, Kind::Block, Some(8), None, ACC_READ),
            Rule::new(true, Kind::Block, Some(8), None, ACC_READ),
            Rule::new(false, Kind::Block, Some(9), None, ACC_ALL),
        ]);
        assert!(e.default_allow);
        assert!(e.allows(Kind::Block, 8, 1, ACC_READ));
        assert!(!e.allows(Kind::Block, 9, 1, ACC_READ));
        assert!(e.allows(Kind::Char, 200, 1, ACC_ALL));
        // Under a default allow, a deny of `w` also refuses `rw` (any overlap).
        let e = Effective::from_rules(&[
            Rule::new(true, Kind::All, None, None, ACC_ALL),
            Rule::new(false, Kind::Block, Some(8), Some(0), ACC_WRITE),
        ]);
        assert!(e.allows(Kind::Block, 8, 0, ACC_READ));
        assert!(!e.allows(Kind::Block, 8, 0, ACC_READ | ACC_WRITE));
    }
}
