"""What one customer message asks for, as typed commands.

Understanding (rules where they are sure, a model under this JSON schema otherwise) turns a message and a compact
view of the conversation into a list of commands; the dialogue manager carries them out under the store's policy.
Commands carry what the customer *said* (an order id, an item as described, a new value), never a decision: whether
an order can be cancelled or an item exchanged is decided by the store's code.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter

Errand = Literal["order_status", "cancel", "modify", "return", "exchange", "address_change"]
Slot = Literal[
    "email",
    "first_name",
    "last_name",
    "zip",
    "order_id",
    "item",  # an item of an order, as the customer describes it ("the blue lamp")
    "new_option",  # what an item should become ("size L", "the black one")
    "reason",
    "payment",  # a payment method as described ("the visa ending 1234", "paypal", "original")
    "address",  # a full address as written
]
InfoTopic = Literal[
    "list_orders",  # which orders do I have (optionally: with a product, in a status)
    "order_details",  # items, status, total, tracking
    "order_address",
    "order_payment",
    "refund_destination",  # where a refund or price difference goes
    "payment_methods",
    "default_address",
    "variants",  # a product's options with price and availability ("is it in blue?", "a size larger")
    "policy_limit",  # what the policy allows for this errand (one exchange per order, modify once, ...)
]
ShoppingAct = Literal["product_search", "refine", "compare", "product_question", "recommendation", "policy_question"]


class StartErrand(BaseModel):
    """Begin a store errand; several in one message queue up in the order given ("cancel A and return B")."""

    kind: Literal["start_errand"] = "start_errand"
    errand: Errand
    order_id: str | None = None  # "#W1234567" as written, normalised
    items: list[str] = Field(default_factory=list)  # the items as described ("the puzzle", "both lamps")


class SetSlot(BaseModel):
    """A value for the errand in progress; `correction` when it replaces one given before ("sorry, I meant...")."""

    kind: Literal["set_slot"] = "set_slot"
    slot: Slot
    value: str
    correction: bool = False


class AskInfo(BaseModel):
    """A question about the customer's own data or the policy, answered from the store; the errand then resumes."""

    kind: Literal["ask_info"] = "ask_info"
    topic: InfoTopic
    order_id: str | None = None
    about: str | None = None  # a product or item as described, a status ("the delivered one"), an option


class Confirm(BaseModel):
    kind: Literal["confirm"] = "confirm"


class Deny(BaseModel):
    """ "No" to the proposal on the table: nothing changes, the errand stays open for a correction."""

    kind: Literal["deny"] = "deny"


class CancelErrand(BaseModel):
    """ "Never mind", "start over", "forget it": the errand in progress ends without any change."""

    kind: Literal["cancel_errand"] = "cancel_errand"


class Clarify(BaseModel):
    """The customer asks what we meant, or the message cannot be understood: ask back with choices."""

    kind: Literal["clarify"] = "clarify"
    question: str = ""


class Handoff(BaseModel):
    kind: Literal["handoff"] = "handoff"
    reason: str = ""


class ChitChat(BaseModel):
    kind: Literal["chit_chat"] = "chit_chat"
    act: Literal["greeting", "thanks", "goodbye", "other"] = "other"


class Shop(BaseModel):
    """A shopping or policy question, answered by retrieval over the catalog or the policy text."""

    kind: Literal["shop"] = "shop"
    act: ShoppingAct
    query: str


class OutOfScope(BaseModel):
    kind: Literal["out_of_scope"] = "out_of_scope"


Command = Annotated[
    StartErrand | SetSlot | AskInfo | Confirm | Deny | CancelErrand | Clarify | Handoff | ChitChat | Shop | OutOfScope,
    Field(discriminator="kind"),
]


class Understanding(BaseModel):
    """A message's commands in the order the customer gave them, and who produced them (for the logs and evals)."""

    commands: list[Command] = Field(default_factory=list)
    source: Literal["rules", "model"] = "rules"


COMMANDS = TypeAdapter(list[Command])


def json_schema() -> dict[str, object]:
    """The schema a model's output is constrained to (llama.cpp grammar, JSON-schema output, tool arguments)."""
    return Understanding.model_json_schema()
