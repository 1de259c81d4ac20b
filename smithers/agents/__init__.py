"""Agents as workflow steps: ``Task(id, agent=OpenAIAgent(...), prompt=..., output=Struct)``;
see docs/agents.md."""

from smithers.agents.anthropic import AnthropicAgent
from smithers.agents.cli import ClaudeCodeAgent, CodexAgent, GeminiCliAgent
from smithers.agents.openai import OpenAIAgent
from smithers.agents.prompts import Prompt

__all__ = [
    "AnthropicAgent",
    "ClaudeCodeAgent",
    "CodexAgent",
    "GeminiCliAgent",
    "OpenAIAgent",
    "Prompt",
]
