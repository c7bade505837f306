"""docs/operations.md names only commands, settings, topics and groups that exist."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from services.cli import build_parser
from services.crawler.config import CrawlerSettings
from services.runtime.topics import TOPICS

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operations.md"


def _commands(text: str) -> list[list[str]]:
    """``newsingest …`` command lines of the guide (code blocks and inline code), comments cut."""
    found = []
    for match in re.finditer(
        r"(?:^ {4}|`)newsingest ((?:serve|topics|feeds|deadletter|watch|status|broker)[^`\n]*)", text, re.M
    ):
        line = match.group(1).split("#")[0].strip()
        found.append(shlex.split(line))
    return found


def test_every_newsingest_command_in_the_guide_parses() -> None:
    commands = _commands(GUIDE.read_text())
    assert len(commands) >= 10
    parser = build_parser()
    for command in commands:
        # Placeholders of the guide stand for one argument each.
        argv = ["feed-id" if a == "id>" else a for a in command if a not in ("…", "<feed")]
        if argv[:2] == ["feeds", "add"] and len(argv) == 2:
            argv.append("https://news.example/feed.xml")
        parser.parse_args(argv)


def test_every_variable_in_the_guide_is_a_setting(setting_names: set[str]) -> None:
    named = set(re.findall(r"NEWSINGEST_[A-Z0-9_]+", GUIDE.read_text()))
    assert named
    assert sorted(n for n in named if n not in setting_names) == []


def test_topics_and_groups_in_the_guide_exist() -> None:
    text = GUIDE.read_text()
    topics = set(re.findall(r"`(news\.[a-z.]+)`", text))
    assert topics <= set(TOPICS)
    groups = set(re.findall(r"newsingest-(?:crawler|clean|dedupe|tag)\b", text))
    stage_groups = {"newsingest-clean", "newsingest-dedupe", "newsingest-tag"}
    assert groups - {"newsingest-crawler"} <= stage_groups
    assert CrawlerSettings().group_id == "newsingest-crawler"
