"""The edges: the only modules that talk to the outside world. live (the Kubernetes client, read-only),
deploy (pulumi), git (git show), processes (forked children: simulate at fleet scale)."""
