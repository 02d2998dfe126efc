"""Input and output shapes of the identity calls (spec §14)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from segops_server.core.ids import UserIdField, anonymous_id_parse, named_user_id_parse, user_id_parse


class AliasSerializer(serializers.Serializer[Any]):
    anonymous_id = UserIdField(parse=anonymous_id_parse)
    user_id = UserIdField(parse=named_user_id_parse)


class AliasResultSerializer(serializers.Serializer[Any]):
    aliased = serializers.BooleanField()
    user_id = serializers.CharField(help_text="The id the anonymous id resolves to now.")


class MergeSerializer(serializers.Serializer[Any]):
    from_user_id = UserIdField(parse=user_id_parse)
    into_user_id = UserIdField(parse=user_id_parse)


class MergeResultSerializer(serializers.Serializer[Any]):
    merged = serializers.BooleanField()
    from_user_id = serializers.CharField()
    into_user_id = serializers.CharField()
    user_id = serializers.CharField(
        help_text="The id from_user_id's events now count for: into_user_id, or where it was merged."
    )
