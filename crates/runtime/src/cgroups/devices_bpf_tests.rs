//! Tests of the device filter: encoding, decisions through a small interpreter of the
//! instructions `compile` emits (checked against the v1 replay), and, as root with a
//! cgroup2 mount, attaching to a real cgroup.

use super::*;
use crate::cgroups::devices::{rules, Exception, ACC_MKNOD, ACC_READ, ACC_WRITE};
use oci_spec::runtime::LinuxDeviceCgroup;

fn bytes(i: &Insn) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[0] = i.code;
    b[1] = i.regs;
    b[2..4].copy_from_slice(&i.off.to_le_bytes());
    b[4..8].copy_from_slice(&i.imm.to_le_bytes());
    b
}

/// Run `prog` on one request the way the kernel would, for the opcodes `compile` uses.
fn run(prog: &[Insn], kind: Kind, major: u32, minor: u32, access: u8) -> u64 {
    let t = match kind {
        Kind::Block => 1,
        Kind::Char => 2,
        Kind::All => panic!("a request is for a block or char device"),
    };
    let ctx = [(u32::from(access) << 16) | t, major, minor];
    let mut r = [0u64; 11];
    let mut r1_is_ctx = true;
    let mut pc = 0usize;
    loop {
        let i = prog.get(pc).expect("program ran off its end");
        pc += 1;
        let (d, s) = (usize::from(i.dst()), usize::from(i.src()));
        let jump = |taken: bool, pc: &mut usize| {
            assert!(i.off >= 0, "backward jump at {}", *pc - 1);
            if taken {
                *pc += i.off as usize;
            }
        };
        match i.code {
            LDX_MEM_W => {
                assert!(s == 1 && r1_is_ctx, "load not from the context");
                assert!(i.off % 4 == 0 && (0..12).contains(&i.off), "off {}", i.off);
                r[d] = u64::from(ctx[(i.off / 4) as usize]);
            }
            ALU32_AND_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
            ALU32_RSH_K => r[d] = u64::from((r[d] as u32) >> i.imm),
            ALU32_MOV_K => r[d] = u64::from(i.imm as u32),
            ALU32_MOV_X => r[d] = u64::from(r[s] as u32),
            JMP_JNE_K => jump(r[d] != i.imm as i64 as u64, &mut pc),
            JMP_JNE_X => jump(r[d] != r[s], &mut pc),
            JMP_JEQ_K => jump(r[d] == i.imm as i64 as u64, &mut pc),
            JMP_EXIT => return r[0],
            c => panic!("unexpected opcode {c:#x}"),
        }
        if d == 1 && i.code != JMP_JNE_K && i.code != JMP_JEQ_K && i.code != JMP_JNE_X {
            r1_is_ctx = false;
        }
    }
}

fn spec(json: &str) -> Vec<LinuxDeviceCgroup> {
    serde_json::from_str(json).expect("rules")
}

/// The program and the v1 replay agree on every request of a grid of devices.
fn agree(e: &Effective) {
    let prog = compile(e);
    for kind in [Kind::Block, Kind::Char] {
        for major in [0, 1, 4, 5, 8, 10, 136, 254] {
            for minor in [0, 1, 3, 5, 9, 200, 229] {
                for access in 1..=ACC_ALL {
                    let want = e.allows(kind, major, minor, access);
                    let got = run(&prog, kind, major, minor, access);
                    assert_eq!(
                        got,
                        u64::from(want),
                        "{kind:?} {major}:{minor} access {access} with {e:?}"
                    );
                }
            }
        }
    }
}

fn effective(json: &str) -> Effective {
    Effective::from_rules(&rules(&spec(json), &[]).expect("rules"))
}

#[test]
fn encodes_instructions_like_the_kernel_header() {
    let e = Effective {
        default_allow: false,
        exceptions: vec![Exception {
            kind: Kind::Char,
            major: Some(1),
            minor: Some(3),
            access: ACC_ALL,
        }],
    };
    let p = compile(&e);
    let b: Vec<[u8; 8]> = p.iter().map(bytes).collect();
    if cfg!(target_endian = "little") {
        // r2 = *(u32 *)(r1 + 0): dst in the low nibble.
        assert_eq!(b[0], [0x61, 0x12, 0, 0, 0, 0, 0, 0]);
        // w2 &= 0xffff
        assert_eq!(b[1], [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]);
        // w3 >>= 16
        assert_eq!(b[3], [0x74, 0x03, 0, 0, 16, 0, 0, 0]);
        // r5 = *(u32 *)(r1 + 8)
        assert_eq!(b[5], [0x61, 0x15, 8, 0, 0, 0, 0, 0]);
        // if r2 != 2 goto +4 (to the default verdict)
        assert_eq!(b[6], [0x55, 0x02, 4, 0, 2, 0, 0, 0]);
        // if r4 != 1 goto +3; if r5 != 3 goto +2
        assert_eq!(b[7], [0x55, 0x04, 3, 0, 1, 0, 0, 0]);
        assert_eq!(b[8], [0x55, 0x05, 2, 0, 3, 0, 0, 0]);
        // w0 = 1; exit; w0 = 0; exit
        assert_eq!(b[9], [0xb4, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(b[10], [0x95, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(b[11], [0xb4, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(b[12], [0x95, 0, 0, 0, 0, 0, 0, 0]);
    }
    assert_eq!(p.len(), 13);
    assert_eq!(p[4].off, 4);
    assert_eq!((p[4].dst(), p[4].src()), (R_MAJOR, R1));

    // A partial access adds the mask test: w1 = w3; w1 &= 3 (r, m); if r1 != r3 skip.
    let e = Effective {
        default_allow: false,
        exceptions: vec![Exception {
            kind: Kind::Block,
            major: None,
            minor: None,
            access: ACC_READ | ACC_MKNOD,
        }],
    };
    let p = compile(&e);
    assert_eq!(p[6].code, JMP_JNE_K);
    assert_eq!(p[6].off, 5);
    assert_eq!(
        (p[7].code, p[7].dst(), p[7].src()),
        (ALU32_MOV_X, R1, R_ACCESS)
    );
    assert_eq!((p[8].code, p[8].imm), (ALU32_AND_K, 3));
    assert_eq!(
        (p[9].code, p[9].dst(), p[9].src(), p[9].off),
        (JMP_JNE_X, R1, R_ACCESS, 2)
    );
}

#[test]
fn default_rules_allow_the_usual_devices_only() {
    let e = effective(r#"[{"allow":false,"access":"rwm"}]"#);
    let p = compile(&e);
    let rw = ACC_READ | ACC_WRITE;
    assert_eq!(run(&p, Kind::Char, 1, 3, ACC_ALL), 1, "/dev/null");
    assert_eq!(run(&p, Kind::Char, 136, 4, rw), 1, "/dev/pts/4");
    assert_eq!(run(&p, Kind::Char, 10, 200, rw), 1, "/dev/net/tun");
    assert_eq!(run(&p, Kind::Block, 8, 0, ACC_MKNOD), 1, "mknod sda");
    assert_eq!(run(&p, Kind::Block, 8, 0, ACC_READ), 0, "read sda");
    assert_eq!(run(&p, Kind::Block, 8, 0, rw), 0, "open sda rw");
    assert_eq!(run(&p, Kind::Char, 1, 1, ACC_READ), 0, "/dev/mem");
    assert_eq!(run(&p, Kind::Char, 10, 229, ACC_READ), 0, "/dev/fuse");
    agree(&e);
}

#[test]
fn spec_rules_and_wildcards_decide_as_in_v1() {
    // A device allowed by the spec, a wildcard minor (-1), a partial access.
    let e = effective(
        r#"[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"b","major":8,"minor":0,"access":"r"},
            {"allow":true,"type":"c","major":4,"minor":-1,"access":"rw"},
            {"allow":true,"type":"c","major":10,"minor":229,"access":"rwm"}]"#,
    );
    let p = compile(&e);
    assert_eq!(run(&p, Kind::Block, 8, 0, ACC_READ), 1);
    assert_eq!(run(&p, Kind::Block, 8, 0, ACC_READ | ACC_WRITE), 0);
    assert_eq!(run(&p, Kind::Block, 8, 1, ACC_READ), 0);
    assert_eq!(run(&p, Kind::Char, 4, 9, ACC_WRITE), 1);
    assert_eq!(run(&p, Kind::Char, 10, 229, ACC_READ), 1);
    agree(&e);

    // Wildcard type and numbers: `a` allows everything; then block devices denied.
    let e = effective(
        r#"[{"allow":true,"access":"rwm"},
            {"allow":false,"type":"b","access":"rwm"},
            {"allow":false,"type":"c","major":5,"access":"w"}]"#,
    );
    let p = compile(&e);
    assert_eq!(run(&p, Kind::Block, 8, 0, ACC_READ), 0);
    assert_eq!(
        run(&p, Kind::Block, 8, 0, ACC_MKNOD),
        1,
        "b *:* m from the defaults"
    );
    assert_eq!(run(&p, Kind::Char, 1, 1, ACC_READ), 1);
    assert_eq!(
        run(&p, Kind::Char, 5, 3, ACC_READ | ACC_WRITE),
        0,
        "overlap denies"
    );
    // The defaults' `c 5:0 rwm` removes only an identical deny, not `c 5:* w`.
    assert_eq!(run(&p, Kind::Char, 5, 0, ACC_WRITE), 0, "5:0 stays denied");
    assert_eq!(run(&p, Kind::Char, 5, 0, ACC_READ), 1);
    agree(&e);

    // A deny of one device inside a wildcard allow is no hole (v1 behaviour), a deny
    // of a whole type after the defaults would be.
    agree(&effective(
        r#"[{"allow":false,"access":"rwm"},
            {"allow":true,"type":"c","access":"rwm"},
            {"allow":false,"type":"c","major":1,"minor":3,"access":"rwm"},
            {"allow":true,"type":"a","major":1,"access":"r"}]"#,
    ));
    agree(&effective("[]"));
}

/// As root on a host with a cgroup2 mount: attach to a cgroup of our own, twice; the
/// second attach replaces the first. The cgroup is removed even when an assertion fails.
#[test]
fn attaches_and_replaces_on_a_real_cgroup() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("SKIP attaches_and_replaces_on_a_real_cgroup: needs root");
        return;
    }
    let Some(v2) = crate::cgroups::Layout::detect().ok().and_then(|l| l.v2) else {
        eprintln!("SKIP attaches_and_replaces_on_a_real_cgroup: no cgroup2 mount");
        return;
    };
    struct Dir(std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir(&self.0);
        }
    }
    let dir = Dir(v2
        .mountpoint
        .join(format!("quai-bpf-unit-{}", std::process::id())));
    std::fs::create_dir(&dir.0).expect("create test cgroup");
    let r = rules(&spec(r#"[{"allow":false,"access":"rwm"}]"#), &[]).expect("rules");
    apply(&dir.0, &r).expect("attach");
    let first = attached(&dir.0).expect("query");
    assert_eq!(first.len(), 1, "{first:?}");
    assert_eq!(first[0].1, PROG_NAME);
    apply(&dir.0, &r).expect("attach again");
    let second = attached(&dir.0).expect("query");
    assert_eq!(second.len(), 1, "old program not replaced: {second:?}");
    assert_ne!(second[0].0, first[0].0);
}
