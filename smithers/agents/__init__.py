"""Agents as workflow steps: ``Task(id, agent=OpenAIAgent(...), prompt=..., output=Struct)``;
see docs/agents.md."""

from smithers.agents.anthropic import AnthropicAgent
from smithers.agents.openai import OpenAIAgent

__all__ = ["AnthropicAgent", "OpenAIAgent"]
