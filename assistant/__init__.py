"""commerce-assistant: dialogue engine, LLM backends, store tools, sessions, config and CLI."""

__version__ = "0.1.0"
