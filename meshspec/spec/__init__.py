"""The mesh spec: read it with positions (load), check its shape (structure) and its rules (checks/), and
build the typed Mesh (model). check.py is the one entry point every command and the Pulumi program use."""
