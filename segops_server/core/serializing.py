"""Typed helpers around DRF serializers."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from rest_framework import serializers

_Row = TypeVar("_Row")


def many_data(serializer: type[serializers.Serializer[_Row]], rows: Iterable[_Row]) -> Any:
    """`serializer(rows, many=True).data`, with the rows checked against what the serializer shows
    (the stubs type a serializer's instance as one object, so `many=True` cannot be checked)."""
    # many_init is what DRF's Serializer.__new__ calls for many=True.
    return serializer.many_init(rows).data
