"""Prompt templates kept as files: `prompts/NAME.vN.md`, one file per version, so every reply and log line can
record exactly which prompt produced it (`Prompt.id`, e.g. `shopping_reply.v1`).

A file holds one or more messages, each introduced by a line `[system]`, `[user]` or `[assistant]`; placeholders
are `$name` (`string.Template`), so JSON braces in a prompt need no escaping.

    prompt = load("shopping_reply")          # the highest version
    messages = prompt.messages(language="English", question=q, products=cards)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

PROMPTS_DIR = Path(__file__).resolve().parent
_FILE = re.compile(r"^(?P<name>[a-z0-9_]+)\.v(?P<version>\d+)\.md$")
_ROLE = re.compile(r"^\[(system|user|assistant)\]\s*$", re.MULTILINE)


class PromptError(KeyError):
    """An unknown prompt, or a value missing when rendering one."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class Prompt:
    name: str
    version: int
    text: str

    @property
    def id(self) -> str:
        return f"{self.name}.v{self.version}"

    @property
    def placeholders(self) -> set[str]:
        return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(self.text)} - {None}

    def render(self, **values: object) -> str:
        """The whole file with its placeholders filled; every placeholder needs a value."""
        try:
            return Template(self.text).substitute({k: str(v) for k, v in values.items()})
        except KeyError as exc:
            raise PromptError(f"prompt {self.id} needs a value for ${exc.args[0]}") from None

    def messages(self, **values: object) -> list[dict[str, str]]:
        """The rendered file as chat messages, split at its `[role]` lines."""
        rendered = self.render(**values)
        parts = _ROLE.split(rendered)
        if len(parts) == 1:
            return [{"role": "system", "content": rendered.strip()}]
        return [
            {"role": role, "content": content.strip()} for role, content in zip(parts[1::2], parts[2::2], strict=True)
        ]


def available() -> dict[str, list[int]]:
    """Every prompt name with its versions, ascending."""
    found: dict[str, list[int]] = {}
    for path in PROMPTS_DIR.glob("*.md"):
        match = _FILE.match(path.name)
        if match:
            found.setdefault(match["name"], []).append(int(match["version"]))
    return {name: sorted(versions) for name, versions in sorted(found.items())}


@cache
def load(name: str, version: int | None = None) -> Prompt:
    """The prompt `name` at `version` (default: the highest). `name` may also be a full id like `name.v2`."""
    if version is None and (match := re.fullmatch(r"(.+)\.v(\d+)", name)):
        name, version = match[1], int(match[2])
    versions = available().get(name)
    if not versions:
        raise PromptError(f"no prompt named {name!r} in {PROMPTS_DIR}")
    chosen = versions[-1] if version is None else version
    if chosen not in versions:
        raise PromptError(f"prompt {name!r} has no version {chosen} (has {versions})")
    return Prompt(name=name, version=chosen, text=(PROMPTS_DIR / f"{name}.v{chosen}.md").read_text(encoding="utf-8"))
