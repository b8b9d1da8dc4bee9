"""Every output format: diagnostics (text, json, github, sarif), routing tables, diff and verify reports."""
