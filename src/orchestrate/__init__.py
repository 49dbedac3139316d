"""Orchestrate: a self-hosted platform that puts AI agents to work on software delivery."""

__version__ = "0.1.0"
