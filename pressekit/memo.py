"""`memoized`: a value computed on first read and kept on the instance."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class memoized(Generic[T]):  # noqa: N801 - used like functools.cached_property
    """functools.cached_property without its lock: Python 3.11 takes an RLock on every first read, a third
    of the cost of the digests of 10,000 releases and their teasers. The values are computed in one thread
    (a second computation would give the same value), and kept in the instance's __dict__ (frozen
    dataclasses too), where later reads find them without calling this descriptor."""

    def __init__(self, func: Callable[[Any], T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, instance: None, owner: type) -> memoized[T]: ...

    @overload
    def __get__(self, instance: object, owner: type) -> T: ...

    def __get__(self, instance: object | None, owner: type) -> memoized[T] | T:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value
