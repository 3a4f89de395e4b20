"""The conversation: routing, slots, references, grounding, answering strategies and the turn pipeline."""
