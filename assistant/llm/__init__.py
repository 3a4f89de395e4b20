"""LLM backends behind one streaming interface (`LLM`), built from a spec by `make_llm`."""

from assistant.llm.base import LLM, LLMError, LLMTimeout, Messages
from assistant.llm.factory import SPEC_HELP, make_llm

__all__ = ["LLM", "SPEC_HELP", "LLMError", "LLMTimeout", "Messages", "make_llm"]
