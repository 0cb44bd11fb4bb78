"""docker-py's everyday calls against `quai system service`, beyond create: exec_run,
followed logs, archives both ways, build, commit, save and load, pause, restart, top,
stats, rename, events, diff, export, networks with connect and aliases, df and prune.
Run by crates/quai/tests/api_sdk.rs as `python3 api_sdk.py SOCKET WORKDIR`; prints `ok`
and exits 0 when every check holds (an AssertionError says which did not)."""

import io
import sys
import tarfile
import time

import docker

sock, work = sys.argv[1:3]
client = docker.DockerClient(base_url="unix://" + sock)
api = client.api
start = int(time.time())

c = client.containers.run(
    "localbusybox",
    ["sh", "-c", "for i in 1 2 3; do echo line-$i; sleep 0.2; done; sleep 60"],
    detach=True,
    name="sdk1",
    network_mode="none",
)

# Followed logs: the lines as they come, then stop reading.
seen = []
for chunk in c.logs(stream=True, follow=True):
    seen.append(chunk.decode())
    if "line-3" in "".join(seen):
        break
assert "".join(seen).split() == ["line-1", "line-2", "line-3"], seen

# run() reads its followed logs after it has removed the container: the last line,
# written just before the exit, is there too (on the default bridge, whose teardown
# makes the removal slower).
for _ in range(5):
    out = client.containers.run("localbusybox", ["sh", "-c", "echo a; sleep 0.3; echo b"], remove=True)
    assert out == b"a\nb\n", out

# exec_run: exit code, output, environment, workdir, user; and a streamed one.
r = c.exec_run(["sh", "-c", "echo $X $(pwd) $(id -u); exit 4"], environment={"X": "y"}, workdir="/tmp", user="65534")
assert r.exit_code == 4 and r.output == b"y /tmp 65534\n", r
r = c.exec_run("sh -c 'echo out; echo err >&2'", demux=True)
assert r.output == (b"out\n", b"err\n"), r
out = b"".join(c.exec_run(["sh", "-c", "echo a; echo b"], stream=True).output)
assert out == b"a\nb\n", out

# Archives both ways.
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w") as t:
    data = b"put by sdk\n"
    info = tarfile.TarInfo("dir/f.txt")
    info.size = len(data)
    t.addfile(info, io.BytesIO(data))
assert c.put_archive("/tmp", buf.getvalue())
stream, stat = c.get_archive("/tmp/dir/f.txt")
assert stat["name"] == "f.txt" and stat["size"] == 11, stat
got = io.BytesIO(b"".join(stream))
with tarfile.open(fileobj=got) as t:
    assert t.extractfile("f.txt").read() == b"put by sdk\n"

# diff, top, stats, pause, rename, restart.
changes = {(d["Path"], d["Kind"]) for d in c.diff()}
assert ("/tmp/dir/f.txt", 1) in changes, changes
top = c.top()
assert any("sleep" in " ".join(p) for p in top["Processes"]), top
st = c.stats(stream=False)
assert st["memory_stats"]["usage"] > 0 and st["name"] == "/sdk1", st
c.pause()
c.reload()
assert c.status == "paused", c.status
c.unpause()
c.rename("sdk2")
c.reload()
assert c.name == "sdk2", c.name
c.restart(timeout=0)
c.reload()
assert c.status == "running", c.status

# Export: the container's files as a tar.
exported = b"".join(c.export())
with tarfile.open(fileobj=io.BytesIO(exported)) as t:
    assert "bin/sh" in t.getnames() or "./bin/sh" in t.getnames()

# Build from a file object, commit, save and load.
dockerfile = io.BytesIO(b"FROM localbusybox\nRUN echo built > /built\nCMD cat /built\n")
img, logs = client.images.build(fileobj=dockerfile, tag="sdkbuilt:1", rm=True)
assert "sdkbuilt:1" in img.tags, img.tags
assert client.containers.run("sdkbuilt:1", network_mode="none", remove=True) == b"built\n"
committed = c.commit(repository="sdkcommit", tag="v1", changes=["ENV COMMITTED=1"])
assert "COMMITTED=1" in committed.attrs["Config"]["Env"], committed.attrs["Config"]["Env"]
saved = b"".join(committed.save(named=True))
client.images.remove("sdkcommit:v1")
loaded = client.images.load(saved)
assert any("sdkcommit:v1" in i.tags for i in loaded), loaded

# Networks: connect with an alias, reach it by name, disconnect.
net = client.networks.create("sdknet")
srv = client.containers.run("localbusybox", ["sleep", "60"], detach=True, name="sdksrv", network="sdknet")
joiner = client.containers.run("localbusybox", ["sleep", "60"], detach=True, name="sdkjoiner")
net.connect(joiner, aliases=["sdkalias"])
probe = client.containers.run(
    "localbusybox", ["sh", "-c", "ping -c1 -W3 sdkalias >/dev/null && echo reached"],
    network="sdknet", remove=True,
)
assert probe == b"reached\n", probe
net.disconnect(joiner)
net.reload()
assert [x.name for x in net.containers] == ["sdksrv"], net.containers

# Events since the start, decoded.
evs = list(api.events(since=start, until=int(time.time()) + 1, decode=True, filters={"event": "rename"}))
assert [e["Actor"]["Attributes"]["name"] for e in evs] == ["sdk2"], evs

# df and prunes.
df = client.df()
assert any("sdkbuilt:1" in (i.get("RepoTags") or []) for i in df["Images"]), df["Images"]
srv.remove(force=True)
joiner.remove(force=True)
c.remove(force=True)
net.remove()
client.containers.run("localbusybox", "true", network_mode="none", name="sdkdone")
pruned = client.containers.prune()
assert len(pruned["ContainersDeleted"]) == 1, pruned
assert client.containers.list(all=True) == []
print("ok")
