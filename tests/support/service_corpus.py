"""A corpus of ServiceSpecs with the verdict the API server gives each: None when it accepts it, else a
fragment of meshspec's message. tests/k8s/test_service_rules.py checks meshspec's verdicts, and
tests/e2e/test_service_validation.py checks the same corpus against a real kube-apiserver.

The names say which function of pkg/apis/core/validation/validation.go each case exercises. A case whose
verdict depends on how the cluster is configured (dual-stack, its Service CIDR) is in CLUSTER_DEPENDENT.
"""

PORT = {"port": 80}
CASES = {
    # validateServicePort
    "port name is a DNS-1123 label, not an IANA name": ({"ports": [{"name": "http-metrics-port", "port": 80}]}, None),
    "port name over 63 characters": ({"ports": [{"name": "a" * 64, "port": 80}]}, "must be a DNS-1123 label"),
    "port name with capitals": ({"ports": [{"name": "Http", "port": 80}]}, "must be a DNS-1123 label"),
    "protocol HTTP": ({"ports": [{"port": 80, "protocol": "HTTP"}]}, "protocol 'HTTP' is not supported"),
    "protocol null defaults to TCP": ({"ports": [{"port": 80, "protocol": None}]}, None),
    "equal once protocol defaults": ({"ports": [{"name": "a", "port": 80, "protocol": None},
                                                {"name": "b", "port": 80, "protocol": "TCP"}]}, "80/TCP is already used"),
    "same port, other protocol": ({"ports": [{"name": "a", "port": 53}, {"name": "b", "port": 53, "protocol": "UDP"}]},
                                  None),
    "targetPort name is an IANA name": ({"ports": [{"port": 80, "targetPort": "http-metrics-port"}]},
                                        "must be a port number or a container port name"),
    "targetPort 0 defaults to the port": ({"ports": [{"port": 80, "targetPort": 0}]}, None),
    "targetPort as a numeric string": ({"ports": [{"port": 80, "targetPort": "8080"}]}, "container port name"),
    "appProtocol must be a qualified name": ({"ports": [{"port": 80, "appProtocol": "bad proto"}]}, "appProtocol"),
    "null port": ({"ports": [None]}, "this port is null"),
    # ValidateService: nodePort by type
    "nodePort on a ClusterIP Service": ({"ports": [{"port": 80, "nodePort": 30001}]}, "nodePort may not be set"),
    "nodePort on a NodePort Service": ({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30001}]}, None),
    "duplicate nodePort": ({"type": "NodePort", "ports": [{"name": "a", "port": 80, "nodePort": 30001},
                                                          {"name": "b", "port": 81, "nodePort": 30001}]},
                           "nodePort 30001/TCP is already used"),
    # validation.go has no kubelet-port rule (any more): kube-apiserver v1.36.3 accepts it.
    "kubelet port on a LoadBalancer": ({"type": "LoadBalancer", "ports": [{"port": 10250}]}, None),
    "headless NodePort": ({"type": "NodePort", "clusterIP": "None", "ports": [PORT]}, "may not be 'None'"),
    # supportedServiceType, ExternalName
    "type clusterip": ({"type": "clusterip", "ports": [PORT]}, "did you mean 'ClusterIP'?"),
    "ExternalName without externalName": ({"type": "ExternalName"}, "needs spec.externalName"),
    "ExternalName with a trailing dot": ({"type": "ExternalName", "externalName": "db.example.com."}, None),
    "ExternalName with ipFamilies": ({"type": "ExternalName", "externalName": "db.example.com",
                                      "ipFamilies": ["IPv4"]}, "may not be set for ExternalName"),
    "ExternalName is not a DNS name": ({"type": "ExternalName", "externalName": "not a name"}, "must be a DNS name"),
    # sessionAffinity, validateClientIPAffinityConfig
    "sessionAffinity clientip": ({"ports": [PORT], "sessionAffinity": "clientip"}, "did you mean 'ClientIP'?"),
    # SetDefaults_Service drops sessionAffinityConfig when sessionAffinity is None, before validation.
    "config with affinity None": ({"ports": [PORT], "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 5}}},
                                  None),
    "ClientIP timeout too long": ({"ports": [PORT], "sessionAffinity": "ClientIP",
                                   "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 86401}}}, "1 to 86400"),
    # ValidateServiceClusterIPsRelatedFields
    "clusterIP not an IP": ({"ports": [PORT], "clusterIP": "not-an-ip"}, "is not a valid IP address"),
    "clusterIPs[0] differs from clusterIP": ({"ports": [PORT], "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.2"]},
                                             "must match clusterIP"),
    "two IPv4 clusterIPs": ({"ports": [PORT], "clusterIPs": ["10.0.0.1", "10.0.0.2"],
                             "ipFamilyPolicy": "PreferDualStack"}, "one IP for each IP family"),
    "IPv6 clusterIP under ipFamilies IPv4": ({"ports": [PORT], "clusterIP": "fd00::1", "ipFamilies": ["IPv4"]},
                                             "is not an IPv4 address"),
    "ipFamilies IPv5": ({"ports": [PORT], "ipFamilies": ["IPv5"]}, "'IPv5' is not supported"),
    "ipFamilies twice": ({"ports": [PORT], "ipFamilies": ["IPv4", "IPv4"]}, "lists IPv4 twice"),
    "ipFamilyPolicy Dual": ({"ports": [PORT], "ipFamilyPolicy": "Dual"}, "ipFamilyPolicy 'Dual' is not supported"),
    "SingleStack with two families": ({"ports": [PORT], "ipFamilyPolicy": "SingleStack",
                                       "ipFamilies": ["IPv4", "IPv6"]}, "allows one IP family"),
    "dual stack": ({"ports": [PORT], "ipFamilyPolicy": "RequireDualStack", "ipFamilies": ["IPv6", "IPv4"]}, None),
    "ipFamilies null is absent": ({"ports": [PORT], "ipFamilies": None}, None),
    # externalIPs, load balancer fields
    "loopback externalIP": ({"ports": [PORT], "externalIPs": ["127.0.0.1"]}, "loopback"),
    "source ranges on a ClusterIP": ({"ports": [PORT], "loadBalancerSourceRanges": ["10.0.0.0/8"]},
                                     "may only be used when type is 'LoadBalancer'"),
    "bad source range": ({"type": "LoadBalancer", "ports": [PORT], "loadBalancerSourceRanges": ["nope"]},
                         "is not a CIDR"),
    # validateServiceExternalTrafficPolicy, validateServiceInternalTrafficFieldsValue, trafficDistribution
    "externalTrafficPolicy on a ClusterIP": ({"ports": [PORT], "externalTrafficPolicy": "Local"},
                                             "externally accessible"),
    "externalTrafficPolicy local": ({"type": "NodePort", "ports": [PORT], "externalTrafficPolicy": "local"},
                                    "'local' is not supported"),
    "healthCheckNodePort without Local": ({"type": "LoadBalancer", "ports": [PORT], "healthCheckNodePort": 30100},
                                          "healthCheckNodePort may only be set"),
    "internalTrafficPolicy Nope": ({"ports": [PORT], "internalTrafficPolicy": "Nope"}, "'Nope' is not supported"),
    "trafficDistribution PreferSameZone": ({"ports": [PORT], "trafficDistribution": "PreferSameZone"}, None),
    "trafficDistribution Nearby": ({"ports": [PORT], "trafficDistribution": "Nearby"}, "'Nearby' is not supported"),
    # ports required unless headless or ExternalName; selector labels
    "no ports": ({"selector": {"app": "web"}}, "needs at least one entry in spec.ports"),
    "no ports, headless": ({"clusterIP": "None"}, None),
    "bad selector value": ({"ports": [PORT], "selector": {"app": "-web"}}, "selector value"),
    # the schema itself (types, unknown fields)
    "port as a string": ({"ports": [{"port": "http"}]}, "'port' must be an integer"),
    "unknown field": ({"ports": [PORT], "sessionAfinity": "ClientIP"}, "did you mean 'sessionAffinity'?"),
    "ports as a mapping": ({"ports": {"port": 80}}, "'ports' must be a list"),
}
# Accepted or refused by how the API server was started, not by the Service alone: a single-stack
# cluster refuses RequireDualStack ("Cluster is not configured for dual-stack").
CLUSTER_DEPENDENT = {"dual stack"}
