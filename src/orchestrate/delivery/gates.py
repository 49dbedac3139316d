"""Merge gates: other capabilities say why the shepherd must not merge a pull request.

A change set merges its pull requests itself, in dependency order; were the shepherd to
merge one whose policy allows ``auto_merge``, a dependent could land before what it
needs. Delivery cannot import change sets (they sit above it), so a capability that
takes over merging some pull requests adds a gate once per process (its ``on_open``):
``async (uow, pull_request) -> reason | None``. The shepherd asks every gate before a
merge and waits, saying the first gate's reason. Fixes, replies and branch updates go on;
only the merge waits. ``pr merge`` (a person's explicit merge) asks no gate.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery.models import PullRequest

MergeGate = Callable[[UnitOfWork, PullRequest], Awaitable[str | None]]
"""Given a read unit of work (not entered) and the pull request: why it must not be
merged by the shepherd, or None."""

_gates: list[MergeGate] = []


def add_merge_gate(gate: MergeGate) -> None:
    """Ask ``gate`` before every merge the shepherd makes; adding it twice changes nothing."""
    if gate not in _gates:
        _gates.append(gate)


def remove_merge_gate(gate: MergeGate) -> None:
    if gate in _gates:
        _gates.remove(gate)


async def merge_held(uow: UnitOfWork, pull_request: PullRequest) -> str | None:
    """The first gate's reason to hold the merge of ``pull_request``, or None."""
    for gate in list(_gates):
        reason = await gate(uow.sibling(read_only=True), pull_request)
        if reason is not None:
            return reason
    return None
