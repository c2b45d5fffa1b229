"""Tool adapters the agent acts through.

A tool action is a typed function plus a declared `ToolSpec` (description, pydantic
argument model, capability). Actions never check permissions themselves: they describe
their effect (`ToolSpec.effect`) and the agent's executor asks the policy before `run`.
"""
