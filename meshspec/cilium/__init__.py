"""How Cilium behaves, as pure code: the annotations it reads, its versions, the routing engine, and the
Helm chart. Stdlib only; every rule cites ../shared/reference/cilium-semantics.md or Cilium's source."""
