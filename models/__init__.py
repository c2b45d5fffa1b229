"""Language model backends behind one protocol (`models.base.ChatModel`).

Nothing here knows about tools or the agent loop: a backend takes messages and a JSON
schema and returns text that satisfies the schema, plus what it cost.
"""
