"""The documentation holds together: every relative link of README.md and docs/*.md reaches a file (and a heading,
for links with an anchor), every page of docs/ is in mkdocs.yml's nav and linked from README.md and the front
page, every ``iasem`` command in a ```bash block parses with the real command line, and the example templates
shown in docs/reports.md are the files in docs/examples/templates/. The commands are parsed, never run; the
examples themselves run as doctests (pytest collects docs/*.md)."""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import unicodedata
from pathlib import Path

import pytest
import yaml

from iasem.cli import build_parser
from iasem.instruments.export import parse_formats
from iasem.report.render import FORMATS as REPORT_FORMATS

from .conftest import REPO

DOCS = REPO / "docs"
PAGES = sorted(DOCS.glob("*.md"))
MARKDOWN = [REPO / "README.md", *PAGES]

FENCE = re.compile(r"^\s*(```|~~~)\s*([\w+-]*)")
LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
CODE_SPAN = re.compile(r"(`+).+?\1")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


def _name(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _blocks(path: Path) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The lines outside fenced code blocks, and the fenced blocks as (info string, lines)."""
    prose: list[str] = []
    blocks: list[tuple[str, list[str]]] = []
    fence = None
    for line in path.read_text(encoding="utf-8").splitlines():
        match = FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            blocks.append((match.group(2).lower(), []))
        elif fence is not None and line.strip().startswith(fence) and not line.strip().strip(fence[0]):
            fence = None
        elif fence is not None:
            blocks[-1][1].append(line)
        else:
            prose.append(line)
    return prose, blocks


def _links(path: Path) -> list[str]:
    prose, _ = _blocks(path)
    return [target for line in prose for target in LINK.findall(CODE_SPAN.sub("", line))]


def _slugs(heading: str) -> set[str]:
    """The anchors a heading gets on GitHub and in MkDocs (Python-Markdown's toc)."""
    text = re.sub(r"[`*]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)).strip()
    github = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    mkdocs = re.sub(r"[-\s]+", "-", re.sub(r"[^\w\s-]", "", ascii_text).strip().lower())
    return {github, mkdocs}


def _anchors(path: Path) -> set[str]:
    prose, _ = _blocks(path)
    return {slug for line in prose if (match := HEADING.match(line)) for slug in _slugs(match.group(2))}


def _local(target: str) -> bool:
    return not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE)


@pytest.mark.parametrize("page", MARKDOWN, ids=_name)
def test_relative_links_reach_a_file_and_a_heading(page):
    broken = []
    for target in filter(_local, _links(page)):
        file_part, _, anchor = target.partition("#")
        path = (page.parent / file_part).resolve() if file_part else page
        if not path.exists():
            broken.append(f"{target}: no such file")
        elif anchor and path.suffix == ".md" and anchor not in _anchors(path):
            broken.append(f"{target}: no heading #{anchor} in {_name(path)}")
    assert not broken, f"{_name(page)}: " + "; ".join(broken)


def _nav_pages(nav) -> list[str]:
    if isinstance(nav, str):
        return [nav]
    if isinstance(nav, list):
        return [page for entry in nav for page in _nav_pages(entry)]
    if isinstance(nav, dict):
        return [page for value in nav.values() for page in _nav_pages(value)]
    return []


def test_every_page_is_in_the_mkdocs_nav():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    assert config["docs_dir"] == "docs"
    nav = _nav_pages(config["nav"])
    assert sorted(nav) == sorted(page.name for page in PAGES), "mkdocs.yml's nav and docs/*.md differ"
    assert len(nav) == len(set(nav)), "a page is in the nav twice"
    assert nav[0] == "index.md"


@pytest.mark.parametrize("front", ["README.md", "docs/index.md"])
def test_the_front_pages_link_every_page(front):
    path = REPO / front
    linked = {(path.parent / target.partition("#")[0]).resolve() for target in filter(_local, _links(path))}
    missing = [page.name for page in PAGES if page.resolve() not in linked and page.resolve() != path.resolve()]
    assert not missing, f"{front} does not link {', '.join(missing)}"


def _commands(path: Path) -> list[list[str]]:
    """Every ``iasem ...`` command line of the file's ```bash blocks, as argument lists (without ``iasem``)."""
    _, blocks = _blocks(path)
    commands = []
    for info, lines in blocks:
        if info not in ("bash", "sh", "shell", "console"):
            continue
        text = "\n".join(lines).replace("\\\n", " ")
        for line in text.splitlines():
            lexer = shlex.shlex(line.removeprefix("$ "), posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words: list[str] = []
            for token in [*lexer, ";"]:
                if token and set(token) <= set("();<>|&"):
                    if words and Path(words[0]).name == "iasem":
                        commands.append(words[1:])
                    words = []
                else:
                    words.append(token)
    return commands


COMMANDS = [(path, argv) for path in MARKDOWN for argv in _commands(path)]


def test_the_docs_show_commands():
    assert len(COMMANDS) >= 30
    shown = {argv[0] for _, argv in COMMANDS}
    assert {"instrument", "responses", "validate", "fit", "power", "run", "report"} <= shown


@pytest.mark.parametrize(("path", "argv"), COMMANDS, ids=[f"{_name(p)}: iasem {' '.join(a)}" for p, a in COMMANDS])
def test_commands_in_the_docs_parse(path, argv):
    errors = io.StringIO()
    try:
        with contextlib.redirect_stderr(errors), contextlib.redirect_stdout(io.StringIO()):
            args = build_parser().parse_args(argv)
    except SystemExit as exc:
        pytest.fail(f"{_name(path)}: `iasem {' '.join(argv)}` does not parse: {errors.getvalue().strip()} ({exc})")
    if args.command == "instrument" and args.action == "build":
        parse_formats(args.format)
    if args.command == "report":
        unknown = [f for f in args.format.split(",") if f.strip() not in REPORT_FORMATS]
        assert not unknown, f"`iasem {' '.join(argv)}`: unknown report format(s) {unknown}"


def test_the_example_templates_are_shown_in_reports_md():
    text = (DOCS / "reports.md").read_text(encoding="utf-8")
    templates = sorted((DOCS / "examples" / "templates").iterdir())
    assert templates
    for template in templates:
        assert template.read_text(encoding="utf-8").strip() in text, f"docs/reports.md does not show {template.name}"
