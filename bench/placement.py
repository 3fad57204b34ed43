"""Placement of accounts into territories at scale: 100,000 accounts into 500 territories.

``python -m bench.placement [--db sqlite|postgresql|both] [--accounts N] [--territories N]``
builds a fresh database, 500 overlapping polygon territories over Europe (through the service,
so their areas and change-log rows are real) and 100,000 located accounts (bulk-inserted), then
times ``place_all_accounts`` placing every account and writing the moves (new versions and
change-log rows), and a second run that moves nothing. Writes ``bench/results/placement.md``.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, insert, select

from bench.common import fresh_database, machine, make_app, table
from fieldsync.auth.actor import Actor
from fieldsync.auth.service import create_organisation
from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.service import create_territory, place_all_accounts
from fieldsync.portfolio.models import Account
from fieldsync.web import AUTH_SETTINGS_KEY

RESULTS = Path(__file__).with_name("results") / "placement.md"


def _square(lon: float, lat: float, size: float) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


def run_one(kind: str, accounts: int, territories: int) -> dict[str, float]:
    rng = random.Random(7)
    with fresh_database(kind) as url:
        app = make_app(url)
        with app.app_context():
            with unit_of_work(db.session):
                org, admin = create_organisation(
                    db.session, app.extensions[AUTH_SETTINGS_KEY], name="Bench",
                    admin_email=f"bench-{uuid.uuid4().hex[:6]}@bench.test",
                    admin_password="bench-password",
                )  # fmt: skip
            actor = Actor(user_id=admin.id, org_id=org.id, role="admin")
            with unit_of_work(db.session):
                for index in range(territories):  # a 25 x 20 grid of 1.5° cells, overlapping
                    lon = -9 + (index % 25) * 1.2
                    lat = 36 + (index // 25) * 1.0
                    create_territory(db.session, actor=actor, data={
                        "name": f"T{index:03d}", "geometry": _square(lon, lat, 1.5)})  # fmt: skip
            now = datetime.now(UTC)
            rows = [
                {"id": uuid.uuid4(), "org_id": org.id, "version": 1, "kind": "company",
                 "status": "customer", "name": f"Account {i}", "lat": rng.uniform(36, 57),
                 "lon": rng.uniform(-9, 22), "created_at": now, "updated_at": now}
                for i in range(accounts)
            ]  # fmt: skip
            with unit_of_work(db.session):
                for start in range(0, len(rows), 10_000):
                    db.session.execute(insert(Account), rows[start : start + 10_000])
            started = time.perf_counter()
            with unit_of_work(db.session):
                moved = place_all_accounts(db.session, org.id)
            first = time.perf_counter() - started
            started = time.perf_counter()
            with unit_of_work(db.session):
                moved_again = place_all_accounts(db.session, org.id)
            second = time.perf_counter() - started
            placed = db.session.execute(
                select(func.count()).where(Account.territory_id.is_not(None))
            ).scalar_one()
            db.engine.dispose()
    return {"first_s": first, "moved": moved, "second_s": second, "moved_again": moved_again,
            "placed": placed}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.placement", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--territories", type=int, default=500)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    lines = []
    for kind in kinds:
        result = run_one(kind, args.accounts, args.territories)
        lines.append([
            kind, f"{args.accounts:,}", str(args.territories), f"{result['first_s']:.2f}",
            f"{result['moved']:,}", f"{result['second_s']:.2f}", f"{result['placed']:,}",
        ])  # fmt: skip
    headers = ["database", "accounts", "territories", "place all (s)", "moved",
               "re-run (s)", "placed"]  # fmt: skip
    report = table(headers, lines)
    print(report)
    if not args.no_write:
        info = machine()
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(
            "# Placement of accounts into territories\n\n"
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `python -m bench.placement"
            f" --db {args.db}` on "
            + ", ".join(f"{k} {v}" for k, v in info.items())
            + ".\n\nGoal: 100,000 accounts into 500 territories in "
            "under 5 s. `place all` places every account (all move: new versions and change-log "
            "rows written in bulk); `re-run` checks everything again and moves nothing.\n\n"
            + report
            + "\n"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
