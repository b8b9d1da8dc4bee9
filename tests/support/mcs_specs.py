"""A spec with MCS-API exports and global namespaces, for the tests of issue 14."""

import yaml

MCS_SPEC = """\
apiVersion: meshspec/v1alpha1
kind: Mesh
metadata: {name: mcs}
spec:
  cilium: {mcsapi: true, defaultGlobalNamespace: false}
  namespaces:
    global: {batch: false}
  clusters:
    - {name: cluster-a, id: 1, clustermesh: {address: 172.18.0.2}}
    - {name: cluster-b, id: 2, clustermesh: {address: 172.18.0.3}}
    - {name: cluster-c, id: 3, clustermesh: {address: 172.18.0.4}}
  services:
    - name: checkout
      namespace: shop
      mcs: true
      clusters: [cluster-a, cluster-b]
      overrides:
        cluster-b: {shared: false}
      spec: {selector: {app: checkout}, ports: [{name: http, port: 80}]}
    - name: jobs
      namespace: batch
      spec: {selector: {app: jobs}, ports: [{port: 80}]}
    - name: db
      namespace: shop
      global: false
      spec: {clusterIP: None, selector: {app: db}, ports: [{port: 5432}]}
"""


def mcs_spec(**changes) -> bytes:
    """MCS_SPEC with top-level spec keys replaced, and services[] entries updated by name."""
    data = yaml.safe_load(MCS_SPEC)
    services = changes.pop("services", {})
    data["spec"].update(changes)
    for service in data["spec"]["services"]:
        service.update(services.get(service["name"], {}))
    return yaml.safe_dump(data, sort_keys=False).encode()
