"""A gRPC server with the standard health service (grpcio's own), for quai cluster's gRPC
probes: the server is SERVING and the service "db" NOT_SERVING until the file named by
the third argument exists. Usage: health_server.py ADDRESS:PORT SECONDS FLAG_FILE"""
import os
import sys
import time
from concurrent import futures

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
svc = health.HealthServicer()
health_pb2_grpc.add_HealthServicer_to_server(svc, server)
svc.set("", health_pb2.HealthCheckResponse.SERVING)
svc.set("db", health_pb2.HealthCheckResponse.NOT_SERVING)
server.add_insecure_port(sys.argv[1])
server.start()
end = time.time() + float(sys.argv[2])
while time.time() < end:
    if os.path.exists(sys.argv[3]):
        svc.set("db", health_pb2.HealthCheckResponse.SERVING)
    time.sleep(0.1)
server.stop(0)
