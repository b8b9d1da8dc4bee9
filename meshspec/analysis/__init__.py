"""Pure analyses, inputs in and report dataclasses out: explain, simulate (with the state folder reader),
diff and verify. formats/ prints the reports."""
