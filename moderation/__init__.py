"""Text and image moderation, PII masking, policy and the review queue.

Never imports `assistant` or `ui`: data flows ui -> assistant -> moderation.
"""
