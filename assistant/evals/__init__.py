"""Evaluation suites, one module per suite; each writes its report with `assistant.evals.report`."""
