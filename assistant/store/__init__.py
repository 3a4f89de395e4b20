"""The store: customers, orders and product types under the store's policy, with typed tools and an audit log."""

from assistant.store.db import StoreDB
from assistant.store.importer import StoreFormatError, StoreImportResult, import_store
from assistant.store.policy import PolicyError
from assistant.store.tools import ActionResult, HandoffTicket, Proposal, StoreTools

__all__ = [
    "ActionResult",
    "HandoffTicket",
    "PolicyError",
    "Proposal",
    "StoreDB",
    "StoreFormatError",
    "StoreImportResult",
    "StoreTools",
    "import_store",
]
