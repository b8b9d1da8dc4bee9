"""Kubernetes as data: naming rules, the API server's Service validation, and Service/EndpointSlice objects
turned into the routing engine's input."""
