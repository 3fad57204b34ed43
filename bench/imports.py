"""Client files in and out at scale: ``python -m bench.imports [--rows N] [--db ...]``.

Generates an XLSX of N rows (default 100,000) with realistic mixed-language values (Italian,
French, Spanish and German companies; phone numbers, amounts and country names written the
local way; a contact per row), imports it with the real command (``fieldsync import accounts``
in a child process, so its peak RSS is the importer's own), imports it again (every row a
duplicate: the update path), then exports every account to CSV in-process. Writes
``bench/results/imports.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook

from bench.common import (
    BENCH_SETTINGS,
    BIN,
    PASSWORD,
    _children,
    _status_kb,
    fresh_database,
    machine,
    make_app,
    table,
)

RESULTS = Path(__file__).with_name("results") / "imports.md"
MARKER = "<!-- Everything below this line is kept when the benchmark rewrites this file. -->"
GOALS = {"import_s": 90.0, "import_rss_mb": 500.0, "export_s": 15.0}

# Per country: header-independent values written the way that country writes them.
COUNTRIES: dict[str, dict[str, Any]] = {
    "IT": {
        "country": ["Italia", "IT", "Italy", "italia"],
        "cities": [("Milano", "201"), ("Roma", "001"), ("Torino", "101"), ("Bologna", "401")],
        "streets": ["Via Roma", "Corso Italia", "Via Garibaldi", "Piazza Duomo"],
        "forms": ["S.r.l.", "S.p.A.", "S.n.c."],
        "names": ["Rossi", "Bianchi", "Colombo", "Ferrari", "Esposito"],
        "first": ["Giulia", "Marco", "Francesca", "Luca"],
        "phone": lambda r: f"0{r.randint(2, 9)} {r.randint(1000, 9999)} {r.randint(1000, 9999)}",
        "status": ["cliente", "prospect", "potenziale", "lead", "inattivo"],
        "amount": lambda v: f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
        "vat": lambda r: f"IT{r.randint(10**10, 10**11 - 1)}",
    },
    "FR": {
        "country": ["France", "FR", "Frankreich", "francia"],
        "cities": [("Paris", "750"), ("Lyon", "690"), ("Marseille", "130"), ("Lille", "590")],
        "streets": ["Rue de la Paix", "Avenue Victor Hugo", "Boulevard Voltaire"],
        "forms": ["SARL", "SAS", "SA"],
        "names": ["Martin", "Bernard", "Dubois", "Durand", "Lefèvre"],
        "first": ["Camille", "Léa", "Hugo", "Chloé"],
        "phone": lambda r: (
            f"0{r.randint(1, 5)} {r.randint(10, 99)} {r.randint(10, 99)} "
            f"{r.randint(10, 99)} {r.randint(10, 99)}"
        ),
        "status": ["client", "prospect", "client potentiel", "inactif"],
        "amount": lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","),
        "vat": lambda r: f"FR{r.randint(10, 99)}{r.randint(10**8, 10**9 - 1)}",
    },
    "ES": {
        "country": ["España", "ES", "Spagna", "Spain"],
        "cities": [("Madrid", "280"), ("Barcelona", "080"), ("Valencia", "460")],
        "streets": ["Calle Mayor", "Avenida de la Constitución", "Paseo de Gracia"],
        "forms": ["S.L.", "S.A."],
        "names": ["García", "Fernández", "González", "Rodríguez", "López"],
        "first": ["Lucía", "Javier", "Carmen", "Álvaro"],
        "phone": lambda r: f"9{r.randint(10, 99)} {r.randint(100, 999)} {r.randint(100, 999)}",
        "status": ["cliente", "cliente potencial", "prospecto", "inactivo"],
        "amount": lambda v: f"{v:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
        "vat": lambda r: f"ES{r.choice('ABCDEFGH')}{r.randint(10**7, 10**8 - 1)}",
    },
    "DE": {
        "country": ["Deutschland", "DE", "Germany", "Germania"],
        "cities": [("Berlin", "101"), ("München", "803"), ("Hamburg", "203"), ("Köln", "506")],
        "streets": ["Hauptstraße", "Bahnhofstraße", "Schillerstraße", "Goethestraße"],
        "forms": ["GmbH", "AG", "KG"],
        "names": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber"],
        "first": ["Lena", "Jonas", "Anna", "Lukas"],
        "phone": lambda r: f"0{r.randint(30, 89)} {r.randint(100000, 9999999)}",
        "status": ["Kunde", "Interessent", "Lead", "inaktiv"],
        "amount": lambda v: f"{v:,.2f}",
        "vat": lambda r: f"DE{r.randint(10**8, 10**9 - 1)}",
    },
}
HEADERS = [
    "Ragione sociale", "Partita IVA", "Indirizzo", "CAP", "Città", "Paese", "Telefono",
    "E-mail", "Stato", "Fatturato", "Dipendenti", "Referente", "Email referente",
    "Telefono referente",
]  # fmt: skip


def write_file(path: Path, rows: int, seed: int = 11) -> None:
    """An XLSX of ``rows`` clients, written in openpyxl's streaming mode."""
    rng = random.Random(seed)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Clienti")
    sheet.append(HEADERS)
    codes = list(COUNTRIES)
    for i in range(rows):
        code = codes[i % len(codes)]
        c = COUNTRIES[code]
        city, prefix = rng.choice(c["cities"])
        family, first = rng.choice(c["names"]), rng.choice(c["first"])
        company = f"{family} {rng.choice(c['names'])} {i} {rng.choice(c['forms'])}"
        revenue = rng.uniform(50_000, 20_000_000)
        slug = f"c{i}"
        sheet.append([
            company, c["vat"](rng), f"{rng.choice(c['streets'])} {rng.randint(1, 200)}",
            f"{prefix}{rng.randint(10, 99)}", city, rng.choice(c["country"]), c["phone"](rng),
            f"info@{slug}.example" if rng.random() < 0.8 else None, rng.choice(c["status"]),
            c["amount"](revenue) if rng.random() < 0.7 else round(revenue, 2),
            rng.randint(1, 500), f"{first} {family}", f"{first.lower()}@{slug}.example",
            c["phone"](rng),
        ])  # fmt: skip
    workbook.save(path)


def _import(url: str, path: Path, org_id: str) -> dict[str, Any]:
    """Run the real command in a child process; its wall time and peak RSS."""
    env = {**os.environ, "FIELDSYNC_DATABASE_URL": url, "FIELDSYNC_LOG_LEVEL": "WARNING"}
    command = [str(BIN / "fieldsync"), "import", "accounts", str(path), "--org", org_id]
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # The command reads the file in a child process of its own: sample the RSS of both and
    # keep the peak of their sum (wait4's ru_maxrss would give the larger one only).
    peak_kb = importer_kb = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        with contextlib.suppress(OSError):
            own = _status_kb(process.pid, "VmRSS")
            reader = sum(_status_kb(p, "VmRSS") for p in _children(process.pid))
            peak_kb, importer_kb = max(peak_kb, own + reader), max(importer_kb, own)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    out, err = process.communicate()
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError(f"import failed: {err.decode()[-2000:]}")
    cpu = usage.ru_utime + usage.ru_stime  # the command and its reaped reader process
    report = json.loads(out.decode().strip().splitlines()[-1])
    return {
        "seconds": seconds,
        "cpu_s": cpu,
        "peak_rss_mb": peak_kb / 1024,
        "importer_rss_mb": importer_kb / 1024,
        "report": report,
    }


def _export(app: Any, org_id: str) -> dict[str, Any]:
    import uuid

    from sqlalchemy import select

    from fieldsync.auth.actor import Actor
    from fieldsync.auth.models import User
    from fieldsync.extensions import db
    from fieldsync.imports.export import export_accounts

    with app.app_context():
        admin = db.session.execute(
            select(User).where(User.org_id == uuid.UUID(org_id), User.role == "admin")
        ).scalar_one()
        actor = Actor(user_id=admin.id, org_id=admin.org_id, role="admin")
        started, cpu = time.perf_counter(), time.process_time()
        size = lines = 0
        for piece in export_accounts(db.session, actor=actor, filters={}, fmt="csv"):
            size += len(piece)
            lines += piece.count(b"\n")
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        db.session.rollback()
    return {"seconds": seconds, "cpu_s": cpu, "mb": size / 1e6, "rows": lines - 1}


def run_one(kind: str, rows: int, path: Path, log: Any = print) -> dict[str, Any]:
    from fieldsync.auth.service import create_organisation
    from fieldsync.db import unit_of_work
    from fieldsync.extensions import db
    from fieldsync.web import AUTH_SETTINGS_KEY

    with fresh_database(kind) as url:
        app = make_app(url)
        with app.app_context(), unit_of_work(db.session):
            org, _ = create_organisation(
                db.session,
                app.extensions[AUTH_SETTINGS_KEY],
                name="Bench imports",
                admin_email="admin@imports.bench",
                admin_password=PASSWORD,
            )
            org_id = str(org.id)
        log(f"[{kind}] importing {rows:,} rows ...")
        first = _import(url, path, org_id)
        log(f"[{kind}] first import {first['seconds']:.1f} s ({first['cpu_s']:.1f} s CPU), "
            f"{first['peak_rss_mb']:.0f} MB: "
            f"{ {k: v for k, v in first['report'].items() if k != 'errors'} }")  # fmt: skip
        with app.app_context():
            from sqlalchemy import func, select

            from fieldsync.portfolio.models import Account

            counts = db.session.execute(
                select(Account.geocode_status, func.count()).group_by(Account.geocode_status)
            ).all()
            geocoded = ", ".join(f"{status} {count}" for status, count in sorted(counts))
            db.session.rollback()
        log(f"[{kind}] geocode status: {geocoded}")
        again = _import(url, path, org_id)
        log(f"[{kind}] second import (all duplicates) {again['seconds']:.1f} s "
            f"({again['cpu_s']:.1f} s CPU), "
            f"{again['peak_rss_mb']:.0f} MB")  # fmt: skip
        exported = _export(app, org_id)
        log(f"[{kind}] export {exported['rows']:,} accounts to CSV in {exported['seconds']:.1f} s")
        with app.app_context():
            db.engine.dispose()
    return {
        "database": kind,
        "first": first,
        "again": again,
        "export": exported,
        "geocoded": geocoded,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.imports", description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="postgresql")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    os.environ.update({f"FIELDSYNC_{k}": str(v) for k, v in BENCH_SETTINGS.items()})
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="fieldsync_imports_") as folder:
        path = Path(folder) / "clients.xlsx"
        t0 = time.perf_counter()
        write_file(path, args.rows)
        print(f"wrote {args.rows:,} rows ({path.stat().st_size / 1e6:.1f} MB) "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)  # fmt: skip
        results = [run_one(kind, args.rows, path, lambda s: print(s, flush=True))
                   for kind in databases]  # fmt: skip
        size_mb = path.stat().st_size / 1e6
    rendered = table(["figure", "goal", *(r["database"] for r in results)], _rows(results))
    print(f"\nimports ({args.rows:,} rows)\n{rendered}\n")
    if not args.no_write:
        info = machine()
        kept = ""  # hand-written findings below the marker survive a rerun
        if RESULTS.exists() and MARKER in RESULTS.read_text():
            kept = RESULTS.read_text().split(MARKER, 1)[1].lstrip("\n")
        RESULTS.write_text(
            "\n".join(
                [
                    "# Imports and exports",
                    "",
                    f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
                    f"- Command: `python -m bench.imports --rows {args.rows} --db {args.db}`",
                    f"- Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory, "
                    f"{info['os']}; other work was running at the same time: timings are noisy.",
                    f"- Python {info['python']}, SQLite {info['sqlite']}, "
                    f"PostgreSQL {info['postgresql']}",
                    f"- File: {args.rows:,} rows, {size_mb:.1f} MB XLSX, Italian headers, values "
                    "from four countries written the local way, one contact per row.",
                    "",
                    rendered,
                    "",
                    "Import: `fieldsync import accounts` in a child process: wall time; CPU of "
                    "the command and of the process it reads the file in (rusage); peak RSS of "
                    "the two together, sampled every 0.1 s from /proc. Second import: the same "
                    "file again, every row a duplicate found by VAT number (nothing changes). "
                    'Export: `export_accounts(fmt="csv")` of every account, in-process, all '
                    "bytes consumed.",
                    "",
                    MARKER,
                    "",
                    kept,
                ]
            ).rstrip()
            + "\n"
        )
        print(f"wrote {RESULTS}")
    return 0


def _rows(results: list[dict[str, Any]]) -> list[list[str]]:
    def ok(value: float, goal: float) -> str:
        return f"{value:.1f}" + ("" if value < goal else " (MISSED)")

    return [
        ["first import, s", f"< {GOALS['import_s']:.0f}",
         *(ok(r["first"]["seconds"], GOALS["import_s"]) for r in results)],
        ["first import, CPU s (importer and its reader)", "",
         *(f"{r['first']['cpu_s']:.1f}" for r in results)],
        ["first import, peak RSS MB (importer + reader)", f"< {GOALS['import_rss_mb']:.0f}",
         *(ok(r["first"]["peak_rss_mb"], GOALS["import_rss_mb"]) for r in results)],
        ["first import, peak RSS MB (importer alone)", "",
         *(f"{r['first']['importer_rss_mb']:.0f}" for r in results)],
        ["geocode status after the first import", "", *(r["geocoded"] for r in results)],
        ["created / updated / skipped / errors", "",
         *(f"{r['first']['report']['created']} / {r['first']['report']['updated']} / "
           f"{r['first']['report']['skipped']} / {len(r['first']['report']['errors'])}"
           for r in results)],
        ["second import (all duplicates), s", "",
         *(f"{r['again']['seconds']:.1f}" for r in results)],
        ["second import, CPU s", "", *(f"{r['again']['cpu_s']:.1f}" for r in results)],
        ["second import, skipped", "", *(str(r["again"]["report"]["skipped"]) for r in results)],
        ["second import, peak RSS MB", "", *(f"{r['again']['peak_rss_mb']:.0f}" for r in results)],
        ["export to CSV, s", f"< {GOALS['export_s']:.0f}",
         *(ok(r["export"]["seconds"], GOALS["export_s"]) for r in results)],
        ["export, CPU s (this process)", "", *(f"{r['export']['cpu_s']:.1f}" for r in results)],
        ["exported rows / MB", "",
         *(f"{r['export']['rows']} / {r['export']['mb']:.1f}" for r in results)],
    ]  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
