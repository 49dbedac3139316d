"""``orchestrate_llm_tokens_total`` and ``orchestrate_llm_cost_usd_total``: the cost
ledger's sums on every scrape, by model and agent type."""

from __future__ import annotations

from decimal import Decimal

import httpx
from prometheus_client.parser import text_string_to_metric_families

from orchestrate.core.runtime import Runtime
from orchestrate.costs import service as costs


async def record(runtime: Runtime, model: str, agent_type: str, dollars: str) -> None:
    async with runtime.uow() as uow:
        await costs.record_call_cost(
            uow,
            costs.CostEntry(
                model=model,
                provider="anthropic",
                agent_id="agent_1",
                agent_type=agent_type,
                input_tokens=1000,
                output_tokens=200,
                cache_read_tokens=30,
                cache_write_tokens=4,
                cost_usd=Decimal(dollars),
            ),
        )
        await uow.commit()


async def test_tokens_by_kind_and_dollars_per_model_and_agent_type(
    runtime: Runtime, api: httpx.AsyncClient
) -> None:
    await record(runtime, "claude-x", "reviewer", "0.25")
    await record(runtime, "claude-x", "reviewer", "0.5")
    await record(runtime, "gpt-y", "story-developer", "1.125")

    response = await api.get("/metrics")

    assert response.status_code == 200
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
        if s.name.startswith("orchestrate_llm_")
    }
    reviewer = (("agent_type", "reviewer"), ("model", "claude-x"))
    assert samples["orchestrate_llm_cost_usd_total", reviewer] == 0.75
    assert (
        samples[
            "orchestrate_llm_tokens_total",
            (("agent_type", "reviewer"), ("kind", "input"), ("model", "claude-x")),
        ]
        == 2000
    )
    assert (
        samples[
            "orchestrate_llm_tokens_total",
            (("agent_type", "reviewer"), ("kind", "cache_read"), ("model", "claude-x")),
        ]
        == 60
    )
    developer = (("agent_type", "story-developer"), ("model", "gpt-y"))
    assert samples["orchestrate_llm_cost_usd_total", developer] == 1.125
    kinds = {
        dict(labels)["kind"] for name, labels in samples if name == "orchestrate_llm_tokens_total"
    }
    assert kinds == {"input", "output", "cache_read", "cache_write"}
