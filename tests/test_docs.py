"""The README and docs/: links that resolve, pages that are reachable, a short README,
one table of every environment variable, and no history told as documentation."""

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from backoffice.processes import ROOT

README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_CODE_SPAN = re.compile(r"(`+)(.+?)\1")
_INLINE_LINK = re.compile(r"!?\[((?:[^\[\]]|\[[^\]]*\])*)\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$")
_IMG_SRC = re.compile(r"<img\b[^>]*?\bsrc\s*=\s*[\"']([^\"']+)[\"']", re.I)
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:|^//", re.I)

# Phrases that tell how things were rather than how they are.
HISTORY = [r"\bbefore this change\b", r"\ban earlier\b", r"\bso far\b", r"\bno longer\b", r"\bused to\b"]


def _markdown_pages() -> list[Path]:
    return [README, *sorted(DOCS.rglob("*.md"))]


def _prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks."""
    lines, fence = [], None
    for line in text.splitlines():
        opening = _FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)[0] * len(opening.group(1))
        elif fence is not None:
            if line.strip().startswith(fence) and not line.strip().strip(fence[0]):
                fence = None
        else:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: its rendered text, lower case, without punctuation
    (letters, digits, `_`, `-` and spaces stay), each space a hyphen (github-slugger)."""
    text = _CODE_SPAN.sub(lambda m: m.group(2).strip(), heading)  # code keeps its text
    text = _INLINE_LINK.sub(lambda m: m.group(1), text)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = re.sub(r"(\*+|(?<!\w)_+|_+(?!\w))", "", text)  # emphasis markers, not snake_case
    kept = (c for c in text.lower() if c in " -" or unicodedata.category(c)[0] in "LMN" or c == "_")
    return "".join(kept).replace(" ", "-")


def anchors(page: Path) -> set[str]:
    """Every heading anchor of a Markdown page; repeated headings get -1, -2... as on GitHub."""
    seen: Counter = Counter()
    found = set()
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        heading = _ATX_HEADING.match(line)
        if heading:
            slug = github_slug(heading.group(1))
            found.add(f"{slug}-{seen[slug]}" if seen[slug] else slug)
            seen[slug] += 1
    return found


def relative_links(page: Path) -> list[str]:
    """The targets of the page's links and images that point inside the repository."""
    targets = []
    for line in _prose_lines(page.read_text(encoding="utf-8")):
        line = _CODE_SPAN.sub("", line)
        definition = _REFERENCE_DEFINITION.match(line)
        if definition:
            targets.append(definition.group(1))
        targets += [m.group(2) for m in _INLINE_LINK.finditer(line)]
        targets += _IMG_SRC.findall(line)
    return [t for t in targets if t and not _SCHEME.match(t)]


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in relative_links(page):
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with the anchor #{anchor} in {path or page.name}")
    return broken


def reachable_from(start: Path) -> set[Path]:
    """Every file reached from `start` by relative links, through the Markdown pages on the way."""
    reached, frontier = {start.resolve()}, [start.resolve()]
    while frontier:
        page = frontier.pop()
        for target in relative_links(page):
            path = target.partition("#")[0]
            resolved = (page.parent / path).resolve()
            if path and resolved.is_file() and resolved not in reached:
                reached.add(resolved)
                if resolved.suffix == ".md":
                    frontier.append(resolved)
    return reached


class TestGithubSlug:
    @pytest.mark.parametrize(
        ("heading", "slug"),
        [
            ("The delivery promise", "the-delivery-promise"),
            ("Bad input: a clear error, never a 500, half-written", "bad-input-a-clear-error-never-a-500-half-written"),
            ("`make run`, `make test`, `make lock`", "make-run-make-test-make-lock"),
            ("Why `SENDING_LEASE` is 120 s", "why-sending_lease-is-120-s"),
            ("**Bold** and [a link](api.md) (aside)", "bold-and-a-link-aside"),
            ("A -- B", "a----b"),
            ("Émigré café", "émigré-café"),
        ],
    )
    def test_it_slugs_headings_as_github_does(self, heading, slug):
        assert github_slug(heading) == slug

    def test_it_numbers_repeated_headings(self, tmp_path):
        page = tmp_path / "page.md"
        page.write_text("# Logs\n\n## Logs\n\n```\n# not a heading\n```\n\n### Logs #\n")
        assert anchors(page) == {"logs", "logs-1", "logs-2"}


class TestLinks:
    def test_it_finds_links_images_and_anchors_but_not_code(self, tmp_path):
        (tmp_path / "docs").mkdir()
        (tmp_path / "docs" / "a.md").write_text("# Here\n")
        page = tmp_path / "README.md"
        page.write_text(
            "[ok](docs/a.md#here) ![pic](docs/a.md) [web](https://example.com) [top](#title)\n"
            '# Title\n<img src="docs/missing.png">\n[bad anchor](docs/a.md#there) `[code](nowhere.md)`\n'
            "```\n[fenced](nowhere.md)\n```\n"
        )
        assert sorted(broken_links(page)) == [
            "docs/a.md#there: no heading with the anchor #there in docs/a.md",
            "docs/missing.png: no such file",
        ]

    @pytest.mark.parametrize("page", _markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_it_resolves_every_relative_link_and_anchor(self, page):
        assert broken_links(page) == []


class TestReadme:
    def test_it_stays_under_ten_thousand_bytes(self):
        assert README.stat().st_size < 10_000

    def test_it_reaches_every_file_in_docs(self):
        reached = reachable_from(README)
        unreached = [str(p.relative_to(ROOT)) for p in sorted(DOCS.rglob("*")) if p.is_file() and p not in reached]
        assert unreached == []


class TestNoHistory:
    @pytest.mark.parametrize("page", _markdown_pages(), ids=lambda p: str(p.relative_to(ROOT)))
    def test_it_tells_what_is_true_now(self, page):
        text = page.read_text(encoding="utf-8")
        told = [m.group(0) for pattern in HISTORY for m in re.finditer(pattern, text, re.I)]
        assert told == []


# Where the code reads the environment, per kind of file.
_PYTHON_READS = [
    r"\benv(?:\.\w+)?\(\s*\"([A-Z][A-Z0-9_]+)\"",  # django-environ, devstack's env.get / env.setdefault
    r"\benv_(?:bool|rate)\(\s*\"([A-Z][A-Z0-9_]+)\"",
    r"\b(?:self\.)?env\[\s*\"([A-Z][A-Z0-9_]+)\"\s*\]",
    r"\"([A-Z][A-Z0-9_]+)\"\s+(?:not\s+)?in\s+(?:self\.)?env\b",
    r"\b_(?:port|flag)\(\s*[\w.]+,\s*\"([A-Z][A-Z0-9_]+)\"",
    r"\bos\.environ(?:\.get|\.setdefault)?\(\s*\"([A-Z][A-Z0-9_]+)\"",
]


def variables_read() -> set[str]:
    """The environment variables that the settings, `make run`, the Makefile, the compose file
    and the tests read."""
    names: set[str] = set()
    python = [
        ROOT / "manage.py",
        *sorted((ROOT / "backoffice").glob("*.py")),
        *sorted((ROOT / "mailings").rglob("*.py")),
    ]
    for path in python:
        text = path.read_text(encoding="utf-8")
        for pattern in _PYTHON_READS:
            names.update(re.findall(pattern, text))
    for path in sorted((ROOT / "tests").rglob("*.py")):
        names.update(re.findall(r"\bos\.environ\.get\(\s*\"([A-Z][A-Z0-9_]+)\"", path.read_text(encoding="utf-8")))
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    internal = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*:?=", makefile, re.M))
    names.update(set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", makefile)) - internal)
    names.update(re.findall(r"^([A-Z][A-Z0-9_]*)\s*\?=", makefile, re.M))
    names.update(re.findall(r"\$\$\{([A-Z][A-Z0-9_]*)", makefile))
    names.update(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", (ROOT / "docker-compose.yml").read_text(encoding="utf-8")))
    return names


def variables_documented() -> set[str]:
    """The variables named in the first column of configuration.md's table."""
    names: set[str] = set()
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if line.startswith("|"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


class TestConfigurationTable:
    def test_it_lists_every_variable_the_code_reads(self):
        assert sorted(variables_read() - variables_documented()) == []

    def test_it_lists_nothing_the_code_does_not_read(self):
        assert sorted(variables_documented() - variables_read()) == []
