"""Job kinds and their typed payloads: what a job asks for, checked at both ends.

A capability declares each kind of work once, as a ``JobKind`` that pairs the name
stored in the ``jobs`` table with a frozen pydantic payload model::

    class CleanupJob(JobPayload):
        run: str

    CLEANUP = JobKind("pipelines.cleanup", CleanupJob)

Enqueueing takes the model (``enqueue(uow, CLEANUP, CleanupJob(run=run_id))``) and
stores its JSON; the runner parses the stored JSON back into the model before the
handler runs (``context.payload.run``). A payload that does not fit its model (an
older version wrote it, or someone edited the row) fails its job at once, into the
dead letters with the validation message, instead of a ``KeyError`` deep in the
handler.

The stored JSON is the model's fields by name, so a model that keeps the keys a kind
always had reads every job queued before it was declared. Keys a model does not know
are ignored: a job queued by a newer version with an added optional field still runs
on an older worker during a rolling upgrade. A change that cannot be read both ways
gets a new kind name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.jobs.models import DEFAULT_MAX_ATTEMPTS, JobFailed

_MAX_PROBLEMS = 5


class JobPayload(BaseModel):
    """The base of every job payload: frozen, stored as its JSON, unknown keys ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class NoPayload(JobPayload):
    """The payload of a kind whose name says everything (stored as ``{}``)."""


P = TypeVar("P", bound=JobPayload)


class PayloadInvalid(JobFailed):
    """A stored payload does not fit its kind's model; retrying cannot help."""

    def __init__(self, kind: str, model: type[BaseModel], error: ValidationError) -> None:
        super().__init__(
            f"The payload of this {kind!r} job does not fit {model.__name__}: "
            f"{describe_problems(error)}. It is not retried: an incompatible version "
            "wrote it, or the row was edited.",
            retry=False,
        )
        self.kind = kind


def describe_problems(error: ValidationError) -> str:
    """Pydantic's problems as one line (``attempt: Field required; step: …``), no values.

    The values are left out on purpose: a payload may carry text a log must not show.
    """
    problems = error.errors(include_url=False, include_input=False)
    parts = [
        f"{'.'.join(str(part) for part in problem['loc']) or 'the payload'}: {problem['msg']}"
        for problem in problems[:_MAX_PROBLEMS]
    ]
    if len(problems) > _MAX_PROBLEMS:
        parts.append(f"and {len(problems) - _MAX_PROBLEMS} more")
    return "; ".join(parts)


@dataclass(frozen=True)
class JobKind(Generic[P]):
    """A kind of job: the name stored with each job and the model of its payload."""

    name: str
    payload: type[P]

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigurationError("A job kind needs a name")

    def parse(self, stored: object) -> P:
        """The stored JSON as this kind's model; ``PayloadInvalid`` when it does not fit."""
        try:
            return self.payload.model_validate(stored)
        except ValidationError as error:
            raise PayloadInvalid(self.name, self.payload, error) from None

    def dump(self, payload: P) -> dict[str, Any]:
        """The JSON stored for ``payload``; refuses a payload of another model."""
        if not isinstance(payload, self.payload):
            raise ValidationFailed(
                f"A {self.name!r} job takes a {self.payload.__name__} payload, "
                f"not a {type(payload).__name__}"
            )
        return payload.model_dump(mode="json")


@dataclass(frozen=True)
class NewJob(Generic[P]):
    """A job to enqueue; ``key`` makes enqueueing the same work twice a no-op."""

    kind: JobKind[P]
    payload: P
    key: str | None = None
    run_at: datetime | None = None
    priority: int = 0
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
