"""Output checks while streaming: sentences are released as they complete, a harmful one stops the reply."""

from __future__ import annotations

from moderation.moderator import Moderator


def _tokens(text: str) -> list[str]:
    # Small uneven pieces, like an LLM's tokens, including a decimal point split from its digits.
    return [text[i : i + 3] for i in range(0, len(text), 3)]


def test_safe_reply_streams_sentence_by_sentence(text_moderator: Moderator) -> None:
    guard = text_moderator.stream_guard("en")
    reply = "The blue jacket costs $59.99 and is in stock. It ships tomorrow! Anything else?"
    released: list[tuple[int, str]] = []
    for n, token in enumerate(_tokens(reply)):
        released += [(n, piece) for piece in guard.feed(token)]
    released += [(len(reply), piece) for piece in guard.finish()]
    assert "".join(p for _, p in released) == reply
    # The first sentence went out long before the stream ended, and "$59." was not cut at its dot.
    assert released[0][1] == "The blue jacket costs $59.99 and is in stock. "
    assert released[0][0] < len(_tokens(reply)) - 5
    assert not guard.stopped


def test_harmful_sentence_is_replaced_and_the_rest_dropped(text_moderator: Moderator) -> None:
    guard = text_moderator.stream_guard("en")
    reply = "Your order has shipped. You are a worthless idiot and I hope you die. Tracking number follows."
    out = [piece for token in _tokens(reply) for piece in guard.feed(token)] + guard.finish()
    assert out[0] == "Your order has shipped. "
    assert "idiot" not in "".join(out) and "Tracking" not in "".join(out)
    assert out[-1].startswith("[Part of this reply was removed")
    assert guard.stopped and guard.flags


def test_chinese_reply_and_long_unpunctuated_text(text_moderator: Moderator) -> None:
    guard = text_moderator.stream_guard("zh")
    out = [p for t in "这款手机有货。价格是1999元。" for p in guard.feed(t)] + guard.finish()
    assert out == ["这款手机有货。", "价格是1999元。"]
    guard = text_moderator.stream_guard("en")
    long_words = "word " * 100
    early = [p for t in _tokens(long_words) for p in guard.feed(t)]
    assert early, "a sentence that never ends must still be released in pieces"
    assert "".join(early + guard.finish()) == long_words
