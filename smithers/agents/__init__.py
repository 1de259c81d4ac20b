"""Agents as workflow steps: ``Task(id, agent=OpenAIAgent(...), prompt=..., output=Struct)``;
see docs/agents.md. Every agent is an ``Agent`` (``smithers.agents.base``)."""

from smithers.agents.anthropic import AnthropicAgent
from smithers.agents.base import Agent
from smithers.agents.claude_code import ClaudeCodeAgent
from smithers.agents.codex import CodexAgent
from smithers.agents.gemini_cli import GeminiCliAgent
from smithers.agents.openai import OpenAIAgent
from smithers.agents.prompts import Prompt

__all__ = [
    "Agent",
    "AnthropicAgent",
    "ClaudeCodeAgent",
    "CodexAgent",
    "GeminiCliAgent",
    "OpenAIAgent",
    "Prompt",
]
