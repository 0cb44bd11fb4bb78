"""The Python `kubernetes` client (strict about required fields) against quai cluster:
lists, typed create/read/patch/replace/delete, a Deployment whose pods run, a watch, and
errors. Prints one line per check; exits non-zero on the first failure."""
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

v1.delete_namespaced_config_map("py", ns)
apps.delete_namespaced_deployment("pyweb", ns)
print("ok")
