"""The lab's simulated EKS Kubernetes API server.

    from irsa_explorer.lab.kube import KubeApiServer
    server = KubeApiServer(cluster, runtime, signer, latency_s=0.0, pod_identity_lookup=None)
    server.start_in_thread()            # or: await server.start()
    server.url, server.ca_pem, server.admin_token, server.kubeconfig("ctx", "user")
    server.create_object("pods", manifest, running=True)   # seeding, admission included
    server.counters                     # {"list pods": 3, "create token": 1, ...}
    server.add_user("alice", namespaces=["team-a"])   # a restricted user's bearer token
    server.stop_in_thread()             # or: await server.stop()

Modules: server (life cycle, auth, impersonation, routing), rest (verbs), subresources (token,
log, exec), reviews (`auth can-i` / `whoami`: self reviews from the same rules as authz),
store, admission (ServiceAccount plugin + pod identity webhook), lifecycle (pod status and
container runs), table, selectors, patch, validation, openapi, discovery, protobuf (wire
format) / protobuf_objects (the objects kubectl sends as protobuf), exec_ws / spdy_exec,
certs, nodes, authz.
"""

from .server import KubeApiServer

__all__ = ["KubeApiServer"]
