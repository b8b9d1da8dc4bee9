"""Every code meshspec reports, declared once: what it means and what to do about it.

Diagnostics (validate, simulate), diff risks and verify problems all name a code from here. A code's
severity is part of its rule, so no check decides it twice; README's table and SARIF's `rules` are
generated from this registry (formats/rules.py), and the tests fail on a code that is not declared.
"""

from __future__ import annotations

from .record import record

ERROR, WARNING = "error", "warning"


@record
class Rule:
    """One diagnostic code: its severity, what is wrong, what to do, which commands report it."""
    code: str
    severity: str  # ERROR | WARNING
    summary: str  # one line: what is wrong
    remediation: str  # one line: what to do
    reported_by: tuple[str, ...] = ("validate",)  # the commands that report it


def _rules(*rules: Rule) -> dict[str, Rule]:
    table: dict[str, Rule] = {}
    for rule in rules:
        assert rule.code not in table, f"rule {rule.code} declared twice"
        table[rule.code] = rule
    return table


_FILE = ("validate", "simulate")  # every file meshspec reads goes through one loader
_SPEC_AND_STATE = ("validate", "simulate")

RULES: dict[str, Rule] = _rules(
    # --- reading files (spec/load.py) ---------------------------------------------------------------
    Rule("unreadable", ERROR, "The file or folder cannot be read.", "Check the path and its permissions.", _FILE),
    Rule("file-too-large", ERROR, "The file is larger than meshspec reads.", "Split the input, or check that this "
         "is the file you meant.", _FILE),
    Rule("encoding", ERROR, "The file is not valid UTF-8.", "Save the file as UTF-8.", _FILE),
    Rule("empty-file", ERROR, "The file is empty.", "Start the spec with 'apiVersion: meshspec/v1alpha1'."),
    Rule("multiple-documents", ERROR, "The file holds several YAML documents.", "Keep one document per spec file."),
    Rule("not-a-mapping", ERROR, "The top level is not a mapping.", "Write apiVersion, kind, metadata and spec at "
         "the top level."),
    Rule("yaml-syntax", ERROR, "The file is not valid YAML (or JSON).", "Fix the syntax at the position given.",
         _FILE),
    Rule("yaml-aliases", ERROR, "YAML aliases loop or expand past the size limit ('billion laughs').",
         "Write the values out, or use fewer nested aliases.", _FILE),
    Rule("yaml-tag", ERROR, "A value has a YAML tag that cannot be read as its type.", "Remove the tag or fix "
         "the value.", _FILE),
    Rule("yaml-merge", ERROR, "'<<' merges something other than a mapping.", "Merge a mapping or a list of "
         "mappings.", _FILE),
    Rule("yaml11-boolean", WARNING, "yes/no/on/off are read as booleans (YAML 1.1).", "Write true or false, or "
         "quote the string.", _FILE),
    Rule("key-type", ERROR, "A mapping key is not a string.", "Quote the key.", _FILE),
    Rule("duplicate-key", ERROR, "A key is repeated in one mapping; YAML keeps only the last.", "Remove one of "
         "them.", _FILE),
    # --- structure (spec/structure.py; dump objects in analysis/state.py) -----------------------------
    Rule("unknown-key", ERROR, "A key the spec does not define.", "Fix the spelling (the message suggests the "
         "nearest key) or remove it."),
    Rule("missing-key", ERROR, "A required key is missing.", "Add the key.", _SPEC_AND_STATE),
    Rule("wrong-type", ERROR, "A value has the wrong type.", "Write the type the message names; booleans are "
         "unquoted true/false.", _SPEC_AND_STATE),
    Rule("bad-value", ERROR, "A value is not one of those allowed.", "Use one of the values the message lists.",
         _SPEC_AND_STATE),
    Rule("empty", ERROR, "A value that must not be empty is empty.", "Give it a value, or remove the key.",
         _SPEC_AND_STATE),
    Rule("api-version", ERROR, "apiVersion is not the one this meshspec reads.", "Write apiVersion: "
         "meshspec/v1alpha1."),
    Rule("kind", ERROR, "kind is not Mesh.", "Write kind: Mesh."),
    Rule("invalid-name", ERROR, "A mesh, service or namespace name Kubernetes would reject.", "Use lowercase "
         "letters, digits and '-' (DNS-1035 for services, DNS-1123 for namespaces)."),
    Rule("cilium-version", ERROR, "spec.cilium.version is not a Cilium version meshspec models.", "Write a "
         "version such as 1.20 or 1.20.1, within the range the message gives."),
    # --- clusters (spec/checks/clusters.py) ------------------------------------------------------------
    Rule("cluster-name", ERROR, "A cluster name Cilium rejects.", "At most 32 lowercase letters, digits and '-', "
         "starting and ending with a letter or digit, not 'default'.", _SPEC_AND_STATE),
    Rule("duplicate-cluster", ERROR, "A cluster is named twice.", "Give every cluster a unique name, and list "
         "each once."),
    Rule("duplicate-context", ERROR, "Two clusters reach the same kubeconfig context (a cluster's context "
         "defaults to its name), so both would be applied to one cluster.", "Give each cluster the context "
         "that reaches it."),
    Rule("cluster-id", ERROR, "A cluster id outside 1..maxConnectedClusters.", "Use an id from 1 to 255 (or 511 "
         "with maxConnectedClusters: 511)."),
    Rule("duplicate-cluster-id", ERROR, "Two clusters share an id; Cilium refuses the second peer.", "Give every "
         "cluster a unique id."),
    Rule("pod-cidr", ERROR, "A pod CIDR does not parse.", "Write a CIDR such as 10.1.0.0/16, with no host bits."),
    Rule("pod-cidr-overlap", ERROR, "Two clusters' pod CIDRs overlap; Cluster Mesh routes by pod IP.", "Give "
         "every cluster its own pod CIDR."),
    # --- Cluster Mesh setup (spec/checks/cilium.py) ----------------------------------------------------
    Rule("ignored-field", WARNING, "A field that has no effect where it is written.", "Remove it, or make the "
         "setting it depends on true (global, or spec.cilium)."),
    Rule("node-port", ERROR, "The clustermesh-apiserver nodePort is outside Kubernetes' NodePort range.",
         "Use a port from 30000 to 32767."),
    Rule("peer-address", ERROR, "A cluster's clustermesh address is missing or malformed.", "Set "
         "clusters[].clustermesh.address to the IP or DNS name its peers reach (host only)."),
    Rule("peer-port", ERROR, "A cluster's clustermesh port is out of range.", "Use a port from 1 to 65535."),
    Rule("values-conflict", ERROR, "spec.cilium.values (or a cluster's cilium.values) sets a value meshspec "
         "generates.", "Remove it; set the spec field the message names instead."),
    Rule("secret-in-values", ERROR, "spec.cilium.values (or a cluster's cilium.values) holds a private key, "
         "which would be rendered.", "Keep keys in the cilium-ca Secret (README, 'A shared CA')."),
    Rule("values-unknown-key", ERROR, "The Cilium chart has no such value; Helm would ignore it.", "Fix the "
         "spelling (the message suggests the nearest key)."),
    Rule("values-schema", ERROR, "A value breaks the Cilium chart's schema.", "Change it to the type the chart "
         "expects."),
    # --- services (spec/checks/services.py, kubernetes.py) ---------------------------------------------
    Rule("values-deprecated", WARNING, "spec.cilium.values sets a value the spec's Cilium version deprecates.",
         "Use what the message names instead; the value goes away in a later Cilium."),
    Rule("cache-ttl", WARNING, "clustermesh.cacheTTL is zero (a dead cluster's backends are kept forever) or "
         "not a Go duration.", "Set a duration such as 10m."),
    Rule("cilium-feature-version", WARNING, "A spec.cilium setting the spec's Cilium version does not have, so "
         "nothing is rendered for it.", "Upgrade Cilium, or remove the setting."),
    Rule("feature-without-clustermesh", WARNING, "spec.cilium sets mcsapi or defaultGlobalNamespace, which are "
         "Cilium Helm values, but no cluster has clustermesh.address, so meshspec sets up no Cluster Mesh and "
         "renders no values.", "Give every cluster clustermesh.address so meshspec renders the Cluster Mesh "
         "values, or set the key the message names in the Cilium values you manage."),
    Rule("mcs-manual-setup", WARNING, "MCS-API on a Cilium version that installs neither its CRDs nor the "
         "CoreDNS configuration.", "Install the MCS-API CRDs and configure CoreDNS by hand, or use Cilium 1.19+."),
    Rule("no-clusters", ERROR, "services[].clusters is empty, so the Service exists nowhere.", "List at least "
         "one cluster, or remove the key to mean every cluster."),
    Rule("unknown-cluster", ERROR, "A cluster the mesh does not have.", "Use a name from spec.clusters."),
    Rule("backend-without-service", ERROR, "A cluster runs pods where the Service does not exist, so Cilium "
         "cannot export them.", "Add the cluster to the service's clusters."),
    Rule("unused-override", WARNING, "An override for a cluster where the Service does not exist.", "Remove it, "
         "or add the cluster to the service's clusters."),
    Rule("label-key", ERROR, "A label key Kubernetes rejects.", "An optional DNS prefix and '/', then at most 63 "
         "letters, digits, '-', '_' or '.'."),
    Rule("annotation-key", ERROR, "An annotation key Kubernetes rejects.", "An optional DNS prefix and '/', then "
         "at most 63 letters, digits, '-', '_' or '.'."),
    Rule("label-value", ERROR, "A label value Kubernetes rejects.", "At most 63 letters, digits, '-', '_' or '.', "
         "starting and ending with a letter or digit."),
    Rule("reserved-label", ERROR, "A label meshspec sets itself.", "Remove it."),
    Rule("reserved-annotation", ERROR, "A global, shared or affinity annotation (or its io.cilium alias), which "
         "meshspec derives from the fields of those names.",
         "Remove it and set those fields instead."),
    Rule("override-cilium-annotation", ERROR, "A per-cluster override sets a service.cilium.io annotation: of "
         "Cilium's annotations only global, shared and affinity may differ between a Service's copies.",
         "Set it in the service's own annotations, or set the override's global, shared or affinity field."),
    Rule("unknown-cilium-annotation", WARNING, "A service.cilium.io annotation Cilium does not read (a typo?).",
         "Fix the key (the message suggests the nearest), or remove it."),
    Rule("annotation-size", ERROR, "The annotations exceed the 256 KiB Kubernetes allows per object.",
         "Move large data out of annotations (a ConfigMap, say)."),
    Rule("kubernetes-schema", ERROR, "The ServiceSpec is one the Kubernetes API server rejects.", "Fix the "
         "field the message names."),
    Rule("duplicate-service", ERROR, "The same namespace/name is defined twice.", "Merge the two entries.",
         _SPEC_AND_STATE),
    # --- routing, from the engine (spec/checks/routing.py) ---------------------------------------------
    Rule("no-cluster-shares", WARNING, "A global Service that no cluster shares: each uses only its own pods.",
         "Set shared: true where the pods should serve other clusters."),
    Rule("global-without-effect", WARNING, "No other cluster shares endpoints with this Service's clusters.",
         "Run its pods in another cluster that shares, or drop global."),
    Rule("remote-affinity-without-remote", WARNING, "affinity: remote where no other cluster shares endpoints.",
         "Share endpoints from another cluster, or use affinity local or none."),
    Rule("single-cluster-failure", WARNING, "Clients in a cluster lose every backend when one cluster fails.",
         "Run the pods in more clusters that share, or accept the risk."),
    Rule("cilium-bug", WARNING, "The spec's Cilium version has a known bug that affects this Service.",
         "Upgrade to the fixed release the message names, or change the Service as it says."),
    Rule("headless-global", WARNING, "A global Service without a cluster IP: Cilium load-balances nothing.",
         "Enable EndpointSlice synchronization, or give the Service a cluster IP."),
    # --- MCS-API and global namespaces (spec/checks/mcs.py) -------------------------------------------
    Rule("mcs-without-mcsapi", WARNING, "mcs: true while spec.cilium.mcsapi is not true: without Cilium's MCS-API "
         "support the ServiceExport is never imported.", "Set spec.cilium.mcsapi: true, or say so if MCS-API is "
         "turned on outside meshspec."),
    Rule("namespace-not-global", WARNING, "A global or MCS-exported Service in a namespace that is not global: "
         "Cilium exports none of its endpoints (clustermesh.cilium.io/global).", "Mark the namespace global in "
         "spec.namespaces.global, or drop global and mcs from the Service.", ("validate", "diff")),
    Rule("namespace-unannotated", WARNING, "With defaultGlobalNamespace: false, a namespace meshspec does not "
         "render holds a global Service, so nothing annotates it global and Cilium exports nothing from it.",
         "Annotate the namespace clustermesh.cilium.io/global: \"true\" and record it in "
         "spec.namespaces.global."),
    # --- render (artifacts/files.py) -----------------------------------------------------------------
    Rule("render-blocked", ERROR, "Something meshspec did not write is where render would write or remove.",
         "Move it away, or render into another folder; meshspec only touches files with its header.",
         ("render",)),
    # --- Pulumi stacks (spec/checks/stacks.py) --------------------------------------------------------
    Rule("stack-config", ERROR, "A Pulumi project or stack file meshspec cannot read.", "Fix the file as the "
         "message says."),
    Rule("stack-overlap", ERROR, "Two stacks deploy the same cluster; destroying either deletes its Services.",
         "Deploy each cluster from one stack."),
    Rule("stack-missing-cluster", WARNING, "No stack deploys a cluster of the spec.", "Run `meshspec stacks`, or "
         "add the cluster to a stack's meshspec:clusters."),
    Rule("stack-unknown-cluster", ERROR, "A stack names a cluster the spec does not have.", "Use a name from "
         "spec.clusters."),
    # --- state folders (analysis/state.py) ------------------------------------------------------------
    Rule("stray-file", WARNING, "A file beside the cluster folders, which is not read.", "Move it into "
         "STATE_DIR/<cluster>/.", ("simulate",)),
    Rule("orphan-endpointslice", WARNING, "An EndpointSlice whose Service is not in the cluster; it is ignored.",
         "Dump the Service too, or check its kubernetes.io/service-name label.", ("simulate",)),
    Rule("duplicate-endpointslice", ERROR, "The same EndpointSlice is defined twice in a cluster.", "Keep one "
         "copy.", ("simulate",)),
    Rule("duplicate-namespace", ERROR, "The same Namespace is defined twice in a cluster.", "Keep one copy.",
         ("simulate",)),
    Rule("duplicate-serviceexport", ERROR, "The same ServiceExport is defined twice in a cluster.", "Keep one "
         "copy.", ("simulate",)),
    Rule("duplicate-serviceimport", ERROR, "The same ServiceImport is defined twice in a cluster.", "Keep one "
         "copy.", ("simulate",)),
    # --- diff risks (analysis/diff.py) ----------------------------------------------------------------
    Rule("no-backends", ERROR, "Clients in a cluster are left with no backend.", "Share endpoints from a cluster "
         "that runs the pods, or run pods in the client's cluster; if that is meant, list the cluster in the "
         "service's allowNoBackends.", ("validate", "diff", "verify")),
    Rule("failover-lost", WARNING, "A client cluster loses its failover: one cluster's failure leaves it "
         "with nothing.", "Keep another cluster sharing endpoints.", ("diff",)),
    Rule("service-removed", WARNING, "A Service no longer exists in a cluster where it did.", "Make sure no "
         "client there still needs it.", ("diff",)),
    Rule("cluster-renamed", WARNING, "A cluster is renamed; Cilium needs every workload restarted.", "Plan the "
         "restart, or keep the name.", ("diff",)),
    Rule("cluster-id-changed", WARNING, "A cluster's id changes; Cilium needs every workload restarted.", "Plan "
         "the restart, or keep the id.", ("diff",)),
    Rule("mcs-export-removed", WARNING, "A Service's MCS-API ServiceExport goes away from a cluster: clusters "
         "importing <name>.<namespace>.svc.clusterset.local lose its endpoints.", "Make sure no client relies on "
         "the clusterset name, or keep mcs: true.", ("diff",)),
    Rule("max-connected-clusters", WARNING, "maxConnectedClusters changes, which Cilium cannot do in place.",
         "Reinstall every cluster, or keep the value.", ("diff",)),
    Rule("cilium-version-changed", WARNING, "The Cilium version changes across a minor release that changes "
         "routing, the Helm values' shape or a Cluster Mesh default.", "Read the release's upgrade notes; "
         "upgrade one minor at a time.", ("diff",)),
    # --- verify problems (analysis/verify.py) ---------------------------------------------------------
    Rule("missing", ERROR, "A Service the spec places in a cluster is not there.", "Deploy the spec (pulumi up "
         "or kubectl apply -k).", ("verify",)),
    Rule("missing-namespace", ERROR, "A namespace the spec's Services use in a cluster does not exist there.",
         "Deploy the spec (it creates the namespace unless spec.namespaces.create is false), or create it.",
         ("verify",)),
    Rule("stale", ERROR, "A Service meshspec manages that the spec no longer places there.", "Deploy the spec, "
         "or delete the Service.", ("verify",)),
    Rule("annotation-drift", ERROR, "A live annotation differs from the spec.", "Deploy the spec, or change the "
         "spec to match.", ("verify",)),
    Rule("label-drift", ERROR, "A live label differs from the spec.", "Deploy the spec, or change the spec to "
         "match.", ("verify",)),
    Rule("spec-drift", ERROR, "A live ServiceSpec field differs from the spec.", "Deploy the spec, or change the "
         "spec to match.", ("verify",)),
    Rule("parity", ERROR, "A cluster's copy of a Service has other ports than the others.", "Make the ports "
         "identical everywhere: Cilium pairs backends by port name and protocol.", ("verify",)),
    Rule("cilium-config", ERROR, "cilium-config's cluster-name or cluster-id differs from the spec.", "Fix the "
         "spec, or reinstall Cilium with the spec's values.", ("verify",)),
    Rule("missing-serviceexport", ERROR, "A ServiceExport the spec renders is not in the cluster.", "Deploy the "
         "spec; check that the MCS-API CRDs are installed (clustermesh.mcsapi.installCRDs).", ("verify",)),
    Rule("serviceexport-conflict", ERROR, "A ServiceExport has condition Conflict=True: Cilium took the oldest "
         "export's ports, type or session affinity, and this cluster's differ.", "Make the Service identical in "
         "every exporting cluster (the condition's message names the field).", ("verify",)),
    Rule("serviceexport-invalid", ERROR, "A ServiceExport has condition Valid=False: Cilium does not export it "
         "(no Service, an ExternalName Service, or a namespace that is not global).", "Fix what the condition's "
         "reason names.", ("verify",)),
    Rule("clustermesh-apiserver", ERROR, "The clustermesh-apiserver Service is missing or of another type.",
         "Install Cilium with the spec's values.", ("verify",)),
    Rule("cilium-version-mismatch", ERROR, "A cluster runs another Cilium minor release than spec.cilium.version.",
         "Upgrade (or roll back) that cluster's Cilium, or change spec.cilium.version.", ("verify",)),
    # --- import (analysis/importing.py) ---------------------------------------------------------------
    Rule("import-guessed", WARNING, "A cluster's name or id could not be read from its cilium-config and was "
         "guessed.", "Check the guess in the spec against the cluster's Cilium cluster.name and cluster.id.",
         ("import",)),
    Rule("import-differs", WARNING, "A Service's copies differ between clusters in a way the spec cannot "
         "express; the majority's copy was imported.", "Decide which copy is right; the others change when the "
         "spec is deployed.", ("import",)),
    Rule("import-alias", WARNING, "A Service carries a legacy io.cilium/ annotation; the spec renders its "
         "service.cilium.io/ key.", "Once the spec is deployed, remove the legacy annotation from the live "
         "Service (verify reports it until then).", ("import",)),
    Rule("import-skipped", WARNING, "Something that was read is not in the imported spec (a value Cilium "
         "ignores, an overlapping pod CIDR, a Service the spec cannot hold).", "Read the message: add it by hand "
         "if it matters, or fix it in the cluster.", ("import",)),
)


def severity(code: str) -> str:
    """The severity of a declared code; a KeyError names an undeclared one (a bug the tests catch)."""
    return RULES[code].severity
