"""The payloads of emote, typing and away: one parser each, shared by host and client."""
from __future__ import annotations

import pytest

from game.core import protocol as P


def test_every_emote_parses_and_others_are_unknown():
    for emote in P.EMOTES:
        assert P.parse_emote({"emote": emote}).emote == emote
    with pytest.raises(P.ProtocolError) as info:
        P.parse_emote({"emote": "Wave"})
    assert info.value.code == P.E_UNKNOWN_EMOTE and "wave" in info.value.message


@pytest.mark.parametrize("bad", [None, {}, {"emote": None}, {"emote": 1}, {"emote": ["wave"]},
                                 {"emote": "wave", "to": 1}, "wave", []])
def test_malformed_emotes_are_bad_payloads(bad):
    with pytest.raises(P.ProtocolError) as info:
        P.parse_emote(bad)
    assert info.value.code == P.E_BAD_PAYLOAD


def test_typing_names_the_peer_by_id_and_says_true_or_false():
    assert P.parse_typing({"to": 7, "typing": True}) == P.TypingRequest(7, True)
    assert P.parse_typing({"to": 7, "typing": False}).typing is False
    for bad in ({"to": 7}, {"typing": True}, {"to": "bob", "typing": True},
                {"to": 0, "typing": True}, {"to": 7, "typing": 1}, {"to": 7.0, "typing": True},
                {"to": True, "typing": True}, {"to": 7, "typing": True, "text": "x"}):
        with pytest.raises(P.ProtocolError) as info:
            P.parse_typing(bad)
        assert info.value.code == P.E_BAD_PAYLOAD, bad


def test_away_is_a_boolean():
    assert P.parse_away({"away": True}) is True and P.parse_away({"away": False}) is False
    for bad in (None, {}, {"away": 1}, {"away": "yes"}, {"away": None}, {"away": True, "x": 1}):
        with pytest.raises(P.ProtocolError):
            P.parse_away(bad)


def test_the_timings_make_sense_together():
    # A refresh comes before the receiver forgets; idle ends it before that too.
    assert P.TYPING_REFRESH_S < P.TYPING_EXPIRE_S and P.TYPING_IDLE_S < P.TYPING_EXPIRE_S
    # A client keeping to the rules stays well inside the host's limit.
    assert P.TYPING_WINDOW_S / P.TYPING_REFRESH_S * 2 <= P.TYPING_PER_WINDOW
    assert P.EMOTES_PER_WINDOW >= 1 and P.AWAY_AFTER_S >= 60
