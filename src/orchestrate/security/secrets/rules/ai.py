"""Model providers: their keys spend money by the minute."""

from __future__ import annotations

from orchestrate.security.secrets.rules._build import END, END_ALNUM, keyed_rule, pattern_rule

RULES = (
    pattern_rule(
        "openai-api-key",
        "OpenAI API key",
        # Every OpenAI key carries "T3BlbkFJ" (base64 of "OpenAI") in its middle.
        r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,160}T3BlbkFJ[A-Za-z0-9_-]{20,160}" + END,
        ("t3blbkfj",),
        help_uri="https://platform.openai.com/api-keys",
    ),
    pattern_rule(
        "anthropic-api-key",
        "Anthropic API key",
        r"sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA" + END,
        ("sk-ant-",),
        help_uri="https://console.anthropic.com/settings/keys",
    ),
    pattern_rule(
        "huggingface-token",
        "Hugging Face access token",
        r"(?:hf_|api_org_)[A-Za-z]{34}" + END_ALNUM,
        ("hf_", "api_org_"),
        min_entropy=3.8,
        help_uri="https://huggingface.co/docs/hub/security-tokens",
    ),
    pattern_rule(
        "groq-api-key",
        "Groq API key",
        r"gsk_[A-Za-z0-9]{52}" + END_ALNUM,
        ("gsk_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "replicate-api-token",
        "Replicate API token",
        r"r8_[A-Za-z0-9]{37}" + END_ALNUM,
        ("r8_",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "perplexity-api-key",
        "Perplexity API key",
        r"pplx-[A-Za-z0-9]{48}" + END_ALNUM,
        ("pplx-",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "xai-api-key",
        "xAI API key",
        r"xai-[A-Za-z0-9]{80}" + END_ALNUM,
        ("xai-",),
        min_entropy=3.5,
    ),
    pattern_rule(
        "langsmith-api-key",
        "LangSmith API key",
        r"lsv2_(?:pt|sk)_[a-f0-9]{32}_[a-f0-9]{10}" + END,
        ("lsv2_",),
        min_entropy=3.2,
    ),
    keyed_rule(
        "cohere-api-key",
        "Cohere API key",
        r"cohere|(?:^|_)co_api",
        r"[A-Za-z0-9]{40}",
        ("cohere", "co_api"),
        min_entropy=3.5,
    ),
)
