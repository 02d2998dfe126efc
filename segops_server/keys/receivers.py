"""Any change to any API key drops every process's cached keys once it commits."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from segops_server.keys import cache as key_cache
from segops_server.keys.models import ApiKey


@receiver(post_save, sender=ApiKey)
@receiver(post_delete, sender=ApiKey)
def _key_changed(sender: Any, instance: ApiKey, **kwargs: Any) -> None:
    if key_cache.enabled():
        transaction.on_commit(key_cache.epoch_bump)
