"""The conversation key: one name for the conversation between two players,
used for the stored messages and for the live room alike."""
from __future__ import annotations

from game.core.protocol import conversation_key
from server import storage
from server.live import conversation_room


def test_the_key_is_the_same_whoever_sends():
    assert conversation_key(3, 7) == conversation_key(7, 3) == "3:7"


def test_ids_are_ordered_as_numbers_not_as_text():
    assert conversation_key(10, 9) == "9:10"
    assert conversation_key(1, 23) != conversation_key(12, 3)


def test_the_stored_pair_and_the_live_room_are_named_by_the_key():
    assert storage.pair_key(7, 3) == conversation_key(3, 7)
    assert conversation_room(7, 3) == conversation_room(3, 7) == "dm:" + conversation_key(3, 7)
