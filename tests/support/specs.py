"""Small specs the tests start from."""

VALID_SPEC = """\
apiVersion: meshspec/v1alpha1
kind: Mesh
metadata:
  name: test
spec:
  clusters:
    - name: cluster-a
      id: 1
    - name: cluster-b
      id: 2
  services:
    - name: web
      namespace: default
      spec:
        selector: {app: web}
        ports:
          - port: 80
"""
