"""The detector: every enabled rule over one text, in one pass of a keyword automaton
and a few compiled regular expressions.

For a text, an Aho-Corasick automaton (``ahocorasick-rs``, Rust) finds every rule
keyword in the lowercased bytes at once. A pattern rule runs only when one of its
keywords occurred (or when it has none: a few literal-prefixed patterns are cheaper to
run than to gate); keyed and generic rules look only at the assignments around the
keyword occurrences. So a file with no keyword costs one lowercase copy and one
automaton pass, both at memory speed, and no Python loop ever visits every line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ahocorasick_rs import BytesAhoCorasick

from orchestrate.security.secrets.entropy import shannon_entropy
from orchestrate.security.secrets.keyvalue import (
    CODE_SUFFIXES,
    KEY_TAIL,
    Assignment,
    assignment_at,
)
from orchestrate.security.secrets.models import Hit, Rule, RuleKind, SecretsConfig
from orchestrate.security.secrets.patterns import secret_group
from orchestrate.security.secrets.rules import RULES
from orchestrate.security.secrets.rules.generic import (
    GENERIC_PASSWORD,
    GENERIC_SECRET,
    KeyKind,
    classify_key,
    normalise_key,
)
from orchestrate.security.secrets.values import (
    DEFAULT_STOPWORDS,
    has_stopword,
    is_patterned,
    is_reference,
    looks_like_non_secret,
    password_ok,
    secret_entropy_ok,
    strip_auth_scheme,
)

SUPPRESSION_MARKERS = (b"orchestrate:allow-secret", b"gitleaks:allow", b"pragma: allowlist secret")
_NEXT_LINE_MARKER = b"pragma: allowlist nextline secret"

LOCKFILE_NAMES = frozenset(
    [
        "package-lock.json",
        "npm-shrinkwrap.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "bun.lock",
        "poetry.lock",
        "Pipfile.lock",
        "pdm.lock",
        "uv.lock",
        "Cargo.lock",
        "go.sum",
        "composer.lock",
        "Gemfile.lock",
        "packages.lock.json",
        "flake.lock",
        "mix.lock",
        "pubspec.lock",
        "Podfile.lock",
    ]
)
_MINIFIED_SUFFIXES = (".min.js", ".min.css", ".map", ".min.mjs")
_WORD = bytes(
    1 if (chr(c).isascii() and (chr(c).isalnum() or c == 0x5F)) else 0 for c in range(256)
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    secret_group: int


class Detector:
    """The rules of one configuration, compiled once and used for every file."""

    def __init__(self, config: SecretsConfig, rules: Sequence[Rule] = RULES) -> None:
        enabled = [
            rule for rule in (*rules, *config.custom_rules) if rule.id not in config.disabled_rules
        ]
        self.rules: tuple[Rule, ...] = tuple(enabled)
        self._stopwords = DEFAULT_STOPWORDS + tuple(word.lower() for word in config.stopwords)
        self._user_stopwords = tuple(word.lower() for word in config.stopwords)
        self._allow = config.allowlist_regexes
        self._has_generic_secret = GENERIC_SECRET in enabled
        self._has_generic_password = GENERIC_PASSWORD in enabled
        self._always: list[_Compiled] = []
        self._patterns: list[_Compiled] = []
        self._keyed: list[Rule] = []
        keyword_index: dict[bytes, int] = {}
        # per keyword: the pattern rules (indexes into _patterns) and keyed rules it gates
        self._keyword_patterns: list[list[int]] = []
        self._keyword_keyed: list[list[int]] = []
        self._keyword_is_key: list[bool] = []
        for rule in enabled:
            gated_index: int | None = None
            keyed_index: int | None = None
            if rule.kind is RuleKind.PATTERN:
                assert rule.pattern is not None
                compiled = _Compiled(rule, secret_group(rule.pattern))
                if not rule.keywords:
                    self._always.append(compiled)
                    continue
                self._patterns.append(compiled)
                gated_index = len(self._patterns) - 1
            elif rule.kind is RuleKind.KEYED:
                self._keyed.append(rule)
                keyed_index = len(self._keyed) - 1
            for keyword in rule.keywords:
                encoded = keyword.lower().encode()
                if encoded not in keyword_index:
                    keyword_index[encoded] = len(keyword_index)
                    self._keyword_patterns.append([])
                    self._keyword_keyed.append([])
                    self._keyword_is_key.append(False)
                position = keyword_index[encoded]
                if gated_index is not None:
                    self._keyword_patterns[position].append(gated_index)
                else:
                    self._keyword_is_key[position] = True
                    if keyed_index is not None:
                        self._keyword_keyed[position].append(keyed_index)
        self._keyword_generic_only = [
            is_key and not keyed
            for is_key, keyed in zip(self._keyword_is_key, self._keyword_keyed, strict=True)
        ]
        self._automaton = BytesAhoCorasick(list(keyword_index)) if keyword_index else None

    def has_candidates(self, data: bytes) -> bool:
        """Could any rule match in ``data``? (Cheap: for skipping diff sections.)"""
        if self._always:
            return True
        if self._automaton is None:
            return False
        return bool(self._automaton.find_matches_as_indexes(data.lower()))

    def candidate_offsets(self, data: bytes) -> list[int]:
        """Where in ``data`` a rule could start to match: keyword occurrences, and the
        matches of the rules that run without keywords."""
        offsets = [
            match.start()
            for compiled in self._always
            for match in compiled.rule.pattern.finditer(data)  # type: ignore[union-attr]
        ]
        if self._automaton is not None:
            offsets.extend(
                start for _, start, _ in self._automaton.find_matches_as_indexes(data.lower())
            )
        return offsets

    def detect(self, data: bytes, path: str) -> list[Hit]:
        """Every secret in ``data`` (the content of ``path``), suppressions applied."""
        hits: list[Hit] = []
        refused: list[tuple[int, int]] = []
        for compiled in self._always:
            hits.extend(self._pattern_hits(compiled, data, refused))
        if self._automaton is not None:
            matches = self._automaton.find_matches_as_indexes(data.lower(), overlapping=True)
            if matches:
                hits.extend(self._gated_hits(data, path, matches, refused))
        if not hits:
            return hits
        if refused:
            # A provider-shaped value its rule refused (a wrong checksum, no entropy) is
            # a fake of that provider's token: no generic rule may report it instead.
            hits = [hit for hit in hits if hit.rule.priority > 1 or not _inside(hit, refused)]
        return [hit for hit in _resolve_overlaps(hits) if self._is_kept(hit, data)]

    def _gated_hits(
        self,
        data: bytes,
        path: str,
        matches: Sequence[tuple[int, int, int]],
        refused: list[tuple[int, int]],
    ) -> Iterable[Hit]:
        keywords = {keyword for keyword, _, _ in matches}
        patterns = {index for keyword in keywords for index in self._keyword_patterns[keyword]}
        keyed = {index for keyword in keywords for index in self._keyword_keyed[keyword]}
        is_key, generic_only = self._keyword_is_key, self._keyword_generic_only
        key_places = [
            (start, end, generic_only[keyword])
            for keyword, start, end in matches
            if is_key[keyword]
        ]
        for index in sorted(patterns):
            yield from self._pattern_hits(self._patterns[index], data, refused)
        if key_places:
            yield from self._assignment_hits(data, path, key_places, sorted(keyed))

    def _pattern_hits(
        self, compiled: _Compiled, data: bytes, refused: list[tuple[int, int]]
    ) -> Iterable[Hit]:
        rule = compiled.rule
        assert rule.pattern is not None
        for match in rule.pattern.finditer(data):
            start = match.start()
            if start and _WORD[data[start]] and _WORD[data[start - 1]]:
                continue  # inside a longer word: base64 blobs hold every prefix somewhere
            secret = match.group(compiled.secret_group)
            entropy = shannon_entropy(secret)
            if (rule.min_entropy is not None and entropy < rule.min_entropy) or (
                rule.validator is not None and not rule.validator(secret, match.group(0))
            ):
                refused.append(match.span())
                continue
            identity = rule.normalise(secret) if rule.normalise else secret
            yield Hit(
                rule,
                match.start(compiled.secret_group),
                match.end(compiled.secret_group),
                identity,
                {"entropy": f"{entropy:.2f}"},
            )

    def _assignment_hits(
        self,
        data: bytes,
        path: str,
        places: list[tuple[int, int, bool]],
        keyed: list[int],
    ) -> Iterable[Hit]:
        name = path.rsplit("/", 1)[-1]
        allow_generic = (self._has_generic_secret or self._has_generic_password) and not (
            name in LOCKFILE_NAMES or name.endswith(_MINIFIED_SUFFIXES) or _is_minified(data)
        )
        is_code = ("." + name.rsplit(".", 1)[-1].lower()) in CODE_SUFFIXES if "." in name else False
        seen: set[int] = set()
        tail = KEY_TAIL.match
        for start, end, is_generic_only in places:
            if is_generic_only and not allow_generic:
                continue
            end_of_key = tail(data, end).end()  # type: ignore[union-attr]  # always matches
            if end_of_key in seen:
                continue
            seen.add(end_of_key)
            assignment = assignment_at(data, start, end_of_key)
            if assignment is None:
                continue
            hit = self._classify(assignment, keyed, allow_generic=allow_generic, is_code=is_code)
            if hit is not None:
                yield hit

    def _classify(
        self, assignment: Assignment, keyed: list[int], *, allow_generic: bool, is_code: bool
    ) -> Hit | None:
        value = strip_auth_scheme(assignment.value)
        start = assignment.value_end - len(value)
        key = normalise_key(assignment.key)
        for index in keyed:
            rule = self._keyed[index]
            assert rule.key_pattern is not None
            assert rule.value_pattern is not None
            if rule.key_pattern.search(key) and rule.value_pattern.fullmatch(value):
                entropy = shannon_entropy(value)
                if rule.min_entropy is not None and entropy < rule.min_entropy:
                    continue
                if has_stopword(value, self._stopwords):
                    continue
                return Hit(rule, start, assignment.value_end, value, _props(entropy, key))
        if not allow_generic:
            return None
        kind = classify_key(key)
        if kind is None or (is_code and not assignment.is_quoted):
            return None
        if is_reference(value, is_quoted=assignment.is_quoted):
            return None
        if looks_like_non_secret(value) or is_patterned(value):
            return None
        if has_stopword(value, self._stopwords):
            return None
        if kind is KeyKind.PASSWORD and self._has_generic_password:
            accepted, entropy = password_ok(value)
            rule = GENERIC_PASSWORD
        elif kind is KeyKind.SECRET and self._has_generic_secret:
            accepted, entropy = secret_entropy_ok(value)
            rule = GENERIC_SECRET
        else:
            return None
        if not accepted:
            return None
        return Hit(rule, start, assignment.value_end, value, _props(entropy, key))

    def _is_kept(self, hit: Hit, data: bytes) -> bool:
        """Not suppressed on its line, not allowlisted, no user stopword in it."""
        line_start = data.rfind(b"\n", 0, hit.start) + 1
        line_end = data.find(b"\n", hit.end)
        line = data[line_start : line_end if line_end != -1 else len(data)]
        if any(marker in line for marker in SUPPRESSION_MARKERS):
            return False
        if line_start:
            previous = data[data.rfind(b"\n", 0, line_start - 1) + 1 : line_start]
            if _NEXT_LINE_MARKER in previous:
                return False
        if self._allow or self._user_stopwords:
            text = hit.secret.decode("utf-8", "replace")
            if any(pattern.search(text) for pattern in self._allow):
                return False
            if self._user_stopwords and has_stopword(hit.secret, self._user_stopwords):
                return False
        return True


def _props(entropy: float, key: str) -> dict[str, str]:
    return {"entropy": f"{entropy:.2f}", "keyword": key[:80]}


def _is_minified(data: bytes) -> bool:
    """Generated code on a few huge lines: generic rules would only find noise there."""
    return len(data) > 20_000 and data.count(b"\n", 0, 200_000) * 1000 < min(len(data), 200_000)


def _inside(hit: Hit, spans: list[tuple[int, int]]) -> bool:
    return any(start < hit.end and hit.start < end for start, end in spans)


def _resolve_overlaps(hits: list[Hit]) -> list[Hit]:
    """Of detections that overlap, keep the most specific rule's (then the longest)."""
    if len(hits) == 1:
        return hits
    ordered = sorted(hits, key=lambda hit: (hit.start, -hit.rule.priority, hit.start - hit.end))
    kept: list[Hit] = []
    for hit in ordered:
        if kept and hit.start < kept[-1].end:
            last = kept[-1]
            if (hit.rule.priority, hit.end - hit.start) > (
                last.rule.priority,
                last.end - last.start,
            ):
                kept[-1] = hit
            continue
        kept.append(hit)
    return kept
