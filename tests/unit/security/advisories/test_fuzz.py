"""Whatever an export holds, a record is read or rejected, and ranges give a verdict."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrate.security.advisories.ranges import Verdict, first_fix_above, verdict
from orchestrate.security.advisories.records import RecordRejected, read_record
from orchestrate.security.models import Ecosystem

versions = st.sampled_from(
    ["0", "1.0", "1.0.0", "v1.2.3", "2.0rc1", "1.0.0-beta", "x", ""]
) | st.text(max_size=8)
events = st.lists(
    st.dictionaries(
        st.sampled_from(["introduced", "fixed", "last_affected", "limit", "other"]),
        versions | st.integers() | st.none(),
        max_size=2,
    ),
    max_size=5,
)
ranges = st.lists(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["ECOSYSTEM", "SEMVER", "GIT", "", "weird"]), "events": events}
    ),
    max_size=3,
)
affected = st.lists(
    st.fixed_dictionaries(
        {
            "package": st.fixed_dictionaries(
                {"ecosystem": st.sampled_from([e.value for e in Ecosystem] + ["Debian"]),
                 "name": st.text(min_size=1, max_size=10)}
            ),
            "ranges": ranges,
            "versions": st.lists(versions, max_size=3),
        }
    ),
    max_size=3,
)  # fmt: skip
records = st.fixed_dictionaries(
    {"id": st.text(max_size=10), "modified": st.sampled_from(["2024-01-01T00:00:00Z", "x", ""])},
    optional={
        "affected": affected,
        "severity": st.lists(
            st.fixed_dictionaries({"type": st.text(max_size=8), "score": st.text(max_size=40)})
        ),
        "aliases": st.lists(st.text(max_size=5) | st.integers()) | st.text(),
        "withdrawn": st.text(max_size=30),
    },
)  # fmt: skip


@settings(max_examples=400)
@given(document=records, ecosystem=st.sampled_from(list(Ecosystem)), installed=versions)
def test_any_record_is_read_or_rejected_and_any_range_gives_a_verdict(
    document: dict[str, object], ecosystem: Ecosystem, installed: str
) -> None:
    try:
        advisory = read_record(document)
    except RecordRejected:
        return
    for package in advisory.affected:
        assert verdict(package, ecosystem, installed) in set(Verdict)
    fixed = first_fix_above(list(advisory.affected), ecosystem, installed)
    assert fixed is None or isinstance(fixed, str)
