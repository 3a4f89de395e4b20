"""The agenda: errands asked for together ("cancel #W1 and #W2", "return X and exchange Y") wait their turn; each
is proposed and confirmed on its own, one store action per errand, and every reply says what comes next."""

from __future__ import annotations

from assistant.dialogue.commands import StartErrand
from assistant.dialogue.templates import render
from assistant.sessions import DialogueState, QueuedErrand


def plan(state: DialogueState, starts: list[StartErrand], text: str) -> StartErrand | None:
    """The errand to do now; the others queue up behind the agenda (an errand already queued is not added twice)."""
    if not starts:
        return None
    first, *rest = _merged(starts)
    for start in rest:
        queued = QueuedErrand(errand=start.errand, order_id=start.order_id, items=start.items, text=text)
        if queued not in state.agenda:
            state.agenda.append(queued)
    return first


def _merged(starts: list[StartErrand]) -> list[StartErrand]:
    """Errands of the same kind on the same order are one errand (one return call with all its items)."""
    merged: list[StartErrand] = []
    for start in starts:
        same = next((m for m in merged if (m.errand, m.order_id) == (start.errand, start.order_id)), None)
        if same is None:
            merged.append(start.model_copy(deep=True))
        else:
            same.items += [i for i in start.items if i not in same.items]
    return merged


def next_errand(state: DialogueState) -> QueuedErrand | None:
    return state.agenda.pop(0) if state.agenda else None


def describe(errand: QueuedErrand | StartErrand, language: str) -> str:
    if not errand.order_id:
        # Its order is asked for when its turn comes; an empty order id is never shown.
        return render(f"errand_{errand.errand}_some", language)
    return render(f"errand_{errand.errand}", language, order_id=errand.order_id)


def upcoming(state: DialogueState, language: str) -> str:
    """ "After this: cancel order #W2." — empty when nothing waits."""
    if not state.agenda:
        return ""
    sep = "；" if language == "zh" else "; "
    return render("queued", language, errands=sep.join(describe(e, language) for e in state.agenda))
