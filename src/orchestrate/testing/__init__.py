"""Test doubles shipped with the package: a scripted provider, fake model and forge servers.

``ScriptedProvider`` answers from a script without any network; ``FakeAnthropic`` and
``FakeOpenAI`` are real HTTP servers on 127.0.0.1 that the vendor SDKs talk to, so the
providers' translation, retries and error handling are exercised end to end.
``FakeGitHub`` is a stateful GitHub (REST and GraphQL) for the real githubkit client,
``FakeGitLab`` a stateful GitLab (API v4) for the real python-gitlab client (both with
their CI: Actions runs, pipelines), ``FakeCircleCI`` CircleCI's API v2 and v1.1 for httpx.
"""

from orchestrate.testing._fake_server import (
    Delayed,
    ErrorReply,
    FakeModelServer,
    RecordedRequest,
    Step,
    context_length_exceeded,
    overloaded,
    rate_limited,
    server_error,
)
from orchestrate.testing.fake_anthropic import FakeAnthropic
from orchestrate.testing.fake_circleci import CircleJob, CircleTest, FakeCircleCI
from orchestrate.testing.fake_github import (
    Failure,
    FakeGitHub,
    RecordedCall,
    bad_gateway,
    secondary_rate_limit,
)
from orchestrate.testing.fake_gitlab import FakeGitLab, FakeJob, FakeTestCase, GitLabRequest
from orchestrate.testing.fake_openai import FakeOpenAI
from orchestrate.testing.scripted import (
    DEFAULT_USAGE,
    ScriptedProvider,
    ScriptExhausted,
    finish,
    response,
    text_reply,
    tool_call,
    tool_calls,
    tool_use,
)

__all__ = [
    "DEFAULT_USAGE",
    "CircleJob",
    "CircleTest",
    "Delayed",
    "ErrorReply",
    "Failure",
    "FakeAnthropic",
    "FakeCircleCI",
    "FakeGitHub",
    "FakeGitLab",
    "FakeJob",
    "FakeModelServer",
    "FakeOpenAI",
    "FakeTestCase",
    "GitLabRequest",
    "RecordedCall",
    "RecordedRequest",
    "ScriptExhausted",
    "ScriptedProvider",
    "Step",
    "bad_gateway",
    "context_length_exceeded",
    "finish",
    "overloaded",
    "rate_limited",
    "response",
    "secondary_rate_limit",
    "server_error",
    "text_reply",
    "tool_call",
    "tool_calls",
    "tool_use",
]
