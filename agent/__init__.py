"""The headless engine: settings, the agent loop, the executor, the permission policy and the journal."""
