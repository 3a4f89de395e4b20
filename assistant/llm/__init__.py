"""LLM backends behind one streaming interface (`LLM`), built from a spec by `make_llm`."""

import os

# llama.cpp's CPU backend runs on OpenMP (libgomp), which reads this when llama_cpp is first imported. Its default
# spin-waiting made decoding 10-30x slower on a busy 2-core machine (measured: 14 tokens in 19-45 s against 1.9 s
# with passive waiting); passive waiting costs nothing measurable when the cores are idle.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


from assistant.llm.base import LLM, LLMError, LLMTimeout, Messages
from assistant.llm.factory import SPEC_HELP, make_llm

__all__ = ["LLM", "SPEC_HELP", "LLMError", "LLMTimeout", "Messages", "make_llm"]
