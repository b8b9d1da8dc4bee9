"""Random meshes for the engine's property tests: clusters with or without the Service, random annotations,
ports, slices of every address type, endpoint conditions, and addresses repeated within and across clusters."""

import random

from meshspec.cilium.routing import ClusterService, Endpoint, EndpointSlice, Port


def random_mesh(rng: random.Random) -> tuple[dict[str, ClusterService], list[str]]:
    clusters = [f"c{i}" for i in range(rng.randint(1, 8))]
    names = ["", "http", "grpc"]
    pool = [f"10.{rng.randint(0, 3)}.0.{rng.randint(0, 5)}" for _ in range(12)] + ["fd00::1", "fd00::2"]
    copies = {}
    for cluster in clusters:
        if rng.random() < 0.15:
            continue  # no Service here
        annotations = {}
        if rng.random() < 0.8:
            annotations["service.cilium.io/global"] = "true"
        if rng.random() < 0.2:
            annotations["service.cilium.io/shared"] = "false"
        if rng.random() < 0.4:
            annotations["service.cilium.io/affinity"] = rng.choice(["local", "remote", "none", "bogus"])
        ports = tuple(Port(rng.choice(names), 80 + i, rng.choice(["TCP", "TCP", "UDP"])) for i in range(rng.randint(1, 3)))
        slices = []
        for _ in range(rng.randint(0, 3)):
            family = rng.choice(["IPv4", "IPv4", "IPv6", "FQDN"])
            endpoints = tuple(Endpoint(rng.choice(pool), rng.random() < 0.8, rng.random() < 0.9, rng.random() < 0.2)
                              for _ in range(rng.randint(0, 4)))  # addresses repeat within and across clusters
            slice_ports = tuple(Port(rng.choice(names), rng.choice([8080, 8081, 9090]), rng.choice(["TCP", "UDP"]))
                                for _ in range(rng.randint(1, 2)))
            slices.append(EndpointSlice(slice_ports, endpoints, family))
        families = rng.choice([("IPv4",), ("IPv6",), ("IPv4", "IPv6")])
        copies[cluster] = ClusterService("default", "web", annotations, ports, rng.random() < 0.05, families,
                                         tuple(slices))
    return copies, clusters
