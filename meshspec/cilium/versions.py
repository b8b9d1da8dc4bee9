"""Cilium versions: which releases meshspec models, and which behaviours and known bugs each has.

Everything here is read from ../shared/reference/cilium-semantics.md (section
numbers in the comments), which cites Cilium's source.
"""

from __future__ import annotations

import functools
import re

from ..record import record

DEFAULT_VERSION = "1.20"
OLDEST_SUPPORTED = (1, 14)  # uniform global/shared semantics since 1.14 (PR #23298; section 2)
NEWEST_KNOWN = (1, 20)


class VersionError(ValueError):
    pass


@record
class CiliumVersion:
    """A Cilium release, or any patch release of a minor when patch is None."""
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


def known_bugs(version: CiliumVersion) -> list[str]:
    """The routing bugs this release has (the properties above), one phrase each naming the issue."""
    bugs = []
    if version.invalid_affinity_drops_remote:
        bugs.append("#46623: an affinity other than local or remote (the documented \"none\" included) drops every "
                    "remote backend")
    if version.multiport_shared_target_bug:
        bugs.append("#45109: Service ports sharing one target port lose remote backends (fixed in 1.18.10 and "
                    "1.19.4)")
    return bugs


def image_version(image: str) -> CiliumVersion | None:
    """The Cilium version in an image reference's tag (quay.io/cilium/cilium:v1.18.5@sha256:...); None
    when it has no tag, or one that is not a version meshspec models."""
    name = image.split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    try:
        return parse_version(tag) if tag else None
    except VersionError:
        return None
