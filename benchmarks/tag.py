"""Tagging speed and whole-archive retag time.

1. Posts tagged per second over the 18 shipped missions, on generated texts of about 240
   characters (a third name a mission, some by place with context, some by handle or hashtag,
   the rest only host countries, other UN bodies or nothing), one core, median of 3 runs;
   beside a naive tagger (one case-insensitive acronym regex per mission) in the same run.
2. The time to retag an archive of N posts (default 1,000,000; ``--quick``: 100,000), built in
   a temporary SQLite file with stale (empty) tags, so every post that concerns a mission is
   rewritten.

Run: ``.venv/bin/python benchmarks/tag.py [--quick] [--posts N]``. Writes its section of
docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aggregator.app import make_app  # noqa: E402
from aggregator.config import load_config  # noqa: E402
from aggregator.retag import retag  # noqa: E402
from aggregator.tag import Tagger  # noqa: E402
from benchmarks._report import write_section  # noqa: E402

FILLER = ["the", "council", "met", "on", "tuesday", "to", "discuss", "the", "report", "and", "its", "recommendations", "for", "the", "coming", "months", "while", "partners", "called", "for", "more", "funding", "humanitarian", "access", "remains", "difficult", "in", "several", "districts", "after", "heavy", "rains", "and", "insecurity", "on", "the", "main", "roads", "local", "leaders", "said", "schools", "reopened", "and", "clinics", "received", "supplies", "vaccines", "were", "delivered", "by", "road", "and", "air"]
NAMED = ["UNMISS", "MINUSCA", "MONUSCO", "UNIFIL", "UNISFA", "UNFICYP", "Minusma", "UNAMID",
         "the UN Interim Force in Lebanon", "la MONUSCO", "MONUC", "ONUCI", "UNMIK-ut"]
PLACES = ["Bentiu", "Malakal", "Goma", "Bunia", "Bambari", "Kidal", "Gao", "Naqoura", "Abyei",
          "Darfur", "Kosovo", "Liberia", "Haiti", "Cyprus", "Western Sahara", "Dili"]
CONTEXT = ["UN peacekeepers", "blue helmets", "the UN mission", "casques bleus", "UN troops"]
OTHER = ["UNHCR", "WFP", "UNICEF", "OCHA", "the EU", "KFOR", "EULEX", "the African Union",
         "South Sudan", "Mali", "Lebanon", "the DRC", "Somalia"]
HANDLES = ["@UNISFA_1", "@UNIFIL_", "@UN_MINUSMA", "@unamidnews", "@UNPeacekeeping", "@UN"]
TAGS = ["#PKDay", "#A4P", "#UNMISS", "#Abyei", "#SouthSudan", "#Haiti", "#COVID19", "#Mali"]


def make_text(rng: random.Random) -> str:
    kind = rng.random()
    words = rng.sample(FILLER, 30)
    inserts: list[str] = []
    if kind < 0.35:
        inserts.append(rng.choice(NAMED))
    elif kind < 0.5:
        inserts += [rng.choice(CONTEXT), "in", rng.choice(PLACES)]
    elif kind < 0.6:
        inserts += [rng.choice(HANDLES), rng.choice(TAGS)]
    else:
        inserts += [rng.choice(OTHER), rng.choice(PLACES) if rng.random() < 0.3 else "the region"]
    for w in inserts:
        words.insert(rng.randrange(len(words)), w)
    text = " ".join(words).capitalize() + "."
    while len(text) < 230:
        text += " " + rng.choice(FILLER)
    return text[:250]


class NaiveTagger:
    """The floor: one case-insensitive whole-word acronym regex per mission, nothing else."""

    def __init__(self, acronyms: list[str]) -> None:
        self.rules = [(a, re.compile(rf"\b{re.escape(a)}\b", re.I)) for a in acronyms]

    def tag_text(self, text: str) -> list[str]:
        return [a for a, rx in self.rules if rx.search(text)]


def rate(fn: object, texts: list[str]) -> float:
    call = fn  # a bound tag_text
    runs = []
    for _ in range(3):  # CPU time of this process: other processes on the box do not count
        start = time.process_time()
        for t in texts:
            call(t)  # type: ignore[operator]
        runs.append(len(texts) / (time.process_time() - start))
    return statistics.median(runs)


def build_archive(app: object, n: int, rng: random.Random) -> float:
    """Insert ``n`` posts with no tags straight into SQLite; returns seconds taken."""
    store = app.store  # type: ignore[attr-defined]
    sources = [r[0] for r in store.db.execute("SELECT id FROM sources").fetchall()]
    conn = store.db.conn
    start = time.perf_counter()
    batch = []
    for i in range(n):
        text = make_text(rng)
        ts = f"20{10 + i % 15:02d}-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00Z"
        batch.append((f"p{i:07d}", rng.choice(sources), "feed", f"e{i}", f"https://example.org/{i}",
                      "Someone", text, ts, ts, ts, f"h{i}"))
        if len(batch) == 20_000:
            _insert(conn, batch)
            batch = []
    if batch:
        _insert(conn, batch)
    return time.perf_counter() - start


def _insert(conn: object, rows: list[tuple[object, ...]]) -> None:
    with conn:  # type: ignore[attr-defined]
        conn.executemany(  # type: ignore[attr-defined]
            "INSERT INTO posts (id, source_id, kind, external_id, url, author, text, published_at,"
            " collected_at, sort_at, content_hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            rows,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000-post archive, 5,000 texts")
    parser.add_argument("--posts", type=int, help="archive size for the retag measurement")
    parser.add_argument("--no-write", action="store_true", help="print, do not update docs/")
    args = parser.parse_args()
    rng = random.Random(8)
    n_texts = 5_000 if args.quick else 20_000
    n_posts = args.posts or (100_000 if args.quick else 1_000_000)

    config = load_config(ROOT / "config.yaml")
    tagger = Tagger.from_config(config)
    naive = NaiveTagger(sorted(config.missions))
    texts = [make_text(rng) for _ in range(n_texts)]
    mean_len = statistics.mean(len(t) for t in texts)
    tagged = sum(1 for t in texts if tagger.tag_text(t))
    ours = rate(tagger.tag_text, texts)
    floor = rate(naive.tag_text, texts)
    print(f"tagger: {ours:,.0f} posts/s; naive acronym regex: {floor:,.0f} posts/s "
          f"({n_texts} texts, mean {mean_len:.0f} chars, {tagged} tagged)")

    tmp = Path(tempfile.mkdtemp(prefix="bench-tag-"))
    try:
        shutil.copytree(ROOT / "feeds", tmp / "feeds", ignore=shutil.ignore_patterns("demo"))
        (tmp / "config.yaml").write_text("database: a.db\noutput_dir: out\nmissions_dir: feeds\n")
        app = make_app(load_config(tmp / "config.yaml"))
        build_s = build_archive(app, n_posts, rng)
        print(f"archive of {n_posts:,} posts built in {build_s:.0f} s")
        start = time.perf_counter()
        dry = retag(app, dry_run=True, tagger=tagger)
        dry_s = time.perf_counter() - start
        start = time.perf_counter()
        applied = retag(app, dry_run=False, tagger=tagger)
        apply_s = time.perf_counter() - start
        size_mb = (tmp / "a.db").stat().st_size / 1e6
        app.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    assert dry.posts_changed == applied.posts_changed
    print(f"retag --dry-run {dry_s:.1f} s; retag {apply_s:.1f} s "
          f"({applied.posts_changed:,} posts changed, archive {size_mb:.0f} MB)")
    rows = [
        "## Tagging (`benchmarks/tag.py`)",
        "",
        f"{n_texts:,} generated texts of about {mean_len:.0f} characters, 18 missions, one core, "
        f"median of 3 runs, posts per CPU-second of the process ({tagged:,} of the texts "
        "concern a mission). Retag times below are wall-clock on a shared 2-core machine.",
        "",
        "| tagger | posts/s |",
        "| --- | ---: |",
        f"| `Tagger` (names, places, context, dates, look-alikes, topics) | {ours:,.0f} |",
        f"| naive: one acronym regex per mission (the floor) | {floor:,.0f} |",
        "",
        f"Target at least 20,000 posts/s: **{'met' if ours >= 20_000 else 'missed'}** "
        f"({ours / floor:.2f}x the naive tagger's speed).",
        "",
        f"Retag of a {n_posts:,}-post archive ({size_mb:.0f} MB SQLite, every post starting "
        f"with stale tags; {applied.posts_changed:,} posts rewritten, batches of 2,000): "
        f"`retag --dry-run` {dry_s:.1f} s, `retag` {apply_s:.1f} s "
        f"(building the archive took {build_s:.0f} s and is not counted)."
        + ("" if n_posts >= 1_000_000 else " Measured at this size with `--quick`."),
    ]
    if not args.no_write:
        write_section("tag", "\n".join(rows))
    print(json.dumps({"posts_per_s": round(ours), "naive_posts_per_s": round(floor),
                      "retag_s": round(apply_s, 1), "dry_run_s": round(dry_s, 1)}))


if __name__ == "__main__":
    main()
