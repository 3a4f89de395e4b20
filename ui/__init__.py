"""The ways in: Gradio chat, the widget and its HTTP API, the review console."""
