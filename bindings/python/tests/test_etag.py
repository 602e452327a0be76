"""ETag and canonical-text reference vectors (service spec, section 4.2)."""

from __future__ import annotations

import json

import pytest

import recsys_core
from recsys_core import JsonError, RecsysError

VECTORS = [
    (
        '{"weights":{"pop":0.7,"cooc":0.3}}',
        '{"weights": {"pop": 0.7, "cooc": 0.3}}',
        "dfcdd8e7a983874ea92e6b4a1772c69b2f43d48eda1f4e5d5219966949d9bc73",
    ),
    (
        '{"weights":{"pop":1,"cooc":0,"emb":0},"algo":"popularity","flags":{"beta":true}}',
        '{"algo": "popularity", "flags": {"beta": true}, "weights": {"emb": 0, "pop": 1, "cooc": 0}}',
        "6544371c28a72fdcb30698deaab55840dfe8a6a59f979de0afb0485cfc55fe97",
    ),
    (
        '[{"action":"pin","target_type":"item","item_ids":["item_1","item_2"],'
        '"surface":"home","priority":10}]',
        '[{"action": "pin", "surface": "home", "item_ids": ["item_1", "item_2"], '
        '"priority": 10, "target_type": "item"}]',
        "db5729dd18989279309f040b154c8a28f561cdfba1a4258fee58791499fe77a3",
    ),
    (
        '{"rules":[{"action":"block","tag":"Adult"}]}',
        '{"rules": [{"tag": "Adult", "action": "block"}]}',
        "a415b557cd4e1fd5e562f9a152f20f6f413d587224c7667f1614ba5c19061eeb",
    ),
    ("{}", "{}", "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"),
    ("[]", "[]", "4f53cda18c2baa0c0354bb5f9a3ecbe5ed12ab4d8e11ba873c2f11161202b945"),
    (
        '{"n":[1.0,1e2,-0.0,0.000001,1E-7,123456789012345678901234567890]}',
        '{"n": [1.0, 100, 0.0, 0.000001, 0.0000001, 123456789012345678901234567890]}',
        "59740d8d86609441e1562d48334ee7edaa806068e5256c1541cfebfba5103057",
    ),
    ('{"a":1,"a":2}', '{"a": 2}', None),
    ('{"é":1,"z":2,"ab":3,"B":4}', '{"B": 4, "z": 2, "ab": 3, "é": 1}', None),
]


@pytest.mark.parametrize("doc,canonical,tag", VECTORS)
def test_vectors_from_str_and_bytes(doc: str, canonical: str, tag: str | None) -> None:
    assert recsys_core.canonicalize(doc) == canonical
    assert recsys_core.canonicalize(doc.encode()) == canonical
    assert recsys_core.canonicalize(bytearray(doc.encode())) == canonical
    got = recsys_core.etag(doc)
    assert got == recsys_core.etag(doc.encode())
    assert len(got) == 64 and got == got.lower()
    if tag is not None:
        assert got == tag


@pytest.mark.parametrize("doc,canonical,tag", VECTORS)
def test_static_op_agrees_with_functions(doc: str, canonical: str, tag: str | None) -> None:
    answer = json.loads(recsys_core.call_static("etag", doc))
    assert answer == {"etag": recsys_core.etag(doc), "canonical": canonical}
    # The stateless ops are reachable through an engine too.
    assert recsys_core.Engine().call("canonicalize", doc) == recsys_core.call_static("canonicalize", doc)


def test_literal_scale_changes_the_etag() -> None:
    assert recsys_core.etag('{"w":0.3}') != recsys_core.etag('{"w":0.30}')
    assert recsys_core.etag('{"w":1e2}') == recsys_core.etag('{"w":100}')


def test_invalid_utf8_bytes_raise_a_json_error() -> None:
    with pytest.raises(JsonError) as info:
        recsys_core.etag(b'{"a":"\xff"}')
    assert info.value.code.startswith("RECSYS_JSON_")
    assert info.value.status == 400


def test_nul_character_is_rejected() -> None:
    with pytest.raises(RecsysError) as info:
        recsys_core.canonicalize('{"a":"\\u0000"}')
    assert info.value.code.startswith("RECSYS_JSON_")


def test_wrong_argument_type_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        recsys_core.etag(42)  # type: ignore[arg-type]
