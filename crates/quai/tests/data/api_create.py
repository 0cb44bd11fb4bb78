"""docker-py against `quai system service`: containers.run with the options SDK users
pass, then wait, logs and inspect. Run by crates/quai/tests/api_create.rs as
`python3 api_create.py SOCKET PREFIX HOSTDIR SUBNET PORT`; prints `ok` and exits 0 when
every check holds (an AssertionError says which did not)."""

import sys

import docker

sock, prefix, hostdir, subnet, port = sys.argv[1:6]
port = int(port)
client = docker.DockerClient(base_url="unix://" + sock)
api = client.api

net = client.networks.create(
    prefix + "net",
    ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=subnet)]),
)

# A server with an alias on the network, made with the low-level call every docker-py
# version has (networking_config with EndpointsConfig).
server = api.create_container(
    "localbusybox",
    ["sleep", "60"],
    name=prefix + "server",
    host_config=api.create_host_config(network_mode=net.name),
    networking_config=api.create_networking_config(
        {net.name: api.create_endpoint_config(aliases=[prefix + "alias"])}
    ),
)
client.containers.get(server["Id"]).start()

run_kwargs = dict(
    detach=True,
    name=prefix + "job",
    environment={"GREETING": "hello"},
    volumes={
        prefix + "vol": {"bind": "/data", "mode": "rw"},
        hostdir: {"bind": "/h", "mode": "ro"},
    },
    ports={"8080/tcp": port},
    labels={"suite": "api_create"},
    network=net.name,
    healthcheck={"test": ["CMD", "true"], "interval": 1000000000, "retries": 2},
)
# docker-py 7 passes networking_config through run(); older ones do not take it.
has_nc = int(docker.__version__.split(".")[0]) >= 7
if has_nc:
    run_kwargs["networking_config"] = {
        net.name: api.create_endpoint_config(aliases=[prefix + "jobalias"])
    }
job = client.containers.run(
    "localbusybox",
    [
        "sh",
        "-c",
        "echo $GREETING; cat /h/file; echo written > /data/out; "
        "touch /h/nope 2>/dev/null && echo rw-bind; "
        "ping -c1 -W3 " + prefix + "alias >/dev/null && echo resolved; exit 3",
    ],
    **run_kwargs,
)
result = job.wait(timeout=60)
assert result["StatusCode"] == 3, result
logs = job.logs().decode()
lines = logs.split()
assert lines[0] == "hello", logs
assert lines[1] == "from-host", logs
assert "rw-bind" not in logs, logs
assert lines[-1] == "resolved", logs

job.reload()
a = job.attrs
assert a["Config"]["Labels"]["suite"] == "api_create", a["Config"]["Labels"]
assert "GREETING=hello" in a["Config"]["Env"], a["Config"]["Env"]
assert a["Config"]["Healthcheck"]["Test"] == ["CMD", "true"], a["Config"]["Healthcheck"]
assert a["Config"]["Healthcheck"]["Interval"] == 1000000000, a["Config"]["Healthcheck"]
assert a["Config"]["Healthcheck"]["Retries"] == 2, a["Config"]["Healthcheck"]
assert a["HostConfig"]["NetworkMode"] == net.name, a["HostConfig"]["NetworkMode"]
assert a["HostConfig"]["PortBindings"] == {
    "8080/tcp": [{"HostIp": "", "HostPort": str(port)}]
}, a["HostConfig"]["PortBindings"]
binds = sorted(a["HostConfig"]["Binds"])
assert binds == sorted([prefix + "vol:/data:rw", hostdir + ":/h:ro"]), binds
mounts = {m["Destination"]: m for m in a["Mounts"]}
assert mounts["/data"]["Type"] == "volume" and mounts["/data"]["Name"] == prefix + "vol", mounts
assert mounts["/h"]["Type"] == "bind" and not mounts["/h"]["RW"], mounts
if has_nc:
    aliases = a["NetworkSettings"]["Networks"][net.name]["Aliases"]
    assert aliases == [prefix + "jobalias"], aliases

# What the job wrote stays in its volume.
out = client.containers.run(
    "localbusybox",
    ["cat", "/d/out"],
    volumes={prefix + "vol": {"bind": "/d", "mode": "ro"}},
    network_mode="none",
    remove=False,
    name=prefix + "reader",
)
assert out.decode().strip() == "written", out

srv = client.containers.get(prefix + "server")
aliases = srv.attrs["NetworkSettings"]["Networks"][net.name]["Aliases"]
assert aliases == [prefix + "alias"], aliases

for c in client.containers.list(all=True):
    if c.name.startswith(prefix):
        c.remove(force=True)
client.volumes.get(prefix + "vol").remove()
net.remove()
print("ok")
