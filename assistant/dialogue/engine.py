"""The turn pipeline: moderation → routing → retrieval / store tools → generation (streaming) → grounding guard →
chat response. Every turn answers: when the model is absent, fails or times out, the reply comes from templates
built from the same data, with the same product cards and actions.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from assistant.dialogue.asking import never_thrice, remind
from assistant.dialogue.grounding import SentenceGuard
from assistant.dialogue.handlers.base import Draft, Handler, Turn
from assistant.dialogue.handlers.compare import CompareHandler
from assistant.dialogue.handlers.conversation import HandoffHandler, OutOfScopeHandler, PolicyHandler, SmallTalkHandler
from assistant.dialogue.handlers.product_qa import ProductQAHandler
from assistant.dialogue.handlers.service import ServiceHandler
from assistant.dialogue.handlers.shopping import PersonalSearch, Recommend, ShoppingHandler
from assistant.dialogue.intents import SERVICE_INTENTS, EmbeddingIntentClassifier, Encoder, Intent, Routed
from assistant.dialogue.language import detect_language
from assistant.dialogue.model_understanding import ModelUnderstanding, restore_values, state_view
from assistant.dialogue.response import ChatResponse
from assistant.dialogue.retrieved import RetrievedText
from assistant.dialogue.templates import render
from assistant.dialogue.understanding import Reading, UnderstandingMode, model_reading, read
from assistant.llm.base import LLM
from assistant.sessions import SessionStore
from assistant.store import StoreTools
from assistant.store.identity import IdentityGuard, IdentityPolicy
from moderation.pii import PiiMap
from moderation.stream_guard import StreamGuard
from moderation.verdict import Verdict, stricter
from prompts import load as load_prompt
from retrieval.catalog_store import CatalogStore
from retrieval.search import ProductSearcher

log = logging.getLogger("assistant.dialogue")

# Prompts whose answer is followed by the data it rests on (attributes, policy text).
_CITED = frozenset({"product_answer", "policy_answer"})
_WARM_PROMPTS = ("shopping_reply", "policy_answer", "product_answer")


class TextModerator(Protocol):
    """What the engine needs from `moderation.Moderator`."""

    def check_text(
        self,
        text: str,
        *,
        user_id: str | None = None,
        source: str = "chat",
        context: list[str] | None = None,
        pii_map: Any = None,
    ) -> Verdict: ...

    def check_image(self, data: bytes, *, user_id: str | None = None, source: str = "chat") -> Verdict: ...

    def mask_pii(self, text: str, pii_map: Any = None) -> tuple[str, Any]: ...

    def check_retrieved(self, text: str) -> tuple[str, Verdict]: ...

    def stream_guard(self, language: str = "en") -> StreamGuard: ...


@dataclass
class ChatEvent:
    """One streamed event: `token` ({"text"}), `products`, `action`, or `done` (the full response)."""

    event: str
    data: dict[str, Any]


@dataclass
class GenerationSettings:
    max_tokens: int = 96  # replies are two or three sentences; the cards carry the details
    # Past max_tokens the model may finish the sentence it is in, for at most this many more tokens: a reply never
    # stops mid-sentence (an unfinished one at the hard limit is dropped).
    sentence_grace_tokens: int = 40
    temperature: float = 0.2
    timeout_s: float = 30.0


class DialogueEngine:
    def __init__(
        self,
        sessions: SessionStore,
        store: StoreTools,
        searcher: ProductSearcher,
        catalog: CatalogStore,
        *,
        moderator: TextModerator | None = None,
        refusal: Callable[[Verdict, str], str] | None = None,
        llm: Callable[[], LLM | None] | None = None,
        encoder: Encoder | None = None,
        personal_search: PersonalSearch | None = None,
        recommend: Recommend | None = None,
        generation: GenerationSettings | None = None,
        identity: IdentityGuard | None = None,
        understanding: UnderstandingMode = "rules",
    ) -> None:
        self.sessions = sessions
        self.store = store
        # Who reads a message: the rules, a model where the rules are not sure (`auto`), or the model always.
        self.understanding = understanding
        self._reader: ModelUnderstanding | None = None
        self.moderator = moderator
        self.refusal = refusal
        self._llm = llm
        self._classifier = EmbeddingIntentClassifier(encoder) if encoder is not None else None
        self.generation = generation or GenerationSettings()
        self._recommend = recommend
        retrieved = RetrievedText(moderator.check_retrieved if moderator is not None else None)
        shopping = ShoppingHandler(searcher, personal_search=personal_search, recommend=recommend, retrieved=retrieved)
        service = ServiceHandler(store, identity or IdentityGuard(store.db, IdentityPolicy()))
        self.handlers: dict[Intent, Handler] = {
            Intent.PRODUCT_SEARCH: shopping,
            Intent.REFINE: shopping,
            Intent.RECOMMENDATION: shopping,
            Intent.COMPARE: CompareHandler(catalog, retrieved, searcher),
            Intent.PRODUCT_QUESTION: ProductQAHandler(catalog, retrieved),
            Intent.POLICY_QUESTION: PolicyHandler(store, retrieved),
            Intent.HANDOFF: HandoffHandler(store),
            Intent.SMALL_TALK: SmallTalkHandler(),
            Intent.OUT_OF_SCOPE: OutOfScopeHandler(),
            Intent.CONTINUE: service,
            **{intent: service for intent in SERVICE_INTENTS},
        }

    def warm_up(self) -> None:
        """Builds now what the first turns would otherwise build all at once: the intent examples' vectors and the
        personalization caches (a recommendation for an unknown user reads them and writes nothing)."""
        if self._classifier is not None:
            self._classifier.warm_up()
        if self._recommend is not None:
            self._recommend("warm-up", 1)
        self._warm_prompt_heads()

    def _warm_prompt_heads(self) -> None:
        """Has the model read the system part of the main reply templates (English) once: a local model keeps
        prompt heads cached, so the first turns after a start, arriving together, only read their own part."""
        llm = self.llm
        if llm is None:
            return
        for name in _WARM_PROMPTS:
            prompt = load_prompt(name)
            system = prompt.messages(**({key: "" for key in prompt.placeholders} | {"language": "English"}))[:1]
            try:
                llm.complete(system, max_tokens=1, temperature=0.0, timeout_s=self.generation.timeout_s)
            except Exception as exc:  # a warm-up only: the turns fall back to templates on their own
                log.warning("warming prompt %s failed: %s", name, exc)
                return

    @property
    def llm(self) -> LLM | None:
        return self._llm() if self._llm else None

    def chat(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        image: bytes | None = None,
        client: str | None = None,
    ) -> ChatResponse:
        """One turn, the whole response at once."""
        done: dict[str, Any] = {}
        for event in self.stream(message, session_id=session_id, user_id=user_id, image=image, client=client):
            if event.event == "done":
                done = event.data
        return ChatResponse.model_validate(done)

    def stream(
        self,
        message: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        image: bytes | None = None,
        client: str | None = None,
    ) -> Iterator[ChatEvent]:
        """One turn as events: products and actions as soon as they are known, reply text sentence by sentence
        (each sentence checked by the grounding guard), then `done` with the full chat response. `client` (the
        caller's IP address) is what identity attempts are limited by, beside the session and the account."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        session = self.sessions.load_or_create(session_id, user_id)
        if user_id and not session.user_id:
            session.user_id = user_id
        state = session.state
        # One PII map per conversation: a value keeps its placeholder from turn to turn, and a placeholder the
        # customer sends back ("[EMAIL_1]") stands for their own value again.
        pii_map = PiiMap(values=dict(state.pii)) if self.moderator is not None else None
        if pii_map:
            message = pii_map.restore(message)
        language = detect_language(message, default=state.language)
        state.language = language

        mark = time.perf_counter()
        verdict, redacted, image_note = self._moderate(message, user_id, session.id, image, language, pii_map)
        restore: Callable[[str], str] = pii_map.restore if pii_map is not None else _same
        timings["moderation"] = _ms(mark)

        if verdict is not None and verdict.decision == "block":
            reply = self._refusal_text(verdict, language)
            yield ChatEvent("token", {"text": reply})
            response = ChatResponse(
                session_id=session.id,
                reply=reply,
                moderation=_verdict_dict(verdict),
                intent="blocked",
                language=language,
                model_id=self._model_id(),
                latency_ms=_ms(started),
                timings_ms=timings,
            )
            self._save(session, redacted, response, pii_map=pii_map)
            yield ChatEvent("done", response.model_dump(mode="json"))
            return

        mark = time.perf_counter()
        reading = read(message, state, self._classifier)
        timings["routing"] = _ms(mark)
        if self.understanding == "model" or (self.understanding == "auto" and not reading.sure):
            mark = time.perf_counter()
            reading = self._model_reading(reading, redacted, session, restore)
            timings["understanding"] = _ms(mark)
        routed = reading.routed

        turn = Turn(
            text=message,
            redacted=redacted,
            language=language,
            session=session,
            routed=routed,
            slots=reading.slots,
            caller_user_id=user_id,
            client=client,
            timings_ms=timings,
            understanding=reading.understanding,
        )
        mark = time.perf_counter()
        draft = self.handlers[routed.intent].handle(turn)
        if routed.intent not in SERVICE_INTENTS | {Intent.CONTINUE, Intent.HANDOFF}:
            # A digression in the middle of an errand: answered on its own, then the errand's question once more.
            draft = remind(state, draft, language)
        draft = never_thrice(state, draft, language)
        timings["tools" if routed.intent in SERVICE_INTENTS | {Intent.CONTINUE, Intent.HANDOFF} else "retrieval"] = _ms(
            mark
        )

        if draft.products:
            yield ChatEvent("products", {"products": [p.model_dump(mode="json") for p in draft.products]})
        for action in draft.actions:
            yield ChatEvent("action", action.model_dump(mode="json"))

        mark = time.perf_counter()
        pieces: list[str] = []
        if image_note:
            pieces.append(image_note)
            yield ChatEvent("token", {"text": image_note})
        prompt_version: str | None = None
        first_token_ms: float | None = None
        for generated, version in self._checked_output(self._generate(draft), language):
            # The model saw masked PII ("[EMAIL_1]"); the customer gets their own values back.
            text = restore(generated)
            prompt_version = version or prompt_version
            if first_token_ms is None:
                first_token_ms = _ms(started)
            pieces.append(text)
            yield ChatEvent("token", {"text": text})
        timings["generation"] = _ms(mark)
        if first_token_ms is not None:
            timings["first_token"] = first_token_ms

        response = ChatResponse(
            session_id=session.id,
            reply="".join(pieces).strip(),
            products=draft.products,
            actions=draft.actions,
            moderation=_verdict_dict(verdict),
            handoff=draft.handoff,
            intent=routed.intent.value
            if routed.intent is not Intent.CONTINUE
            else (state.pending_intent or "continue"),
            language=language,
            prompt_version=prompt_version,
            model_id=self._model_id() if prompt_version else "none",
            latency_ms=_ms(started),
            timings_ms=timings,
        )
        self._save(session, redacted, response, routed, pii_map)
        yield ChatEvent("done", response.model_dump(mode="json"))

    # --- steps ---------------------------------------------------------------------------------------------------
    def _model_reading(self, rules: Reading, redacted: str, session: Any, restore: Callable[[str], str]) -> Reading:
        """The model's reading where the rules are not sure (or always, with `UNDERSTANDING=model`); the rules'
        reading whenever there is no model or its answer is unusable."""
        llm = self.llm
        if llm is None:
            return rules
        if self._reader is None or self._reader.llm is not llm:
            self._reader = ModelUnderstanding(llm, timeout_s=self.generation.timeout_s)
        history = self.sessions.history(session.id, budget_chars=600, max_messages=2)
        last_reply = next((m.content for m in reversed(history) if m.role == "assistant"), None)
        view = state_view(session.state, self.store, last_reply)
        understanding = self._reader.understand(redacted, view)
        if understanding is None:
            return rules
        return model_reading(restore_values(understanding, restore), rules, session.state)

    def _moderate(
        self,
        message: str,
        user_id: str | None,
        session_id: str,
        image: bytes | None,
        language: str,
        pii_map: PiiMap | None,
    ) -> tuple[Verdict | None, str, str]:
        """The verdict, the masked text (placeholders from the conversation's `pii_map`, which it extends) and a
        note about the image."""
        if self.moderator is None:
            return None, message, ""
        # The turns before this one, as the review console shows them: who said what.
        context = [m.model_dump() for m in self.sessions.history(session_id, budget_chars=600, max_messages=4)]
        verdict = self.moderator.check_text(message, user_id=user_id, source="chat", context=context, pii_map=pii_map)
        redacted = verdict.redacted_text if verdict.redacted_text is not None else message
        note = ""
        if image is not None:
            try:
                image_verdict = self.moderator.check_image(image, user_id=user_id, source="chat")
            except ValueError as exc:
                return verdict, redacted, render("image_blocked", language, reason=str(exc))
            merged = verdict.model_copy(
                update={
                    "decision": stricter(verdict.decision, image_verdict.decision),
                    "categories": {**verdict.categories, **image_verdict.categories},
                    "flags": sorted(set(verdict.flags) | set(image_verdict.flags)),
                    "review_id": verdict.review_id or image_verdict.review_id,
                }
            )
            verdict = merged
            note = render("image_received", language)
        return verdict, redacted, note

    def _generate(self, draft: Draft) -> Iterator[tuple[str, str | None]]:
        """The reply's pieces: the model's guarded sentences, or the template when there is no usable model."""
        llm = self.llm if draft.prompt else None
        if llm is None or draft.prompt is None:
            yield draft.reply, None
            return
        prompt = load_prompt(draft.prompt)
        guard = SentenceGuard(draft.facts)
        emitted = False
        budget, limit = self.generation.max_tokens, self.generation.max_tokens + self.generation.sentence_grace_tokens
        try:
            stream = llm.stream(
                prompt.messages(**draft.prompt_vars),
                max_tokens=limit,
                temperature=self.generation.temperature,
                timeout_s=self.generation.timeout_s,
            )
            count = 0
            for token in stream:
                count += 1
                guard.hold = count >= budget
                if safe := guard.feed(token):
                    emitted = emitted or bool(safe.strip())
                    yield safe, prompt.id
                if count >= budget and guard.at_sentence_end():
                    close = getattr(stream, "close", None)
                    if close is not None:
                        close()  # the budget is spent and no sentence is open: stop the model here
                    break
            if rest := guard.flush(cut=count >= limit):
                emitted = emitted or bool(rest.strip())
                yield rest, prompt.id
        except Exception as exc:  # any model failure (LLMError, timeout, a bug in a backend): answer from templates
            log.warning("generation failed with %s (%s); answering from templates", type(exc).__name__, exc)
            if emitted:  # cut off mid-reply: the template still gives every fact
                yield "\n" + draft.reply, None
                return
        if guard.report.corrected or guard.report.removed:
            log.info("grounding guard: %s", json.dumps(guard.report.notes, ensure_ascii=False))
        if not emitted:
            yield draft.reply, None
        elif draft.prompt == "shopping_reply" and draft.products:
            # The model's words sit above the cards; the list itself (exact titles and prices) always follows.
            yield "\n" + draft.reply.split("\n", 1)[-1], prompt.id
        elif draft.prompt in _CITED:
            # An answer about a product or the policy ends with the data it came from, word for word.
            yield "\n" + draft.reply, prompt.id

    def _checked_output(
        self, pieces: Iterator[tuple[str, str | None]], language: str
    ) -> Iterator[tuple[str, str | None]]:
        """The reply through the output check, sentence by sentence (model or template alike: a template quotes
        catalog text): a harmful sentence is replaced by a notice and the rest of the reply is dropped."""
        if self.moderator is None:
            yield from pieces
            return
        guard = self.moderator.stream_guard(language)
        version: str | None = None
        for text, version in pieces:
            for safe in guard.feed(text):
                yield safe, version
        for safe in guard.finish():
            yield safe, version
        if guard.stopped:
            log.warning("output check stopped the reply: %s", ",".join(guard.flags))

    def _refusal_text(self, verdict: Verdict, language: str) -> str:
        if self.refusal is not None:
            return self.refusal(verdict, language)
        return render("out_of_scope", language)

    def _model_id(self) -> str:
        llm = self.llm
        return llm.model_id if llm is not None else "none"

    def _save(
        self,
        session: Any,
        redacted: str,
        response: ChatResponse,
        routed: Routed | None = None,
        pii_map: PiiMap | None = None,
    ) -> None:
        """Stores the turn as the model and the logs may see it: the reply (which carries the customer's own values
        back) is masked again with the conversation's map, and the map is kept with the state (less payment data)."""
        reply = response.reply
        if pii_map is not None and self.moderator is not None:
            reply, _ = self.moderator.mask_pii(reply, pii_map)
            session.state.pii = pii_map.storable()  # payment data is never kept, not even encrypted
        self.sessions.save_turn(
            session,
            [
                {
                    "role": "user",
                    "content": redacted,
                    "intent": response.intent,
                    "prompt_version": None,
                    "model_id": None,
                },
                {
                    "role": "assistant",
                    "content": reply,
                    "intent": response.intent,
                    "prompt_version": response.prompt_version,
                    "model_id": response.model_id,
                },
            ],
        )
        log.info(
            "turn %s",
            json.dumps(
                {
                    "session": session.id,
                    "intent": response.intent,
                    "confidence": routed.confidence if routed else None,
                    "prompt_version": response.prompt_version,
                    "model_id": response.model_id,
                    "actions": [(a.name, a.status) for a in response.actions],
                    "latency_ms": response.latency_ms,
                    "timings_ms": response.timings_ms,
                }
            ),
        )


def _same(text: str) -> str:
    return text


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 2)


def _verdict_dict(verdict: Verdict | None) -> dict[str, Any] | None:
    return verdict.model_dump(mode="json") if verdict is not None else None
