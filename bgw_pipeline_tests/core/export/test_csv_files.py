"""The API's CSV exports: exact headers, Excel-safe text, formula injection neutralized."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest
import sqlalchemy as sa

from bgw_pipeline.core.database.schema import TABLES
from bgw_pipeline.core.export.csv_files import (
    BOM,
    csv_rows,
    neutralize_formula,
    parse_game_ids,
    write_batches_csv,
    write_games_csv,
    write_price_history_csv,
)
from bgw_pipeline.core.model.errors import InvalidRequestError, NotFoundError
from bgw_pipeline_tests.factories import insert, make_game, make_price

SEED_ROW = (
    '"550e8400-e29b-41d4-a716-446655440000","Громкое дело","Hobby Games",2990,'
    '"https://hobbygames.ru/...","2024-01-01T12:00:00Z","2024-01-15T14:30:00Z",'
    '"Экономическая стратегия про ограбление поезда",2,5,"45-60","12+","Hobby Games",2023,'
    '"Экономическая стратегия",12345'
)


def _csv(engine: sa.Engine, **kwargs: object) -> bytes:
    out = io.BytesIO()
    with engine.connect() as conn:
        write_games_csv(conn, out, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def _parse(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM)
    return list(csv.reader(io.StringIO(data[len(BOM) :].decode("utf-8"), newline="")))


def test_the_seed_documents_games_row_is_reproduced_exactly(engine: sa.Engine) -> None:
    insert(engine, "games", [make_game(
        id="550e8400-e29b-41d4-a716-446655440000", title="Громкое дело",
        url="https://hobbygames.ru/...",
        created_at=datetime(2024, 1, 1, 12, tzinfo=UTC),
        updated_at=datetime(2024, 1, 15, 14, 30, tzinfo=UTC),
        description="Экономическая стратегия про ограбление поезда",
    )])  # fmt: skip
    lines = _csv(engine).decode("utf-8-sig").split("\r\n")
    assert lines[0] == (
        "id,title,store,price,url,created_at,updated_at,description,players_min,players_max,"
        "playing_time,age,publisher,year,category,bgg_id"
    )
    assert lines[1] == SEED_ROW
    assert lines[2] == ""


def test_tricky_text_survives_and_formulas_are_neutralized(engine: sa.Engine) -> None:
    titles = ["=SUM(A1:A9)", "@cmd", "+7 чудес", 'Кавычки "и", запятые\nи перенос 🎲']
    insert(engine, "games", [make_game(title=t, description="-2+3") for t in titles])
    rows = _parse(_csv(engine))[1:]
    assert sorted(r[1] for r in rows) == sorted(
        ["'=SUM(A1:A9)", "'@cmd", "'+7 чудес", 'Кавычки "и", запятые\nи перенос 🎲']
    )
    assert {r[7] for r in rows} == {"'-2+3"}
    assert neutralize_formula("\tx") == "'\tx" and neutralize_formula("\rx") == "'\rx"
    assert neutralize_formula("обычный") == "обычный"


def test_a_batch_is_written_column_wise_with_every_rule() -> None:
    at = pa.timestamp("us", tz="UTC")
    batch = pa.RecordBatch.from_pydict(
        {
            "id": ["550e8400-e29b-41d4-a716-446655440000", None],
            "title": ['Кавычки "и",\r\nперенос', "\uff1dSUM(A1)"],
            "price": pa.array([-(2**63), None], pa.int64()),
            "players": pa.array([4, 2**31 - 1], pa.int32()),
            "in_watchlist": [True, False],
            "created_at": pa.array([datetime(2024, 1, 1, 12, tzinfo=UTC), None], at),
            "updated_at": pa.array(
                [datetime(999, 1, 2, 3, 4, 5, 120000, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC)],
                at,
            ),
            "synonyms": ['["Громкое дело","=x"]', "[]"],
        }
    )
    expected = (
        '"550e8400-e29b-41d4-a716-446655440000","Кавычки ""и"",\r\nперенос",'
        '-9223372036854775808,4,true,"2024-01-01T12:00:00Z","0999-01-02T03:04:05.12Z",'
        '"[""Громкое дело"",""=x""]"\r\n'
        'null,"\'\uff1dSUM(A1)",null,2147483647,false,null,"0001-01-01T00:00:00Z","[]"\r\n'
    ).encode("utf-8")
    assert csv_rows(batch.schema.names, batch) == expected
    out = io.BytesIO()
    assert (
        write_batches_csv(["title", "price"], [batch, batch.slice(1), batch.slice(0, 0)], out) == 3
    )
    assert out.getvalue() == BOM + (
        'title,price\r\n"Кавычки ""и"",\r\nперенос",-9223372036854775808\r\n'
        '"\'\uff1dSUM(A1)",null\r\n"\'\uff1dSUM(A1)",null\r\n'
    ).encode("utf-8")


def test_numbers_stay_numbers_and_nulls_are_written_as_null(engine: sa.Engine) -> None:
    insert(engine, "games", [make_game(price=None, bgg_id=None, year=2020)])
    line = _csv(engine).decode("utf-8-sig").split("\r\n")[1]
    cells = line.split(",")
    assert cells[3] == "null" and cells[-1] == "null" and cells[13] == "2020"


def test_selection_by_game_ids_and_injection_attempts(engine: sa.Engine) -> None:
    games = [make_game(title=f"Игра {i}") for i in range(3)]
    insert(engine, "games", games)
    picked = parse_game_ids(f" {games[0]['id'].upper()} ,{games[2]['id']},")
    rows = _parse(_csv(engine, game_ids=picked))[1:]
    assert {r[0] for r in rows} == {games[0]["id"], games[2]["id"]}
    assert parse_game_ids("") == []
    for bad in ("1; DROP TABLE games", "' OR 1=1 --", "abc"):
        with pytest.raises(InvalidRequestError, match="not a UUID"):
            parse_game_ids(bad)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(TABLES["games"])).scalar() == 3


def test_price_history_newest_first_within_the_window(engine: sa.Engine) -> None:
    game = make_game()
    now = datetime(2024, 6, 1, tzinfo=UTC)
    prices = [
        make_price(game, recorded_at=now - timedelta(days=d), price=1000 + d, previous_price=None)
        for d in (1, 10, 89, 91, 400)
    ]
    insert(engine, "games", [game])
    insert(engine, "price_history", prices)
    out = io.BytesIO()
    with engine.connect() as conn:
        assert write_price_history_csv(conn, out, game["id"], days=90, now=now) == 3
    lines = out.getvalue().decode("utf-8-sig").split("\r\n")
    assert lines[0] == "timestamp,price,previous_price,discount_pct,url,store"
    assert [line.split(",")[1] for line in lines[1:4]] == ["1001", "1010", "1089"]
    assert (
        lines[1] == '"2024-05-31T00:00:00Z",1001,null,0,"https://hobbygames.ru/game","Hobby Games"'
    )


@pytest.mark.parametrize("days", [0, 3651, -5])
def test_days_out_of_range_are_refused(engine: sa.Engine, days: int) -> None:
    with engine.connect() as conn, pytest.raises(InvalidRequestError, match="between 1 and 3650"):
        write_price_history_csv(conn, io.BytesIO(), "550e8400-e29b-41d4-a716-446655440000", days)


def test_unknown_or_invalid_game_is_refused(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        with pytest.raises(NotFoundError, match="not found"):
            write_price_history_csv(conn, io.BytesIO(), "550e8400-e29b-41d4-a716-446655440000")
        with pytest.raises(InvalidRequestError, match="not a UUID"):
            write_price_history_csv(conn, io.BytesIO(), "1 OR 1=1")


def test_the_games_csv_reads_only_its_columns_a_chunk_at_a_time(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API serves many games CSVs at once: each holds one chunk of its own columns,
    not every game with every column (synonyms, image URLs)."""
    from bgw_pipeline.core.export import csv_files

    insert(engine, "games", [make_game() for _ in range(25)])
    seen: list[tuple[int, list[str]]] = []

    def batches_of(conn: sa.Connection, ids: object) -> object:
        for batch in real(conn, ids):
            seen.append((batch.num_rows, batch.schema.names))
            yield batch

    real = csv_files._game_batches
    monkeypatch.setattr(csv_files, "API_CHUNK_ROWS", 10)
    monkeypatch.setattr(csv_files, "_game_batches", batches_of)
    whole = _parse(_csv(engine))
    assert [rows for rows, _ in seen] == [10, 10, 5]
    assert all(names == list(csv_files.GAMES_CSV_HEADER) for _, names in seen)
    assert len(whole) == 26 and len({row[0] for row in whole[1:]}) == 25
