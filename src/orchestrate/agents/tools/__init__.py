"""The tools agents can use; each agent type has an allowlist of these by name."""
