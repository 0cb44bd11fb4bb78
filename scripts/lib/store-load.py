#!/usr/bin/env python3
"""The write/watch load of scripts/bench-store against one API server: WRITERS threads
each create then update ConfigMaps (N writes in all, one HTTPS connection per thread) while
one watch counts the events it receives. Prints writes/s, p50/p99 write latency (ms) and
whether the watch saw every write.
Usage: store-load.py URL TOKEN CA_FILE WRITES WRITERS"""
import http.client
import json
import ssl
import sys
import threading
import time
import urllib.parse

url, token, ca, total, writers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
u = urllib.parse.urlparse(url)
ctx = ssl.create_default_context(cafile=ca)
hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
NS = "/api/v1/namespaces/default/configmaps"


def conn():
    return http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=60)


def call(c, method, path, body=None):
    c.request(method, path, body=json.dumps(body) if body is not None else None, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    if r.status >= 300:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return json.loads(data)


c0 = conn()
rv = call(c0, "GET", NS)["metadata"]["resourceVersion"]
seen = []
done = threading.Event()


def watch():
    c = conn()
    c.request("GET", f"{NS}?watch=1&resourceVersion={rv}&timeoutSeconds=600", headers=hdrs)
    r = c.getresponse()
    while not done.is_set():
        line = r.readline()
        if not line:
            break
        ev = json.loads(line)
        if ev["type"] in ("ADDED", "MODIFIED"):
            seen.append(ev["object"]["metadata"]["name"])
        if len(seen) >= total:
            break


lat = []
lock = threading.Lock()


def writer(w):
    c = conn()
    mine = []
    n = total // writers
    for i in range(n):
        name = f"load-{w}-{i // 2}"
        body = {"metadata": {"name": name}, "data": {"i": str(i)}}
        t = time.perf_counter()
        if i % 2 == 0:
            call(c, "POST", NS, body)
        else:
            call(c, "PUT", f"{NS}/{name}", body)
        mine.append(time.perf_counter() - t)
    with lock:
        lat.extend(mine)


wt = threading.Thread(target=watch)
wt.start()
time.sleep(0.3)
t0 = time.perf_counter()
ts = [threading.Thread(target=writer, args=(w,)) for w in range(writers)]
for t in ts:
    t.start()
for t in ts:
    t.join()
elapsed = time.perf_counter() - t0
wt.join(timeout=30)
done.set()
lat.sort()
n = len(lat)
print(json.dumps({
    "writes": n,
    "writes_per_s": round(n / elapsed, 1),
    "p50_ms": round(lat[n // 2] * 1000, 2),
    "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 2),
    "watched": len(seen),
}))
