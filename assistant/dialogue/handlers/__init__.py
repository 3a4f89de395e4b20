"""One class per answering strategy."""
