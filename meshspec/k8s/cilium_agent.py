"""The `cilium` agent DaemonSet, as far as meshspec reads it: its cilium-agent container's image, whose tag
is the Cilium version a cluster runs. Read live by verify (adapters/live.py), written by `verify --dump`
as a minimal object, and read back from a state folder by `simulate` (analysis/state.py)."""

from __future__ import annotations

from typing import Any, Mapping

from ..record import record

CILIUM_DAEMONSET = "cilium"  # the agent DaemonSet of Cilium's chart (templates/cilium-agent/daemonset.yaml)
CILIUM_AGENT_CONTAINER = "cilium-agent"
DAEMONSET_API = "apps/v1"


@record
class CiliumAgent:
    """A cluster's cilium DaemonSet: where it is and the image its agent runs."""

    namespace: str
    name: str
    image: str


def agent_image(daemonset: Mapping[str, Any]) -> str | None:
    """The image of the DaemonSet's cilium-agent container."""
    template = ((daemonset.get("spec") or {}).get("template") or {}).get("spec") or {}
    for container in template.get("containers") or ():
        if isinstance(container, dict) and container.get("name") == CILIUM_AGENT_CONTAINER:
            image = container.get("image")
            return image if isinstance(image, str) else None
    return None


def parse_agent(obj: Mapping[str, Any]) -> CiliumAgent | None:
    """The DaemonSet as a CiliumAgent when it is Cilium's (named cilium, with a cilium-agent image);
    None for every other DaemonSet of a dump, which is not read."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    image = agent_image(obj)
    if meta.get("name") != CILIUM_DAEMONSET or image is None:
        return None
    namespace = meta.get("namespace")
    return CiliumAgent(namespace if isinstance(namespace, str) else "", CILIUM_DAEMONSET, image)


def minimal_daemonset(image: str, namespace: str | None = None) -> dict[str, Any]:
    """What `verify --dump` writes of the DaemonSet: just enough for parse_agent."""
    metadata: dict[str, Any] = {"name": CILIUM_DAEMONSET, **({"namespace": namespace} if namespace else {})}
    return {"metadata": metadata,
            "spec": {"template": {"spec": {"containers": [{"name": CILIUM_AGENT_CONTAINER, "image": image}]}}}}
