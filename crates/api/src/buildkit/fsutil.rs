//! The receiving side of fsutil's `DiffCopy` (BuildKit's file sync): the service calls
//! `/moby.filesync.v1.FileSync/DiffCopy` on the client's session with the directory's
//! name (`context`, `dockerfile`) and writes what comes into a fresh directory. The
//! sender walks its tree and sends a STAT packet per entry (directories before what
//! they hold, then an empty STAT); the receiver asks for each regular file's bytes with
//! a REQ packet naming the file by its place in that walk; the sender answers DATA
//! packets, an empty one ending the file; FIN from the receiver, answered by FIN, ends
//! the transfer. Entries are made only under directories this transfer made itself,
//! so a link sent before cannot lead a later path out of the destination.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;

use super::grpc::{self, Status};
use super::proto::{Packet, Stat, PACKET_DATA, PACKET_ERR, PACKET_FIN, PACKET_REQ, PACKET_STAT};

// Go's `os.FileMode` bits, which fsutil's Stat carries.
const MODE_DIR: u32 = 1 << 31;
const MODE_SYMLINK: u32 = 1 << 27;
const MODE_DEVICE: u32 = 1 << 26;
const MODE_NAMED_PIPE: u32 = 1 << 25;
const MODE_SOCKET: u32 = 1 << 24;
const MODE_SETUID: u32 = 1 << 23;
const MODE_SETGID: u32 = 1 << 22;
const MODE_CHAR_DEVICE: u32 = 1 << 21;
const MODE_STICKY: u32 = 1 << 20;
const MODE_IRREGULAR: u32 = 1 << 19;
const MODE_TYPE: u32 = MODE_DIR
    | MODE_SYMLINK
    | MODE_NAMED_PIPE
    | MODE_SOCKET
    | MODE_DEVICE
    | MODE_CHAR_DEVICE
    | MODE_IRREGULAR;

/// The kernel's permission bits of a Go file mode.
fn unix_perm(mode: u32) -> u32 {
    let mut p = mode & 0o777;
    if mode & MODE_SETUID != 0 {
        p |= 0o4000;
    }
    if mode & MODE_SETGID != 0 {
        p |= 0o2000;
    }
    if mode & MODE_STICKY != 0 {
        p |= 0o1000;
    }
    p
}

/// A sent path made relative and checked: no `..`, no empty or `.` parts, not absolute.
fn clean(path: &str) -> Result<String, Status> {
    let bad = || Status::new(grpc::INVALID_ARGUMENT, format!("invalid path {path:?}"));
    let parts: Vec<&str> = path.split('/').collect();
    if path.starts_with('/')
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(bad());
    }
    Ok(parts.join("/"))
}

fn parent(rel: &str) -> &str {
    rel.rsplit_once('/').map(|(p, _)| p).unwrap_or("")
}

fn mtime(nanos: i64) -> SystemTime {
    if nanos >= 0 {
        UNIX_EPOCH + Duration::from_nanos(nanos as u64)
    } else {
        UNIX_EPOCH
    }
}

fn io_err(what: &str, p: &Path, e: std::io::Error) -> Status {
    Status::new(grpc::UNKNOWN, format!("{what} {}: {e}", p.display()))
}

/// What the transfer has made so far.
struct Writer {
    dest: PathBuf,
    /// Directories made (relative; "" is the destination).
    dirs: HashSet<String>,
    /// Regular files made (the targets hard links may name).
    regular: HashSet<String>,
    /// Files whose bytes are awaited, by request id.
    open: HashMap<u32, (std::fs::File, PathBuf, SystemTime)>,
    /// Directories' modes and times, set at the end (their entries change the times).
    dir_meta: Vec<(PathBuf, u32, SystemTime)>,
    bytes: u64,
}

impl Writer {
    fn new(dest: &Path) -> Writer {
        Writer {
            dest: dest.to_path_buf(),
            dirs: HashSet::from([String::new()]),
            regular: HashSet::new(),
            open: HashMap::new(),
            dir_meta: Vec::new(),
            bytes: 0,
        }
    }

    /// Make the entry `st` (number `id` in the walk); the id to request when its bytes
    /// are wanted.
    fn entry(&mut self, id: u32, st: &Stat) -> Result<Option<u32>, Status> {
        if st.path.is_empty() {
            return Ok(None);
        }
        let rel = clean(&st.path)?;
        if !self.dirs.contains(parent(&rel)) {
            return Err(Status::new(
                grpc::INVALID_ARGUMENT,
                format!("{rel:?} comes before its directory"),
            ));
        }
        let full = self.dest.join(&rel);
        let kind = st.mode & MODE_TYPE;
        let mut wanted = None;
        if kind == MODE_DIR {
            std::fs::create_dir(&full).map_err(|e| io_err("create", &full, e))?;
            self.dir_meta
                .push((full.clone(), unix_perm(st.mode), mtime(st.mod_time)));
            self.dirs.insert(rel.clone());
        } else if kind == MODE_SYMLINK {
            std::os::unix::fs::symlink(&st.linkname, &full)
                .map_err(|e| io_err("symlink", &full, e))?;
        } else if kind == 0 && !st.linkname.is_empty() {
            // A hard link to a file sent before.
            let target = clean(&st.linkname)?;
            if !self.regular.contains(&target) {
                return Err(Status::new(
                    grpc::INVALID_ARGUMENT,
                    format!("hard link {rel:?} to {target:?}, not a file sent before"),
                ));
            }
            std::fs::hard_link(self.dest.join(&target), &full)
                .map_err(|e| io_err("link", &full, e))?;
            return Ok(None);
        } else if kind == 0 {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW)
                .open(&full)
                .map_err(|e| io_err("create", &full, e))?;
            self.open.insert(id, (f, full.clone(), mtime(st.mod_time)));
            self.regular.insert(rel.clone());
            wanted = Some(id);
        } else {
            // Devices, pipes and sockets have no place in a build context.
            return Ok(None);
        }
        // Owner first: a chown clears the set-id bits.
        let _ = std::os::unix::fs::lchown(&full, Some(st.uid), Some(st.gid));
        if kind != MODE_SYMLINK && kind != MODE_DIR {
            std::fs::set_permissions(&full, std::fs::Permissions::from_mode(unix_perm(st.mode)))
                .map_err(|e| io_err("chmod", &full, e))?;
        }
        Ok(wanted)
    }

    /// Bytes of the file `id`; true when they have all come.
    fn data(&mut self, id: u32, data: &[u8]) -> Result<bool, Status> {
        if data.is_empty() {
            let Some((f, path, time)) = self.open.remove(&id) else {
                return Err(Status::new(
                    grpc::INVALID_ARGUMENT,
                    format!("data for file {id}, not requested"),
                ));
            };
            f.set_modified(time)
                .map_err(|e| io_err("set the time of", &path, e))?;
            return Ok(true);
        }
        let Some((f, path, _)) = self.open.get_mut(&id) else {
            return Err(Status::new(
                grpc::INVALID_ARGUMENT,
                format!("data for file {id}, not requested"),
            ));
        };
        f.write_all(data).map_err(|e| io_err("write", path, e))?;
        self.bytes += data.len() as u64;
        Ok(false)
    }

    fn finish(&mut self) -> Result<(), Status> {
        for (dir, perm, time) in self.dir_meta.iter().rev() {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(*perm))
                .map_err(|e| io_err("chmod", dir, e))?;
            if let Ok(f) = std::fs::File::open(dir) {
                let _ = f.set_modified(*time);
            }
        }
        Ok(())
    }
}

/// Go's `url.QueryEscape` closely enough for `url.QueryUnescape` to give it back.
fn query_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn packet(kind: i32, id: u32) -> Bytes {
    grpc::frame(&Packet {
        r#type: kind,
        stat: None,
        id,
        data: Vec::new(),
    })
}

/// Receive the client's directory `dir_name` into `dest` (which exists and is empty),
/// only the paths matching `include` when given; the bytes of the files received.
pub async fn receive(
    session: &h2::client::SendRequest<Bytes>,
    dir_name: &str,
    include: &[String],
    dest: &Path,
) -> Result<u64, Status> {
    let mut md = vec![("dir-name", dir_name.to_string())];
    if !include.is_empty() {
        md.push(("include-patterns-encoded", "true".to_string()));
        md.extend(
            include
                .iter()
                .map(|p| ("include-patterns", query_escape(p))),
        );
    }
    let mut send = session.clone();
    let (mut tx, mut rx) =
        grpc::call(&mut send, "/moby.filesync.v1.FileSync/DiffCopy", &md).await?;
    let mut w = Writer::new(dest);
    let (mut next_id, mut listed, mut fin_sent) = (0u32, false, false);
    loop {
        let Some(p) = rx.next::<Packet>().await? else {
            return Err(Status::new(
                grpc::UNKNOWN,
                format!("the transfer of {dir_name:?} ended before its end"),
            ));
        };
        match p.r#type {
            PACKET_STAT => match &p.stat {
                Some(st) => {
                    // File system work off the async worker's hands (it serves other
                    // requests meanwhile).
                    if let Some(id) = tokio::task::block_in_place(|| w.entry(next_id, st))? {
                        tx.send_data(packet(PACKET_REQ, id), false)?;
                    }
                    next_id += 1;
                }
                None => listed = true,
            },
            PACKET_DATA => {
                tokio::task::block_in_place(|| w.data(p.id, &p.data))?;
            }
            PACKET_FIN => {
                // The sender may have ended the call already (its FIN, then its
                // status): the half-close is then no longer wanted.
                let _ = tx.send_data(Bytes::new(), true);
                while rx.next::<Packet>().await?.is_some() {}
                rx.status().await?;
                tokio::task::block_in_place(|| w.finish())?;
                return Ok(w.bytes);
            }
            PACKET_ERR => {
                return Err(Status::new(
                    grpc::UNKNOWN,
                    format!("sending {dir_name:?}: {}", String::from_utf8_lossy(&p.data)),
                ))
            }
            _ => {}
        }
        if listed && w.open.is_empty() && !fin_sent {
            tx.send_data(packet(PACKET_FIN, 0), false)?;
            fin_sent = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() {
        assert_eq!(clean("a/b").ok().as_deref(), Some("a/b"));
        for bad in ["/etc", "a/../../x", "..", "a//b", "./a", "a/"] {
            assert!(clean(bad).is_err(), "{bad}");
        }
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("a"), "");
    }

    #[test]
    fn modes_as_the_kernel_has_them() {
        assert_eq!(unix_perm(MODE_DIR | 0o755), 0o755);
        assert_eq!(unix_perm(MODE_SETUID | MODE_STICKY | 0o644), 0o5644);
        assert_eq!(query_escape("a b/*.txt"), "a%20b%2F%2A.txt");
    }

    #[test]
    fn a_tree_is_written_and_a_link_cannot_lead_out() {
        let dir = std::env::temp_dir().join(format!("quai-fsutil-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("dir");
        let mut w = Writer::new(&dir);
        let st = |path: &str, mode: u32, link: &str| Stat {
            path: path.into(),
            mode,
            linkname: link.into(),
            uid: 0,
            gid: 0,
            ..Default::default()
        };
        assert_eq!(w.entry(0, &st("d", MODE_DIR | 0o755, "")).ok(), Some(None));
        assert_eq!(w.entry(1, &st("d/f", 0o644, "")).ok(), Some(Some(1)));
        assert!(w.data(1, b"hi").is_ok());
        assert_eq!(w.data(1, b"").ok(), Some(true));
        assert!(w.entry(2, &st("l", MODE_SYMLINK | 0o777, "/etc")).is_ok());
        assert!(w.entry(3, &st("l/passwd", 0o644, "")).is_err());
        assert!(w.entry(4, &st("h", 0o644, "d/f")).is_ok());
        assert!(w.finish().is_ok());
        assert_eq!(std::fs::read(dir.join("h")).expect("h"), b"hi");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
