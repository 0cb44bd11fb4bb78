#!/usr/bin/env python3
"""The service side of a Docker API request: N requests, each on a new connection to the
unix socket (as the docker CLI makes them), without any client's start-up in the time.
Usage: api-latency.py SOCKET PATH N   -> prints the median in milliseconds."""
import socket, sys, time
def req(path, sock):
    s = socket.socket(socket.AF_UNIX); s.connect(sock)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
    data = b''
    while True:
        d = s.recv(65536)
        if not d: break
        data += d
    s.close()
    return data
sock, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(3): req(path, sock)
ts = []
for _ in range(n):
    t = time.perf_counter(); req(path, sock); ts.append(time.perf_counter() - t)
ts.sort()
print(f"{ts[len(ts)//2]*1000:.3f}")
