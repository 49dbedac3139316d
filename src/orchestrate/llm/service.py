"""The llm capability's public face: what agents (and any other caller) may use.

Agents talk to language models only through this module, so the providers, the
pricing table and the wire models can be reorganised without touching them; an
import-linter contract holds the line.
"""

from orchestrate.llm.checks import check_provider
from orchestrate.llm.errors import (
    ContextWindowExceeded,
    MissingCredentials,
    ProviderError,
    UnknownModel,
    UnknownProvider,
    UnreachableProvider,
)
from orchestrate.llm.estimate import CHARS_PER_TOKEN, RequestEstimator, estimator_for
from orchestrate.llm.factory import (
    CREDENTIAL_NAMES,
    check_credentials,
    create_provider,
    provider_kind,
    use_stored_credentials,
)
from orchestrate.llm.models import (
    CallRecord,
    CompletionRequest,
    CompletionResponse,
    ContentBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolSpec,
    ToolUseBlock,
    Usage,
)
from orchestrate.llm.pricing import context_window, cost_of
from orchestrate.llm.provider import Provider
from orchestrate.llm.replay import child_stream_path
from orchestrate.llm.replay_match import RunIdentity

__all__ = [
    "CHARS_PER_TOKEN",
    "CREDENTIAL_NAMES",
    "CallRecord",
    "CompletionRequest",
    "CompletionResponse",
    "ContentBlock",
    "ContextWindowExceeded",
    "Message",
    "MissingCredentials",
    "Provider",
    "ProviderError",
    "RequestEstimator",
    "Role",
    "RunIdentity",
    "TextBlock",
    "ToolResultBlock",
    "ToolSpec",
    "ToolUseBlock",
    "UnknownModel",
    "UnknownProvider",
    "UnreachableProvider",
    "Usage",
    "check_credentials",
    "check_provider",
    "child_stream_path",
    "context_window",
    "cost_of",
    "create_provider",
    "estimator_for",
    "provider_kind",
    "use_stored_credentials",
]
