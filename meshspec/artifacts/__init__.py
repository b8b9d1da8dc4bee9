"""What meshspec produces from a Mesh: Kubernetes objects per cluster, Cilium Helm values, the files of a
render, and Pulumi stack files."""
