"""What Cilium reads from a Service, and which rules apply to which Cilium version.

Everything here is read from ../shared/reference/cilium-semantics.md (section
numbers in the comments), which cites Cilium's source.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Mapping

DEFAULT_VERSION = "1.20"
OLDEST_SUPPORTED = (1, 14)  # uniform global/shared semantics since 1.14 (PR #23298; section 2)
NEWEST_KNOWN = (1, 20)

# New keys first, then the legacy aliases; annotation.Get prefers the new key (section 1, "Lookup order").
GLOBAL_KEYS = ("service.cilium.io/global", "io.cilium/global-service")
SHARED_KEYS = ("service.cilium.io/shared", "io.cilium/shared-service")
AFFINITY_KEYS = ("service.cilium.io/affinity", "io.cilium/service-affinity")


class VersionError(ValueError):
    pass


@dataclass(frozen=True)
class CiliumVersion:
    major: int
    minor: int
    patch: int | None = None  # None: "any patch release of this minor"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}" + (f".{self.patch}" if self.patch is not None else "")

    @functools.cached_property  # asked for every backend: computed once per version
    def minor_version(self) -> tuple[int, int]:
        return (self.major, self.minor)

    @functools.cached_property
    def statedb_lb(self) -> bool:
        """1.18 replaced pkg/service with the statedb load balancer (section 3, "LB")."""
        return self.minor_version >= (1, 18)

    @functools.cached_property
    def invalid_affinity_drops_remote(self) -> bool:
        """#46623: on the 1.18 load balancer an affinity value other than local/remote (including the
        documented "none") kept the raw string and dropped every remote backend. PR #46635 fixed it in
        1.20 and was backported to the 1.19 branch; the reference does not record which 1.19 patch got
        it, so every 1.19.x is treated as affected."""
        return self.minor_version in ((1, 18), (1, 19))

    @property
    def multiport_shared_target_bug(self) -> bool:
        """#45109: Service ports sharing one target port lose remote backends; fixed in 1.18.10 and 1.19.4
        (section 2, Ports). An unspecified patch counts as affected."""
        fixed = {(1, 18): 10, (1, 19): 4}.get(self.minor_version)
        return fixed is not None and (self.patch is None or self.patch < fixed)


def parse_version(text: str) -> CiliumVersion:
    match = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", text.strip())
    if not match:
        raise VersionError(f"{text!r} is not a Cilium version; write it as 1.20 or 1.20.1")
    major, minor, patch = int(match[1]), int(match[2]), match[3]
    version = CiliumVersion(major, minor, int(patch) if patch is not None else None)
    if not OLDEST_SUPPORTED <= version.minor_version <= NEWEST_KNOWN:
        raise VersionError(f"Cilium {version} is outside what meshspec models "
                           f"({'.'.join(map(str, OLDEST_SUPPORTED))} to {'.'.join(map(str, NEWEST_KNOWN))})")
    return version


@dataclass(frozen=True)
class ServiceFlags:
    """What one cluster's Service tells Cilium: global, shared, affinity (local | remote | none)."""

    is_global: bool
    shared: bool
    affinity: str
    # The affinity annotation as written when it is present but neither local nor remote ("none", "",
    # "foo"): harmless on most versions, a blackhole on the 1.18 load balancer (#46623).
    unmatched_affinity: str | None = None


def _lookup(annotations: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in annotations:
            return annotations[key]
    return None


def read_flags(annotations: Mapping[str, str]) -> ServiceFlags:
    """pkg/annotation/clustermesh.go (section 1): values are lower-cased and compared to "true";
    "True" counts, "yes"/"1"/"true " do not. shared defaults to true when global, and shared and
    affinity are ignored unless global."""
    is_global = (_lookup(annotations, GLOBAL_KEYS) or "").lower() == "true"
    if not is_global:
        return ServiceFlags(False, False, "none")
    shared_value = _lookup(annotations, SHARED_KEYS)
    shared = True if shared_value is None else shared_value.lower() == "true"
    raw = _lookup(annotations, AFFINITY_KEYS)
    value = (raw or "").lower()
    if value in ("local", "remote"):
        return ServiceFlags(True, shared, value)
    # Anything else reads as none, on every version but the buggy 1.18 load balancer (see routing).
    return ServiceFlags(True, shared, "none", unmatched_affinity=raw)
