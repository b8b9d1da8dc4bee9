"""meshspec: Cilium Cluster Mesh global services as code.

The flow, one module per step: load -> validate (schema, kubeschema) -> model
-> render -> output. `deploy` is the Pulumi edge and the only module that
imports pulumi.
"""

__version__ = "0.1.0"
