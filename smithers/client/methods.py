"""The route methods of both clients, made from the call table (``calls.py``).

``Routes`` lists each route once, as a ``Route`` of its ``calls`` function. Read on a
``Client`` a route is a method that sends the call and returns the answer; on an
``AsyncClient`` it is a coroutine method that awaits it. Either is a real function with the
call's name, docstring and signature (``help()`` and ``inspect`` show them), made once per
client class; the types of both (the same parameters, ``T`` or ``Coroutine[..., T]``) are
checked by mypy through the overloads of ``Route.__get__``.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from types import MethodType
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, get_args, overload

from smithers.client import calls
from smithers.client.calls import Call

if TYPE_CHECKING:
    from smithers.client.async_client import AsyncClient
    from smithers.client.sync_client import Client

__all__ = ["Route", "Routes"]

P = ParamSpec("P")
T = TypeVar("T")


class Route(Generic[P, T]):
    """One route as a method of either client: ``build`` makes its ``Call``."""

    def __init__(self, build: Callable[P, Call[T]]) -> None:
        self.build = build
        self._methods: dict[type, Callable[..., Any]] = {}

    @overload
    def __get__(self, client: None, owner: type[Client]) -> Callable[Concatenate[Client, P], T]: ...
    @overload
    def __get__(
        self, client: None, owner: type[AsyncClient]
    ) -> Callable[Concatenate[AsyncClient, P], Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, client: Client, owner: type[Client]) -> Callable[P, T]: ...
    @overload
    def __get__(
        self, client: AsyncClient, owner: type[AsyncClient]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...
    def __get__(self, client: object, owner: type[Client | AsyncClient]) -> Callable[..., Any]:
        method = self._methods.get(owner)
        if method is None:
            method = self._methods[owner] = self._method_of(owner)
        return method if client is None else MethodType(method, client)

    def _method_of(self, owner: type[Client | AsyncClient]) -> Callable[..., Any]:
        """The function of this route in ``owner``: awaiting when its ``_send`` is async."""
        build = self.build
        if not inspect.iscoroutinefunction(owner._send):

            def method(client: Any, /, *args: Any, **kwargs: Any) -> Any:
                return client._send(build(*args, **kwargs))

            return _described(method, build, owner)

        async def awaiting(client: Any, /, *args: Any, **kwargs: Any) -> Any:
            return await client._send(build(*args, **kwargs))

        return _described(awaiting, build, owner)


def _described(
    method: Callable[..., Any], build: Callable[..., Any], owner: type
) -> Callable[..., Any]:
    """``method`` named, documented and signed as ``build`` is, with ``self`` first."""
    signature = inspect.signature(build, eval_str=True)
    this = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    method.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[this, *signature.parameters.values()],
        return_annotation=get_args(signature.return_annotation)[0],
    )
    method.__name__ = build.__name__
    method.__qualname__ = f"{owner.__qualname__}.{build.__name__}"
    method.__module__ = owner.__module__
    method.__doc__ = build.__doc__
    return method


class Routes:
    """One method per route of the HTTP API, for a class that defines ``_send``."""

    start_run = Route(calls.start_run)
    resume_run = Route(calls.resume_run)
    cancel_run = Route(calls.cancel_run)
    get_run = Route(calls.get_run)
    list_runs = Route(calls.list_runs)
    run_counts = Route(calls.run_counts)
    list_nodes = Route(calls.list_nodes)
    list_tool_calls = Route(calls.list_tool_calls)
    run_input = Route(calls.run_input)
    transcript = Route(calls.transcript)
    list_frames = Route(calls.list_frames)
    approve = Route(calls.approve)
    deny = Route(calls.deny)
    signal = Route(calls.signal)
    list_approvals = Route(calls.list_approvals)
    health = Route(calls.health)
    metrics = Route(calls.metrics)
