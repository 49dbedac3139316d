"""The dashboard's navigation: one line per page group, in the order of the menu.

A new capability's pages add their entry here (and their router to ``web.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    label: str
    path: str

    def is_current(self, path: str) -> bool:
        return path == self.path if self.path == "/ui/" else path.startswith(self.path)


NAV: tuple[NavItem, ...] = (
    NavItem("Home", "/ui/"),
    NavItem("Agents", "/ui/agents"),
    NavItem("Approvals", "/ui/approvals"),
    NavItem("Pipelines", "/ui/pipelines"),
    NavItem("Runs", "/ui/runs"),
    NavItem("Stories", "/ui/stories"),
    NavItem("Epics", "/ui/epics"),
    NavItem("Pull requests", "/ui/pull-requests"),
    NavItem("Security", "/ui/security"),
    NavItem("Repositories", "/ui/repositories"),
    NavItem("Schedules", "/ui/schedules"),
    NavItem("Webhooks", "/ui/webhooks"),
    NavItem("Monitoring", "/ui/monitoring"),
)
