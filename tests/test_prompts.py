"""Prompt files and their loader: versions, ids, rendering, chat messages, and that every prompt stays short."""

from __future__ import annotations

from pathlib import Path

import pytest

import prompts
from prompts import Prompt, PromptError, load


def test_every_prompt_renders_into_messages() -> None:
    names = prompts.available()
    assert {"shopping_reply", "product_answer", "policy_answer", "small_talk", "customer_simulator"} <= set(names)
    for name in names:
        prompt = load(name)
        assert prompt.id == f"{name}.v{prompt.version}"
        messages = prompt.messages(**{key: f"<{key}>" for key in prompt.placeholders})
        assert messages[0]["role"] == "system" and all(m["content"] for m in messages)
        assert "$" not in "".join(m["content"] for m in messages)


def test_system_prompts_stay_short() -> None:
    """The 1.5B model on 2 cores reads ~15-30 prompt tokens/s under load: every system text stays small."""
    for name in prompts.available():
        system = load(name).messages(**dict.fromkeys(load(name).placeholders, ""))[0]["content"]
        assert len(system) < 700, f"{name}: {len(system)} characters"


def test_versions_and_ids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "greet.v1.md").write_text("[system]\nSay hi in $language.\n[user]\n$message\n")
    (tmp_path / "greet.v2.md").write_text("Say hello in $language.")
    (tmp_path / "notes.md").write_text("not a prompt")
    monkeypatch.setattr(prompts, "PROMPTS_DIR", tmp_path)
    load.cache_clear()
    try:
        assert prompts.available() == {"greet": [1, 2]}
        assert load("greet").version == 2
        assert load("greet", 1) == load("greet.v1")
        assert load("greet.v1").messages(language="English", message="cost: $5 {x}") == [
            {"role": "system", "content": "Say hi in English."},
            {"role": "user", "content": "cost: $5 {x}"},
        ]
        assert load("greet").messages(language="中文") == [{"role": "system", "content": "Say hello in 中文."}]
        with pytest.raises(PromptError, match=r"\$message"):
            load("greet.v1").render(language="English")
        with pytest.raises(PromptError, match="no version 3"):
            load("greet", 3)
        with pytest.raises(PromptError, match="no prompt named"):
            load("farewell")
    finally:
        load.cache_clear()


def test_prompt_is_a_value() -> None:
    assert Prompt("x", 1, "$a and ${b}").placeholders == {"a", "b"}
