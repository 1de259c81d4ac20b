"""Peer comparisons: the same durable workloads on another engine, installed only when asked.

A peer lives in its own virtual environment under ``bench/.peers/`` (never a dependency of
the project, never in its environment); ``just bench --only peers`` creates it on first use.
"""
