"""Agents: typed definitions, a durable tool-using loop, workspaces in git worktrees."""
