"""curves.json's reading of the store: each row once, in pages, after the cursor it gave."""

from __future__ import annotations

from pathlib import Path

import pytest

from gym_gui_bridge.protocol.records import EpisodeRollup, ScalarRecord
from gym_gui_bridge.store.schema import open_writer
from gym_gui_bridge.store.writes import write_batch
from gym_gui_bridge.web.curves import Cursor, curves_after, parse_cursor


def _episode(run_id: str, slot: int, episode: int) -> EpisodeRollup:
    return EpisodeRollup(
        run_id, slot, "default", episode, 1.0, episode, float(episode), 5, True, False, 0, 0.1
    )


def _store(path: Path, run_id: str, episodes: int, scalars: int) -> None:
    conn = open_writer(str(path))
    records = [_episode(run_id, 0, e) for e in range(episodes)]
    records += [_episode("another-run", 0, e) for e in range(3)]
    records += [
        ScalarRecord(run_id, -1, "default", s, 1.0, "loss", s / 2, s) for s in range(scalars)
    ]
    write_batch(conn, records)
    conn.close()


def test_pages_give_every_row_once_and_stop_at_the_end(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    _store(db, "r", episodes=7, scalars=4)
    seen_episodes: list[int] = []
    seen_scalars: list[int] = []
    cursor, pages = Cursor(), 0
    while True:
        answer = curves_after(str(db), "r", cursor, page_rows=3)
        pages += 1
        seen_episodes += [e[1] for e in answer["episodes"]]
        seen_scalars += [s[1] for s in answer["scalars"]]
        cursor = parse_cursor(answer["cursor"])
        if not answer["more"]:
            break
    assert seen_episodes == list(range(7)) and seen_scalars == list(range(4))
    assert pages == 3  # 3 + 3 + 1 episodes
    assert answer["run_id"] == "r"
    again = curves_after(str(db), "r", cursor, page_rows=3)
    assert (again["episodes"], again["scalars"], again["more"]) == ([], [], False)


def test_rows_stored_after_the_cursor_come_next(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    _store(db, "r", episodes=2, scalars=0)
    first = curves_after(str(db), "r", Cursor(), page_rows=100)
    conn = open_writer(str(db))
    write_batch(conn, [_episode("r", 1, 0)])
    conn.close()
    later = curves_after(str(db), "r", parse_cursor(first["cursor"]), page_rows=100)
    assert later["episodes"] == [[1, 0, 0.0, 5, 1.0]]


@pytest.mark.parametrize("text", ["1", "a.b", "1.2.3", "-1.0", "1.-2"])
def test_a_cursor_that_no_answer_gave_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"Expected after=E\.S"):
        parse_cursor(text)
