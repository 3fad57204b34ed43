"""The Solomon runner on the first 25 customers of C101: output format and route files."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bench import solomon

# C101 (Solomon 1987), header and the depot plus customers 1-25
SAMPLE = """SAMPLE25

VEHICLE
NUMBER     CAPACITY
  25         200

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0       40         50          0          0       1236          0
    1       45         68         10        912        967         90
    2       45         70         30        825        870         90
    3       42         66         10         65        146         90
    4       42         68         10        727        782         90
    5       42         65         10         15         67         90
    6       40         69         20        621        702         90
    7       40         66         20        170        225         90
    8       38         68         20        255        324         90
    9       38         70         10        534        605         90
   10       35         66         10        357        410         90
   11       35         69         10        448        505         90
   12       25         85         20        652        721         90
   13       22         75         30         30         92         90
   14       22         85         10        567        620         90
   15       20         80         40        384        429         90
   16       20         85         40        475        528         90
   17       18         75         20         99        148         90
   18       15         75         20        179        254         90
   19       15         80         10        278        345         90
   20       30         50         10         10         73         90
   21       30         52         20        914        965         90
   22       28         52         20        812        883         90
   23       28         55         10        732        777         90
   24       25         50         10         65        144         90
   25       25         52         40        169        224         90
"""


def check_routes(instance: solomon.Instance, lines: list[str]) -> float:
    """Replay the route file by hand; return its distance, fail on any broken rule."""
    rows = {r[0]: r for r in instance.rows}
    depot = instance.rows[0]
    routes = [[int(c) for c in line.split()] for line in lines if line.strip()]
    assert 0 < len(routes) <= instance.fleet
    visited = sorted(c for route in routes for c in route)
    assert visited == sorted(r[0] for r in instance.rows[1:]), "every customer exactly once"
    total = 0.0
    for route in routes:
        t, here, load = depot[4], depot, 0
        for number in route:
            there = rows[number]
            leg = math.dist(here[1:3], there[1:3])
            t = max(t + leg, there[4])
            assert t <= there[5] + 1e-6, f"customer {number} served after its due date"
            t, here, load, total = t + there[6], there, load + there[3], total + leg
        back = math.dist(here[1:3], depot[1:3])
        assert t + back <= depot[5] + 1e-6 and load <= instance.capacity
        total += back
    return total


def test_runner_prints_one_line_per_instance_and_writes_routes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "sample25.txt"
    file.write_text(SAMPLE)
    routes_dir = tmp_path / "routes"

    status = solomon.main([str(file), "--routes-dir", str(routes_dir), "--seconds", "0.5"])

    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    name, vehicles, distance, gap, seconds = lines[0].split()
    assert (name, gap) == ("SAMPLE25", "-"), "no best-known entry for this instance"
    assert lines[1:] == ["mean_gap_pct -", f"max_seconds {seconds}"]
    written = (routes_dir / "SAMPLE25.routes").read_text().splitlines()
    assert len(written) == int(vehicles)
    replayed = check_routes(solomon.parse(file), written)
    assert float(distance) == pytest.approx(replayed, abs=0.006)
    assert replayed < 192, "as good as the best known for these customers (191.81, 3 routes)"
    assert float(seconds) < 5


def test_gap_against_a_best_known_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "sample25.txt"
    file.write_text(SAMPLE)
    best = tmp_path / "best_known.csv"
    best.write_text("instance,bks_distance\nsample25,191.81\n")

    assert solomon.main([str(file), "--seconds", "0.5", "--iterations", "2000"]) == 0

    first, mean, _ = capsys.readouterr().out.splitlines()
    gap = float(first.split()[3])
    assert 0 <= gap < 0.01 and mean == f"mean_gap_pct {gap:.2f}"


def test_parse_rejects_other_formats(tmp_path: Path) -> None:
    file = tmp_path / "berlin.tsp"
    file.write_text("NAME: berlin52\nTYPE: TSP\nNODE_COORD_SECTION\n1 565 575\nEOF\n")
    with pytest.raises(ValueError, match="Solomon"):
        solomon.parse(file)
