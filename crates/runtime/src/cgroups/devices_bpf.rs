//! Device rules on cgroup v2: an eBPF program of type `BPF_PROG_TYPE_CGROUP_DEVICE`
//! attached to the container's cgroup, as runc and crun do (v2 has no `devices.*` files).
//!
//! [`compile`] is free of I/O: it turns the v1 state a rule list leads to
//! ([`Effective`]) into instructions, following runc's device filter. The program reads
//! `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }` (access in the
//! upper 16 bits of `access_type`, type in the lower), then tests one block per exception
//! and returns on the first that matches; all exceptions carry the same verdict (the
//! opposite of the default), so their order does not matter; runc emits them last first.
//! The default verdict ends the program.
//!
//! [`apply`] loads the program and attaches it with `BPF_F_ALLOW_MULTI` (so a program a
//! parent cgroup carries still runs too), then detaches the programs quai attached to that
//! cgroup before (found by their name), so an update replaces rather than stacks.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use nix::errno::Errno;
use nix::fcntl::OFlag;

use super::devices::{Effective, Kind, Rule, ACC_ALL};
use crate::error::{Error, Result, SysContext};

/// One eBPF instruction, laid out as the kernel's `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    /// Opcode.
    pub code: u8,
    /// `dst_reg:4, src_reg:4` bit fields (their order follows the byte order).
    regs: u8,
    /// Jump offset, in instructions after the next one.
    pub off: i16,
    /// Immediate.
    pub imm: i32,
}

const _: () = assert!(std::mem::size_of::<Insn>() == 8);

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        // C bit fields are allocated from the low bits on little-endian, the high bits on
        // big-endian; the kernel's header relies on that.
        let regs = if cfg!(target_endian = "little") {
            dst | (src << 4)
        } else {
            (dst << 4) | src
        };
        Insn {
            code,
            regs,
            off,
            imm,
        }
    }

    /// Destination register.
    #[cfg(test)]
    pub fn dst(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs & 0xf
        } else {
            self.regs >> 4
        }
    }

    /// Source register.
    #[cfg(test)]
    pub fn src(&self) -> u8 {
        if cfg!(target_endian = "little") {
            self.regs >> 4
        } else {
            self.regs & 0xf
        }
    }
}

// Opcodes (class | operation | source): the subset the device filter needs.
/// `dst = *(u32 *)(src + off)`.
pub const LDX_MEM_W: u8 = 0x61;
/// `dst = (u32)dst & imm`.
pub const ALU32_AND_K: u8 = 0x54;
/// `dst = (u32)dst >> imm`.
pub const ALU32_RSH_K: u8 = 0x74;
/// `dst = (u32)imm`.
pub const ALU32_MOV_K: u8 = 0xb4;
/// `dst = (u32)src`.
pub const ALU32_MOV_X: u8 = 0xbc;
/// `if dst != imm goto +off` (64-bit compare, immediate sign-extended).
pub const JMP_JNE_K: u8 = 0x55;
/// `if dst != src goto +off`.
pub const JMP_JNE_X: u8 = 0x5d;
/// `if dst == imm goto +off`.
pub const JMP_JEQ_K: u8 = 0x15;
/// `return r0`.
pub const JMP_EXIT: u8 = 0x95;

// Registers: r0 verdict, r1 context (then scratch), r2 type, r3 access, r4 major, r5 minor.
const R0: u8 = 0;
const R1: u8 = 1;
const R_TYPE: u8 = 2;
const R_ACCESS: u8 = 3;
const R_MAJOR: u8 = 4;
const R_MINOR: u8 = 5;

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
fn dev_type(k: Kind) -> Option<i32> {
    match k {
        Kind::Block => Some(1),
        Kind::Char => Some(2),
        Kind::All => None,
    }
}

/// Compile the effective device rules into a program returning 1 (allow) or 0 (deny).
pub fn compile(e: &Effective) -> Vec<Insn> {
    let mut p = vec![
        Insn::new(LDX_MEM_W, R_TYPE, R1, 0, 0),
        Insn::new(ALU32_AND_K, R_TYPE, 0, 0, 0xffff),
        Insn::new(LDX_MEM_W, R_ACCESS, R1, 0, 0),
        Insn::new(ALU32_RSH_K, R_ACCESS, 0, 0, 16),
        Insn::new(LDX_MEM_W, R_MAJOR, R1, 4, 0),
        Insn::new(LDX_MEM_W, R_MINOR, R1, 8, 0),
    ];
    let verdict = i32::from(!e.default_allow);
    for x in e.exceptions.iter().rev() {
        // (instruction, whether it skips to the next block when taken)
        let mut block: Vec<(Insn, bool)> = Vec::new();
        if let Some(t) = dev_type(x.kind) {
            block.push((Insn::new(JMP_JNE_K, R_TYPE, 0, 0, t), true));
        }
        if x.access & ACC_ALL != ACC_ALL {
            block.push((Insn::new(ALU32_MOV_X, R1, R_ACCESS, 0, 0), false));
            block.push((Insn::new(ALU32_AND_K, R1, 0, 0, i32::from(x.access)), false));
            // An allow must cover every requested bit; a deny (under a default allow)
            // applies when any bit overlaps, as the v1 kernel code checks.
            let test = if e.default_allow {
                Insn::new(JMP_JEQ_K, R1, 0, 0, 0)
            } else {
                Insn::new(JMP_JNE_X, R1, R_ACCESS, 0, 0)
            };
            block.push((test, true));
        }
        // Device numbers fit in 32 bits with the top bit clear (12-bit major, 20-bit
        // minor), so the sign-extending 64-bit compare is exact for every real device.
        if let Some(m) = x.major {
            block.push((Insn::new(JMP_JNE_K, R_MAJOR, 0, 0, m as i32), true));
        }
        if let Some(m) = x.minor {
            block.push((Insn::new(JMP_JNE_K, R_MINOR, 0, 0, m as i32), true));
        }
        block.push((Insn::new(ALU32_MOV_K, R0, 0, 0, verdict), false));
        block.push((Insn::new(JMP_EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        for (i, (mut insn, skips)) in block.into_iter().enumerate() {
            if skips {
                // To the first instruction after this block; blocks are at most 9 long.
                insn.off = (len - i - 1) as i16;
            }
            p.push(insn);
        }
    }
    p.push(Insn::new(ALU32_MOV_K, R0, 0, 0, i32::from(e.default_allow)));
    p.push(Insn::new(JMP_EXIT, 0, 0, 0, 0));
    p
}

// bpf(2) commands, program and attach types, flags (include/uapi/linux/bpf.h).
const BPF_PROG_LOAD: u32 = 5;
const BPF_PROG_ATTACH: u32 = 8;
const BPF_PROG_DETACH: u32 = 9;
const BPF_PROG_GET_FD_BY_ID: u32 = 13;
const BPF_OBJ_GET_INFO_BY_FD: u32 = 15;
const BPF_PROG_QUERY: u32 = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;
/// The kernel keeps at most 64 programs per cgroup and attach type.
const MAX_PROGS: usize = 64;

/// The program name quai's filters carry (at most 15 bytes: `[A-Za-z0-9_.]`); it is how
/// an update tells quai's programs from the ones others attached.
pub const PROG_NAME: &str = "quai_devices";
const LICENSE: &[u8] = b"Apache\0";

/// The `BPF_PROG_LOAD` member of `union bpf_attr`.
#[repr(C)]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH`/`BPF_PROG_DETACH` member.
#[repr(C)]
#[derive(Default)]
struct AttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` member, to its end in current kernels: they write `revision`
/// back whatever size was passed, so the struct must cover it.
#[repr(C)]
#[derive(Default)]
struct QueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
    prog_attach_flags: u64,
    link_ids: u64,
    link_attach_flags: u64,
    revision: u64,
}

/// The `BPF_*_GET_FD_BY_ID` member.
#[repr(C)]
#[derive(Default)]
struct GetIdAttr {
    id: u32,
    next_id: u32,
    open_flags: u32,
}

/// The `BPF_OBJ_GET_INFO_BY_FD` member.
#[repr(C)]
#[derive(Default)]
struct InfoAttr {
    bpf_fd: u32,
    info_len: u32,
    info: u64,
}

/// `struct bpf_prog_info` up to `name`: the kernel fills only `info_len` bytes.
#[repr(C)]
#[derive(Default)]
struct ProgInfo {
    prog_type: u32,
    id: u32,
    tag: [u8; 8],
    jited_prog_len: u32,
    xlated_prog_len: u32,
    jited_prog_insns: u64,
    xlated_prog_insns: u64,
    load_time: u64,
    created_by_uid: u32,
    nr_map_ids: u32,
    map_ids: u64,
    name: [u8; 16],
}

const _: () = {
    assert!(std::mem::size_of::<ProgLoadAttr>() == 72);
    assert!(std::mem::size_of::<AttachAttr>() == 20);
    assert!(std::mem::size_of::<QueryAttr>() == 64);
    assert!(std::mem::size_of::<GetIdAttr>() == 12);
    assert!(std::mem::size_of::<InfoAttr>() == 16);
    assert!(std::mem::size_of::<ProgInfo>() == 80);
};

/// The attr structs above, and only they, may be passed to [`bpf`].
trait Attr {}
impl Attr for ProgLoadAttr {}
impl Attr for AttachAttr {}
impl Attr for QueryAttr {}
impl Attr for GetIdAttr {}
impl Attr for InfoAttr {}

fn bpf<T: Attr>(cmd: u32, attr: &mut T) -> std::result::Result<libc::c_long, Errno> {
    // SAFETY: `attr` is a live, exclusively borrowed #[repr(C)] struct laid out like the
    // union member of `cmd` (sizes checked above), and its size is passed, so the kernel
    // reads and writes only inside it; the buffers its pointer fields name are owned by
    // the caller and outlive this call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            libc::c_long::from(cmd),
            attr as *mut T,
            std::mem::size_of::<T>(),
        )
    };
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// Take ownership of a descriptor bpf(2) returned.
fn owned(fd: libc::c_long) -> OwnedFd {
    // SAFETY: bpf(2) returned a new descriptor (>= 0, checked by `bpf`) that nothing else
    // owns; it fits in a RawFd because the kernel hands out int descriptors.
    unsafe { OwnedFd::from_raw_fd(fd as i32) }
}

fn open_cgroup(dir: &Path) -> Result<OwnedFd> {
    nix::fcntl::open(
        dir,
        OFlag::O_DIRECTORY | OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .sys("open cgroup", dir.display())
}

fn load(prog: &[Insn], log: Option<&mut Vec<u8>>) -> std::result::Result<OwnedFd, Errno> {
    let mut name = [0u8; 16];
    name[..PROG_NAME.len()].copy_from_slice(PROG_NAME.as_bytes());
    let mut attr = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(prog.len()).map_err(|_| Errno::E2BIG)?,
        insns: prog.as_ptr() as u64,
        license: LICENSE.as_ptr() as u64,
        prog_name: name,
        expected_attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    if let Some(buf) = log {
        attr.log_level = 1;
        attr.log_size = u32::try_from(buf.len()).unwrap_or(u32::MAX);
        attr.log_buf = buf.as_mut_ptr() as u64;
    }
    bpf(BPF_PROG_LOAD, &mut attr).map(owned)
}

/// Load `prog`; on a verifier refusal, load again with a log to say why.
fn load_with_log(prog: &[Insn], dir: &Path) -> Result<OwnedFd> {
    const OP: &str = "load the BPF_PROG_TYPE_CGROUP_DEVICE program (device rules on cgroup v2) for";
    match load(prog, None) {
        Ok(fd) => Ok(fd),
        Err(e @ (Errno::EINVAL | Errno::EACCES)) => {
            let mut log = vec![0u8; 64 * 1024];
            let _ = load(prog, Some(&mut log));
            let end = log.iter().position(|b| *b == 0).unwrap_or(log.len());
            let text = String::from_utf8_lossy(&log[..end]);
            let text = text.trim();
            if text.is_empty() {
                return Err(Error::sys(OP, dir.display(), e));
            }
            Err(Error::Invalid(format!(
                "{OP} {}: {e}; verifier log: {text}",
                dir.display()
            )))
        }
        Err(e) => Err(Error::sys(OP, dir.display(), e)),
    }
}

/// The device programs attached directly to the cgroup `dir`: (id, name).
pub fn attached(dir: &Path) -> Result<Vec<(u32, String)>> {
    let cg = open_cgroup(dir)?;
    attached_to(&cg, dir)
}

fn attached_to(cg: &OwnedFd, dir: &Path) -> Result<Vec<(u32, String)>> {
    let mut ids = [0u32; MAX_PROGS];
    let mut q = QueryAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: MAX_PROGS as u32,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut q).sys("query device programs of cgroup", dir.display())?;
    let n = (q.prog_cnt as usize).min(MAX_PROGS);
    let mut out = Vec::with_capacity(n);
    for &id in &ids[..n] {
        let fd = match prog_fd(id) {
            Ok(fd) => fd,
            // Detached and freed since the query.
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys("open BPF program", format!("id {id}"), e)),
        };
        let mut info = ProgInfo::default();
        let mut a = InfoAttr {
            bpf_fd: fd.as_raw_fd() as u32,
            info_len: std::mem::size_of::<ProgInfo>() as u32,
            info: &mut info as *mut ProgInfo as u64,
        };
        bpf(BPF_OBJ_GET_INFO_BY_FD, &mut a).sys("read info of BPF program", format!("id {id}"))?;
        let end = info.name.iter().position(|b| *b == 0).unwrap_or(16);
        out.push((id, String::from_utf8_lossy(&info.name[..end]).into_owned()));
    }
    Ok(out)
}

fn prog_fd(id: u32) -> std::result::Result<OwnedFd, Errno> {
    let mut a = GetIdAttr {
        id,
        ..Default::default()
    };
    bpf(BPF_PROG_GET_FD_BY_ID, &mut a).map(owned)
}

/// Enforce `rules` on the v2 cgroup `dir`: compile, load and attach the program, then
/// detach the ones quai attached there before.
pub fn apply(dir: &Path, rules: &[Rule]) -> Result<()> {
    let prog = compile(&Effective::from_rules(rules));
    let cg = open_cgroup(dir)?;
    let old: Vec<u32> = attached_to(&cg, dir)?
        .into_iter()
        .filter(|(_, name)| name == PROG_NAME)
        .map(|(id, _)| id)
        .collect();
    let fd = load_with_log(&prog, dir)?;
    let mut a = AttachAttr {
        target_fd: cg.as_raw_fd() as u32,
        attach_bpf_fd: fd.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    bpf(BPF_PROG_ATTACH, &mut a).sys("attach device program to cgroup", dir.display())?;
    // The attachment holds the program now; our descriptor can go.
    drop(fd);
    for id in old {
        let old_fd = match prog_fd(id) {
            Ok(fd) => fd,
            Err(Errno::ENOENT) => continue,
            Err(e) => return Err(Error::sys("open BPF program", format!("id {id}"), e)),
        };
        let mut a = AttachAttr {
            target_fd: cg.as_raw_fd() as u32,
            attach_bpf_fd: old_fd.as_raw_fd() as u32,
            attach_type: BPF_CGROUP_DEVICE,
            ..Default::default()
        };
        match bpf(BPF_PROG_DETACH, &mut a) {
            // Detached by someone else meanwhile.
            Ok(_) | Err(Errno::ENOENT) => {}
            Err(e) => {
                return Err(Error::sys(
                    "detach old device program from cgroup",
                    dir.display(),
                    e,
                ))
            }
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "devices_bpf_tests.rs"]
mod tests;
