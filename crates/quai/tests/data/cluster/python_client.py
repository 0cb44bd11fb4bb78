"""The Python `kubernetes` client (strict about required fields) against quai cluster:
lists, typed create/read/patch/replace/delete, a Deployment whose pods run and scale,
label and field selectors, exec and logs, a watch, a Job with a Secret and a ConfigMap in
its env, and errors (404, 409, 422). Prints one line per check; exits non-zero on the first failure."""
import sys
import threading
import time

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

config.load_kube_config()
v1 = client.CoreV1Api()
apps = client.AppsV1Api()
ns = "default"

names = [n.metadata.name for n in v1.list_namespace().items]
assert "kube-system" in names, names
print("namespaces", ",".join(sorted(names)))

cm = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py", labels={"from": "python"}), data={"a": "1"})
created = v1.create_namespaced_config_map(ns, cm)
assert created.metadata.uid and created.metadata.resource_version
v1.patch_namespaced_config_map("py", ns, {"data": {"b": "2"}})
got = v1.read_namespaced_config_map("py", ns)
assert got.data == {"a": "1", "b": "2"}, got.data
got.data["c"] = "3"
v1.replace_namespaced_config_map("py", ns, got)
assert v1.read_namespaced_config_map("py", ns).data["c"] == "3"
print("configmap ok")

try:
    v1.read_namespaced_config_map("nope", ns)
    sys.exit("no 404")
except ApiException as e:
    assert e.status == 404, e.status
print("404 ok")

dep = client.V1Deployment(
    metadata=client.V1ObjectMeta(name="pyweb"),
    spec=client.V1DeploymentSpec(
        replicas=1,
        selector=client.V1LabelSelector(match_labels={"app": "pyweb"}),
        template=client.V1PodTemplateSpec(
            metadata=client.V1ObjectMeta(labels={"app": "pyweb"}),
            spec=client.V1PodSpec(containers=[client.V1Container(
                name="c", image="localbusybox:1", image_pull_policy="Never",
                command=["httpd", "-f", "-p", "8080"])]))))
apps.create_namespaced_deployment(ns, dep)
deadline = time.time() + 30
while time.time() < deadline:
    pods = v1.list_namespaced_pod(ns, label_selector="app=pyweb").items
    if pods and pods[0].status.phase == "Running" and pods[0].status.container_statuses[0].ready:
        break
    time.sleep(0.2)
else:
    sys.exit("pod not running")
# The Deployment's status follows its ReplicaSet's, a pass of the controllers later.
deadline = time.time() + 10
while time.time() < deadline:
    d = apps.read_namespaced_deployment_status("pyweb", ns)
    if d.status.available_replicas == 1:
        break
    time.sleep(0.2)
else:
    sys.exit(f"deployment not available: {d.status}")
print("deployment ok", pods[0].status.pod_ip)

events = []
def later():
    time.sleep(1)
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="pylate")))
threading.Thread(target=later).start()
w = watch.Watch()
for ev in w.stream(v1.list_namespaced_config_map, ns, timeout_seconds=4):
    events.append((ev["type"], ev["object"].metadata.name))
    if ev["object"].metadata.name == "pylate":
        w.stop()
assert ("ADDED", "pylate") in events, events
print("watch ok")

# More of kubectl's checks, through the Python client.
pod_name = pods[0].metadata.name
# Label and field selectors.
sel = v1.list_namespaced_pod(ns, label_selector="app=pyweb,app!=other").items
assert [p.metadata.name for p in sel] == [pod_name], sel
fsel = v1.list_namespaced_pod(ns, field_selector=f"metadata.name={pod_name},status.phase=Running").items
assert len(fsel) == 1, fsel
assert v1.list_namespaced_pod(ns, field_selector="status.phase=Failed", label_selector="app=pyweb").items == []
print("selectors ok")

# Scale through the scale subresource.
apps.patch_namespaced_deployment_scale("pyweb", ns, {"spec": {"replicas": 2}})
deadline = time.time() + 30
while time.time() < deadline:
    if len([p for p in v1.list_namespaced_pod(ns, label_selector="app=pyweb").items
            if p.status.phase == "Running"]) == 2:
        break
    time.sleep(0.2)
else:
    sys.exit("not scaled to 2")
assert apps.read_namespaced_deployment_scale("pyweb", ns).spec.replicas == 2
print("scale ok")

# exec over WebSocket (the client's v4.channel.k8s.io), and logs.
from kubernetes.stream import stream
out = stream(v1.connect_get_namespaced_pod_exec, pod_name, ns,
             command=["sh", "-c", "echo from-python; echo to-log > /proc/1/fd/1"],
             stderr=True, stdin=False, stdout=True, tty=False)
assert out.strip() == "from-python", repr(out)
deadline = time.time() + 10
while time.time() < deadline:
    if "to-log" in v1.read_namespaced_pod_log(pod_name, ns):
        break
    time.sleep(0.2)
else:
    sys.exit("log line missing")
print("exec and logs ok")

# A stale update is a 409, an invalid object a 422 with the field's path.
stale = v1.read_namespaced_config_map("py", ns)
v1.patch_namespaced_config_map("py", ns, {"data": {"d": "4"}})
stale.data["e"] = "5"
try:
    v1.replace_namespaced_config_map("py", ns, stale)
    sys.exit("no 409")
except ApiException as e:
    assert e.status == 409, e.status
try:
    v1.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="Bad_Name")))
    sys.exit("no 422")
except ApiException as e:
    assert e.status == 422 and "metadata.name" in e.body, (e.status, e.body)
print("409 and 422 ok")

# A Secret and a ConfigMap in a Job's env, run to completion.
batch = client.BatchV1Api()
v1.create_namespaced_secret(ns, client.V1Secret(metadata=client.V1ObjectMeta(name="pysecret"),
                                                string_data={"pw": "s3cret"}))
job = client.V1Job(
    metadata=client.V1ObjectMeta(name="pyjob"),
    spec=client.V1JobSpec(template=client.V1PodTemplateSpec(spec=client.V1PodSpec(
        restart_policy="Never",
        containers=[client.V1Container(
            name="j", image="localbusybox:1", image_pull_policy="Never",
            command=["sh", "-c", "echo $PW $A"],
            env=[client.V1EnvVar(name="PW", value_from=client.V1EnvVarSource(
                     secret_key_ref=client.V1SecretKeySelector(name="pysecret", key="pw"))),
                 client.V1EnvVar(name="A", value_from=client.V1EnvVarSource(
                     config_map_key_ref=client.V1ConfigMapKeySelector(name="py", key="a")))])]))))
batch.create_namespaced_job(ns, job)
deadline = time.time() + 30
while time.time() < deadline:
    j = batch.read_namespaced_job_status("pyjob", ns)
    if j.status.succeeded == 1:
        break
    time.sleep(0.2)
else:
    sys.exit(f"job not complete: {j.status}")
jp = v1.list_namespaced_pod(ns, label_selector="job-name=pyjob").items[0].metadata.name
assert v1.read_namespaced_pod_log(jp, ns).strip() == "s3cret 1"
batch.delete_namespaced_job("pyjob", ns, propagation_policy="Background")
print("job ok")

v1.delete_namespaced_config_map("py", ns)
apps.delete_namespaced_deployment("pyweb", ns)
print("ok")
