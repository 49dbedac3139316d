"""Whatever a file holds, the detector returns detections (never raises), and a secret it
reports never shows up in the finding."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from orchestrate.security.secrets import Detector, SecretsConfig
from orchestrate.security.secrets.findings import to_findings
from tests.unit.security.secrets.builders import github_token

DETECTOR = Detector(SecretsConfig())
# Fragments that steer random input into the rules' and the key/value parser's paths.
FRAGMENTS = st.sampled_from(
    [
        "password", "token", " = ", ": ", '"', "'", "\n", "<", ">", "://", "@", "value:",
        "- name: ", "-----BEGIN RSA PRIVATE KEY-----", "-----END", "eyJ", ".", "ghp_",
        "AKIA", "sk_live_", "xoxb-", "\\", "${", "Bearer ", "é", "\x00",
    ]
)  # fmt: skip


@given(st.lists(FRAGMENTS | st.text(max_size=12), max_size=60), st.sampled_from(["a.py", "b.env"]))
def test_any_text_gives_detections_and_never_an_error(parts: list[str], name: str) -> None:
    data = "".join(parts).encode("utf-8", "surrogatepass")

    hits = DETECTOR.detect(data, name)

    for finding in to_findings(hits, data, name):
        assert finding.location.start_line is not None
        assert finding.location.start_line >= 1


@given(st.text(max_size=40), st.text(max_size=40))
def test_a_found_token_never_appears_in_its_finding(before: str, after: str) -> None:
    token = github_token()
    data = f'{before}\nTOKEN = "{token}"  \n{after}'.encode("utf-8", "surrogatepass")

    findings = to_findings(DETECTOR.detect(data, "a.py"), data, "a.py")

    assert any(f.rule_id == "secrets/github-pat" for f in findings) or "allow" in before + after
    for finding in findings:
        assert token not in repr(finding)
        assert token[4:10] not in finding.snippet
