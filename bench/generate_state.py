"""Generate a STATE_DIR for `meshspec simulate` from a mesh spec, as `kubectl get` would dump it.

    python bench/generate.py --clusters 100 --services 1000 -o /tmp/mesh.yaml
    python bench/generate_state.py /tmp/mesh.yaml -o /tmp/state            # JSON, the default
    python bench/generate_state.py /tmp/mesh.yaml -o /tmp/state --split auto   # stay under meshspec's 4 MiB
    python bench/generate_state.py /tmp/mesh.yaml -o /tmp/state --format yaml

For every cluster of the spec, STATE_DIR/<cluster>/dump.json (or dump.yaml) holds what
`kubectl get svc,endpointslices -A -o json` prints after `meshspec render` and a rollout: one
`kind: List` with that cluster's rendered Services (from `render_mesh`), filled in the way the API
server fills them in (clusterIP, clusterIPs, ipFamilies, type, uid, ...), then one EndpointSlice per
Service. kubectl prints every Service first and then every EndpointSlice, each sorted by namespace
and name; so does this script.

EndpointSlices follow the EndpointSlice controller:

- labelled `kubernetes.io/service-name` (and with the Service's labels, as the controller copies them);
- one port per Service port, with the Service port's name ("" when unnamed) and the target port
  number, or the Service port when targetPort is a name (the same stand-in `meshspec explain` uses);
- 2 endpoints in each cluster that runs the Service's pods (the spec's `backends`, by default every
  cluster where the Service exists), with pod IPs from that cluster's first podCIDR;
- about 5% of endpoints terminating (ready false, serving true, terminating true), as in any cluster
  during a rollout; the rest ready.

No `kubectl.kubernetes.io/last-applied-configuration` annotation and no managedFields (kubectl hides
them by default). The output is deterministic for a given spec, format and seed.

Size: in JSON (4-space indent, as kubectl prints it) a Service and its EndpointSlice take about 5 kB,
so one cluster with 1,000 Services dumps to about 4.2-4.3 MB, just over the 4 MiB per file that
meshspec reads (`meshspec.state.MAX_STATE_FILE_BYTES`; larger files are refused with `file-too-large`). With
`--split auto` such clusters get two files instead, services.json and endpointslices.json, as
`kubectl get svc -A -o json` and `kubectl get endpointslices -A -o json` would write them; `--split
always` does it for every cluster. YAML is about half the size.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import os
import random
import sys
from typing import Any, Iterator

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from meshspec.spec.model import Mesh, Service  # noqa: E402
from meshspec.artifacts.manifests import render_mesh  # noqa: E402
from meshspec.spec.check import check_file  # noqa: E402

ENDPOINTS_PER_CLUSTER = 2
TERMINATING_SHARE = 0.05
SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")  # kubeadm's and kind's default service CIDR
CREATED = "2025-01-15T09:30:00Z"
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"  # the API server's generateName alphabet (no vowels, no 0/1/3)


def load_mesh(spec: str) -> Mesh:
    mesh, diagnostics = check_file(spec)
    if mesh is None:
        raise SystemExit(f"{spec}: the spec does not validate ({len(diagnostics)} diagnostics); "
                         "run `meshspec validate` on it")
    return mesh


def cluster_objects(mesh: Mesh, seed: int = 42) -> Iterator[tuple[str, dict[str, Any]]]:
    """(cluster, the `kind: List` kubectl would print for it), in the mesh's cluster order."""
    rendered = render_mesh(mesh)
    by_key = {(s.namespace, s.name): s for s in mesh.services}
    # One cluster IP per Service, the same index in every cluster (deterministic, unique in each).
    index = {key: i for i, key in enumerate(sorted(by_key))}
    rng = random.Random(seed)
    for c_index, cluster in enumerate(mesh.clusters):
        pods = _pod_ips(cluster.pod_cidrs[0] if cluster.pod_cidrs else f"10.{c_index % 256}.0.0/16")
        services, slices = [], []
        for obj in sorted(rendered[cluster.name],
                          key=lambda o: (o["metadata"]["namespace"], o["metadata"]["name"])):
            key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
            service = by_key[key]
            services.append(_api_service(obj, cluster.name, index[key]))
            if cluster.name in service.backends:
                slices.append(_endpoint_slice(service, obj, cluster.name, pods, rng))
        slices.sort(key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"]))
        yield cluster.name, {"apiVersion": "v1", "items": services + slices, "kind": "List",
                             "metadata": {"resourceVersion": ""}}


def _pod_ips(cidr: str) -> Iterator[str]:
    network = ipaddress.ip_network(cidr, strict=False)
    for i, address in enumerate(network.hosts()):
        if i >= 10:  # leave the first addresses (gateway, node) alone
            yield str(address)


def _uid(*parts: str) -> str:
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def _suffix(*parts: str) -> str:
    digest = hashlib.sha1("/".join(parts).encode()).digest()
    return "".join(_ALPHABET[b % len(_ALPHABET)] for b in digest[:5])


def _api_service(obj: dict[str, Any], cluster: str, i: int) -> dict[str, Any]:
    """The rendered Service as the API server returns it: defaults and allocated addresses filled in."""
    meta = obj["metadata"]
    spec = dict(obj["spec"])  # the rendered spec is the mesh's own mapping: copy before filling in
    spec.setdefault("type", "ClusterIP")
    headless = spec.get("clusterIP") == "None"
    cluster_ip = "None" if headless else str(SERVICE_CIDR.network_address + 10 + i)
    ports = []
    for n, port in enumerate(spec.get("ports", ())):
        # Go field order, as kubectl prints it: name, protocol, appProtocol, port, targetPort, nodePort.
        port = {k: v for k, v in (("name", port.get("name")), ("protocol", port.get("protocol", "TCP")),
                                  ("appProtocol", port.get("appProtocol")), ("port", port["port"]),
                                  ("targetPort", port.get("targetPort", port["port"]))) if v is not None}
        if spec["type"] in ("NodePort", "LoadBalancer"):
            port["nodePort"] = 30000 + (i * 3 + n) % 2768
        ports.append(port)
    spec.update({"clusterIP": cluster_ip, "clusterIPs": [cluster_ip], "internalTrafficPolicy": "Cluster",
                 "ipFamilies": spec.get("ipFamilies", ["IPv4"]), "ipFamilyPolicy": "SingleStack",
                 "ports": ports})
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    status: dict[str, Any] = {"loadBalancer": {}}
    if spec["type"] == "LoadBalancer":
        status = {"loadBalancer": {"ingress": [{"ip": f"172.18.{i // 250 % 256}.{i % 250 + 1}",
                                                "ipMode": "VIP"}]}}
    metadata = {**meta, "creationTimestamp": CREATED, "resourceVersion": str(1000 + i),
                "uid": _uid(cluster, "Service", meta["namespace"], meta["name"])}
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": spec, "status": status}


def _endpoint_slice(service: Service, obj: dict[str, Any], cluster: str, pods: Iterator[str],
                    rng: random.Random) -> dict[str, Any]:
    meta = obj["metadata"]
    ns, name = meta["namespace"], meta["name"]
    ports = []
    for port in service.spec.get("ports", ()):
        target = port.get("targetPort", port["port"])
        entry = {"name": port.get("name", ""), "port": target if isinstance(target, int) else port["port"],
                 "protocol": port.get("protocol", "TCP")}
        if "appProtocol" in port:
            entry["appProtocol"] = port["appProtocol"]
        ports.append(entry)
    endpoints = []
    for n in range(ENDPOINTS_PER_CLUSTER):
        terminating = rng.random() < TERMINATING_SHARE
        pod = f"{name}-{_suffix(cluster, ns, name, 'rs')}-{_suffix(cluster, ns, name, str(n))}"
        endpoints.append({
            "addresses": [next(pods)],
            "conditions": {"ready": not terminating, "serving": True, "terminating": terminating},
            "nodeName": f"{cluster}-worker{n + 1}",
            "targetRef": {"kind": "Pod", "name": pod, "namespace": ns, "uid": _uid(cluster, "Pod", ns, pod)},
            "zone": f"zone-{'abc'[n % 3]}",
        })
    slice_name = f"{name}-{_suffix(cluster, ns, name)}"
    labels = {**meta.get("labels", {}), "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
              "kubernetes.io/service-name": name}
    return {
        "addressType": "IPv4",
        "apiVersion": "discovery.k8s.io/v1",
        "endpoints": endpoints,
        "kind": "EndpointSlice",
        "metadata": {
            "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": CREATED},
            "creationTimestamp": CREATED,
            "generateName": f"{name}-",
            "generation": 1,
            "labels": labels,
            "name": slice_name,
            "namespace": ns,
            "ownerReferences": [{"apiVersion": "v1", "blockOwnerDeletion": True, "controller": True,
                                 "kind": "Service", "name": name,
                                 "uid": _uid(cluster, "Service", ns, name)}],
            "resourceVersion": str(5000 + len(endpoints)),
            "uid": _uid(cluster, "EndpointSlice", ns, slice_name),
        },
        "ports": ports,
    }


def dump(obj: dict[str, Any], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(obj, indent=4) + "\n"  # kubectl -o json: 4-space indent
    # kubectl -o yaml: block style, keys sorted, 2-space indent, lists not indented under their key.
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(obj, Dumper=dumper, sort_keys=True, default_flow_style=False, width=10**9)


def write_state(mesh: Mesh, out: str, fmt: str = "json", seed: int = 42, split: str = "never",
                max_file_bytes: int | None = None) -> dict[str, int]:
    """Write STATE_DIR `out` (created if needed). One file per cluster, dump.<fmt>; or two,
    services.<fmt> and endpointslices.<fmt> (as `kubectl get svc -A` and `kubectl get endpointslices -A`
    write them), for every cluster with split="always" or for the clusters whose one file would exceed
    `max_file_bytes` with split="auto". Returns counts: clusters, split_clusters, files, bytes,
    largest_file, largest_unsplit (the largest one-file dump, split or not), services, slices,
    endpoints, terminating."""
    if split not in ("never", "auto", "always"):
        raise ValueError(f"split must be never, auto or always, not {split!r}")
    counts = dict.fromkeys(("clusters", "split_clusters", "files", "bytes", "largest_file", "largest_unsplit",
                            "services", "slices", "endpoints", "terminating"), 0)
    os.makedirs(out, exist_ok=True)
    for cluster, listing in cluster_objects(mesh, seed):
        folder = os.path.join(out, cluster)
        os.makedirs(folder, exist_ok=True)
        items = listing["items"]
        slices = [o for o in items if o["kind"] == "EndpointSlice"]
        files = {}
        if split != "always":
            files["dump"] = dump(listing, fmt).encode("utf-8")
            counts["largest_unsplit"] = max(counts["largest_unsplit"], len(files["dump"]))
        if split == "always" or (split == "auto" and max_file_bytes is not None
                                 and len(files["dump"]) > max_file_bytes):
            files = {name: dump({**listing, "items": part}, fmt).encode("utf-8")
                     for name, part in (("services", items[:len(items) - len(slices)]),
                                        ("endpointslices", slices))}
            counts["split_clusters"] += 1
        for name, text in files.items():
            with open(os.path.join(folder, f"{name}.{fmt}"), "wb") as fh:
                fh.write(text)
            counts["files"] += 1
            counts["bytes"] += len(text)
            counts["largest_file"] = max(counts["largest_file"], len(text))
        counts["clusters"] += 1
        counts["services"] += len(items) - len(slices)
        counts["slices"] += len(slices)
        counts["endpoints"] += sum(len(s["endpoints"]) for s in slices)
        counts["terminating"] += sum(e["conditions"]["terminating"] for s in slices for e in s["endpoints"])
    return counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("spec", metavar="SPEC", help="a mesh spec, e.g. from bench/generate.py")
    parser.add_argument("-o", "--out", metavar="STATE_DIR", required=True, help="where to write (created)")
    parser.add_argument("--format", choices=("json", "yaml"), default="json", help="dump format (default json)")
    parser.add_argument("--seed", type=int, default=42, help="which endpoints are terminating (default 42)")
    parser.add_argument("--split", choices=("never", "auto", "always"), default="never",
                        help="two files per cluster (services.FORMAT, endpointslices.FORMAT) instead of dump.FORMAT: "
                             "never (default), always, or auto: only where dump.FORMAT would be larger than "
                             "--max-file-bytes")
    parser.add_argument("--max-file-bytes", type=int, default=None, metavar="N",
                        help="with --split auto (default: meshspec's own cap, meshspec.state.MAX_STATE_FILE_BYTES)")
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and os.listdir(args.out):
        raise SystemExit(f"{args.out} exists and is not empty; give a new folder")
    if args.max_file_bytes is None:
        from meshspec.analysis.state import MAX_STATE_FILE_BYTES as MAX_BYTES
        args.max_file_bytes = MAX_BYTES
    counts = write_state(load_mesh(args.spec), args.out, args.format, args.seed, args.split, args.max_file_bytes)
    print(f"wrote {args.out}: {counts['clusters']} clusters, {counts['files']} files, {counts['services']:,} Services, "
          f"{counts['slices']:,} EndpointSlices, {counts['endpoints']:,} endpoints "
          f"({counts['terminating']:,} terminating), {counts['bytes']:,} bytes "
          f"(largest file {counts['largest_file']:,} bytes; {counts['split_clusters']} clusters split)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
