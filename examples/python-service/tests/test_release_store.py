"""Releases on the PostgreSQL store: `compare_and_swap_all` moves (or guards) both pointers
and appends one entry in one transaction; a stale release stores nothing; releases racing
through two engines on one database have exactly one winner per round; rollback is one call
and one entry."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List, Tuple

import psycopg
import pytest
import recsys_core

from recsys_service.pgstore import PostgresStore, migrate

CTX: Dict[str, Any] = {
    "now": "2026-11-23T12:00:00Z",
    "request_id": "r",
    "principal": {"subject": "ops", "tenant": "demo", "roles": ["admin"]},
}


def engine(dsn: str) -> Tuple[recsys_core.Engine, PostgresStore]:
    store = PostgresStore(dsn)
    return recsys_core.Engine(store=store), store


def admin(e: recsys_core.Engine, op: str, request: Dict[str, Any]) -> Dict[str, Any]:
    answer: Dict[str, Any] = json.loads(e.admin_json(op, request, json.dumps(CTX)))
    return answer


def release(e: recsys_core.Engine, pop: float, block: str, **more: Any) -> Dict[str, Any]:
    rules = [{"action": "block", "item_ids": [block]}]
    return admin(e, "admin.release", {"tenant": "demo", "config": {"weights": {"pop": pop}}, "rules": rules, **more})


def test_a_release_moves_both_pointers_with_one_entry_and_rolls_back_in_one_call(clean_db: str) -> None:
    migrate(clean_db)
    e, store = engine(clean_db)
    listener = psycopg.connect(clean_db, autocommit=True)
    try:
        listener.execute("LISTEN recsys_changes")
        one = release(e, 0.2, "a")
        # The release is announced as a feed change (followers read its pins from the
        # feed) next to its pointer moves.
        heard = [json.loads(n.payload) for n in listener.notifies(timeout=2.0, stop_after=3)]
        kinds = {(h["kind"], h["revision"]) for h in heard}
        assert kinds == {(k, one["audit_id"]) for k in ("config", "rules", "artifacts")}, heard
        two = release(e, 0.3, "b", if_match=one["release_id"])
        cfg, rules = store.current("demo", "config"), store.current("demo", "rules")
        assert cfg is not None and rules is not None
        assert cfg["etag"] == two["config_version"] and rules["etag"] == two["rules_version"]
        assert cfg["revision"] == rules["revision"] == two["audit_id"]
        # A release that keeps the rules guards them: re-stamped, not moved, previous kept.
        three = admin(e, "admin.release", {"tenant": "demo", "config": {"weights": {"pop": 0.4}}})
        kept = store.current("demo", "rules")
        assert kept is not None and kept["etag"] == rules["etag"] and kept["previous"] == rules["previous"]
        assert kept["revision"] == three["audit_id"]
        # A stale If-Match stores nothing.
        with pytest.raises(recsys_core.RecsysError) as err:
            release(e, 0.5, "c", if_match=one["release_id"])
        assert err.value.code == "RECSYS_VERSION_MISMATCH"
        assert store.revision("demo") == three["audit_id"]
        back = admin(e, "admin.rollback_release", {"tenant": "demo", "to": one["release_id"]})
        assert back["release_id"] == one["release_id"]
        cfg = store.current("demo", "config")
        assert cfg is not None and cfg["etag"] == one["config_version"]
        actions = [c["action"] for c in store.changes_since("demo", 0, 10)]
        assert actions == ["release.publish"] * 3 + ["release.rollback"]
        assert admin(e, "admin.verify_audit", {"tenant": "demo"})["ok"] is True
    finally:
        listener.close()
        store.close()


def test_releases_racing_through_two_engines_have_one_winner_and_store_nothing_partial(clean_db: str) -> None:
    migrate(clean_db)
    (a, sa), (b, sb) = engine(clean_db), engine(clean_db)
    try:
        release(a, 0.1, "seed")
        wins: List[int] = []
        errors: List[str] = []

        def writer(e: recsys_core.Engine, t: int) -> None:
            won = 0
            for i in range(6):
                cur = admin(e, "admin.get_release", {"tenant": "demo"})
                try:
                    release(e, float(f"0.{t}{i}1"), f"sku-{t}-{i}", if_match=cur["release_id"])
                    won += 1
                except recsys_core.RecsysError as err:
                    if err.code != "RECSYS_VERSION_MISMATCH":
                        errors.append(f"{err.code}: {err}")
            wins.append(won)

        threads = [threading.Thread(target=writer, args=(a if t % 2 == 0 else b, t)) for t in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors, errors
        assert sum(wins) > 0
        changes = sa.changes_since("demo", 0, 1000)
        assert len(changes) == 1 + sum(wins), "one entry per winning release, none for a refused one"
        text = changes[-1]["after_state"]
        assert text is not None
        after = json.loads(text)
        cfg, rules = sb.current("demo", "config"), sb.current("demo", "rules")
        assert cfg is not None and rules is not None
        assert (cfg["etag"], rules["etag"]) == (after["config_version"], after["rules_version"])
        assert cfg["revision"] == rules["revision"] == changes[-1]["id"]
        assert admin(b, "admin.verify_audit", {"tenant": "demo"})["ok"] is True
    finally:
        sa.close()
        sb.close()
