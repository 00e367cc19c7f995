"""``aggregator tag``, ``aggregator tag-eval`` and ``aggregator retag``.

``tag --jsonl IN`` reads lines ``{"id", "text", "author", "source_url", "published"?}`` and
writes one ``{"id", "missions", "reasons"}`` line per input on stdout; messages go to stderr.
``tag-eval FILE`` scores a labelled file (``missions`` holds the truth): micro precision,
recall and F1, a per-mission table, and every miss and false alarm with its reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import IO, TYPE_CHECKING, Any

import click

from aggregator.cli import Context, cli, pass_ctx
from aggregator.commands._output import echo_json, progress
from aggregator.errors import UsageError
from aggregator.models import Tag, counted, parse_iso
from aggregator.tag import Tagger
from aggregator.tag.rules import normalize

if TYPE_CHECKING:
    from aggregator.retag import RetagReport


def _lines(stream: IO[str], name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(
                f"{name} line {number}: not JSON ({exc.msg})",
                hint="each line must be one JSON object with at least id and text",
            ) from exc
        if not isinstance(item, dict) or "text" not in item:
            raise UsageError(f"{name} line {number}: needs a JSON object with a text key")
        yield number, item


def tag_item(tagger: Tagger, item: dict[str, Any]) -> list[Tag]:
    """Tag one input line (``text``, ``author``, ``source_url``, ``published``)."""
    published = item.get("published")
    try:
        when = parse_iso(published) if isinstance(published, str) else None
    except ValueError:
        when = None
    return tagger.tag_text(
        str(item.get("text") or ""),
        author=str(item.get("author") or ""),
        source_url=str(item.get("source_url") or ""),
        published=when,
    )


def _reason(tag: Tag) -> str:
    return f"{tag.mission}: {tag.reason}"


@cli.command("tag")
@click.option("--jsonl", "jsonl", type=click.File("r", encoding="utf-8"), required=True,
              help="JSON lines to tag ('-' reads stdin).")
@pass_ctx
def tag_command(ctx: Context, jsonl: IO[str]) -> None:
    """Tag JSON lines with the configured missions; one JSON line out per line in."""
    tagger = Tagger.from_config(ctx.config)
    count = 0
    for _, item in _lines(jsonl, jsonl.name):
        tags = tag_item(tagger, item)
        out = {"id": item.get("id"), "missions": [t.mission for t in tags],
               "reasons": [_reason(t) for t in tags]}
        click.echo(json.dumps(out, ensure_ascii=False))
        count += 1
    missions = counted(len(tagger.missions), "mission")
    click.echo(f"tagged {counted(count, 'item')} with {missions}", err=True)


# --- evaluation ---------------------------------------------------------------------------


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class Evaluation:
    total: Score = field(default_factory=Score)
    per_mission: dict[str, Score] = field(default_factory=dict)
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # id, mission, why not
    false_alarms: list[tuple[str, str, str]] = field(default_factory=list)  # id, mission, reason
    items: int = 0
    empty_items: int = 0
    empty_false_alarms: int = 0


def evaluate(tagger: Tagger, items: Iterable[dict[str, Any]]) -> Evaluation:
    """Score ``items`` (each with ``missions``, the truth) against the tagger. Pure."""
    ev = Evaluation()
    for item in items:
        truth = {str(m).upper() for m in item.get("missions") or []}
        tags = {t.mission: t for t in tag_item(tagger, item)}
        ident = str(item.get("id", ev.items + 1))
        ev.items += 1
        if not truth:
            ev.empty_items += 1
            ev.empty_false_alarms += bool(tags)
        for mission in truth | set(tags):
            score = ev.per_mission.setdefault(mission, Score())
            if mission in truth and mission in tags:
                score.tp += 1
                ev.total.tp += 1
            elif mission in tags:
                score.fp += 1
                ev.total.fp += 1
                ev.false_alarms.append((ident, mission, tags[mission].reason))
            else:
                score.fn += 1
                ev.total.fn += 1
                ev.misses.append((ident, mission, why_not(tagger, item, mission)))
    return ev


def why_not(tagger: Tagger, item: dict[str, Any], mission: str) -> str:
    """Why ``mission`` was not tagged: which cues the text had for it, and what stopped them."""
    text = str(item.get("text") or "")
    reading = tagger.read(normalize(text))
    found = reading.missions.get(mission)
    snippet = f"text: {text[:120]}"
    if found is None:
        return f"no cue for {mission} in the text; {snippet}"
    words = ", ".join(sorted({c.label for c in found.strong + found.weak}))
    if reading.topics:
        stop = f"a general topic ({reading.topics[0]}) needs a handle, hashtag or two kinds of cue"
    elif found.strong:
        stop = "its places or terms fall outside the mission's active years"
    elif not reading.context and not found.bound:
        stop = "weak cues without peacekeeping context"
    elif any(m != mission and e.strong for m, e in reading.missions.items()):
        stop = "another mission is named and the cue is not bound to a mission word"
    else:
        stop = "weak cues below 1.0, a look-alike, another UN body, a list of countries or the date"
    return f"found {words}, but {stop}; {snippet}"


def report(ev: Evaluation) -> str:
    t = ev.total
    lines = [
        f"items: {ev.items} ({ev.empty_items} with no mission)",
        f"micro precision {t.precision:.3f}  recall {t.recall:.3f}  F1 {t.f1:.3f}"
        f"  (tp {t.tp}, fp {t.fp}, fn {t.fn})",
        f"false alarms on items with no mission: {ev.empty_false_alarms}",
        "",
        f"{'mission':<10} {'tp':>4} {'fp':>4} {'fn':>4} {'precision':>10} {'recall':>8} {'F1':>6}",
    ]
    for mission in sorted(ev.per_mission):
        s = ev.per_mission[mission]
        lines.append(f"{mission:<10} {s.tp:>4} {s.fp:>4} {s.fn:>4} {s.precision:>10.3f}"
                     f" {s.recall:>8.3f} {s.f1:>6.3f}")
    lines.append("")
    lines.append(f"misses ({len(ev.misses)}):")
    lines.extend(f"  {i} {m}: not tagged: {why}" for i, m, why in ev.misses)
    lines.append(f"false alarms ({len(ev.false_alarms)}):")
    lines.extend(f"  {i} {m}: tagged because {reason}" for i, m, reason in ev.false_alarms)
    return "\n".join(lines)


@cli.command("tag-eval")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@pass_ctx
def tag_eval_command(ctx: Context, file: IO[str]) -> None:
    """Score a labelled JSON-lines FILE: precision, recall, F1, per mission, every error."""
    tagger = Tagger.from_config(ctx.config)
    items = [item for _, item in _lines(file, file.name)]
    if not items:
        raise UsageError(f"{file.name} has no items", hint="one JSON object per line")
    if not all("missions" in item for item in items):
        raise UsageError(f"{file.name}: every line needs a missions list (the truth)")
    click.echo(report(evaluate(tagger, items)))


# --- retag ---------------------------------------------------------------------------------


@cli.command("retag")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2000, show_default=True,
              help="Posts per transaction.")
@click.option("--json", "as_json", is_flag=True, help="Print the changes as JSON.")
@pass_ctx
def retag_command(ctx: Context, dry_run: bool, batch_size: int, as_json: bool) -> None:
    """Recompute rule tags over the whole archive; editors' decisions are kept."""
    from aggregator.app import make_app
    from aggregator.retag import retag

    with make_app(ctx.config, check=True) as app, progress(app.store.count_posts(), "retag") as advance:
        result = retag(app, dry_run=dry_run, batch_size=batch_size, progress=advance)
    if as_json:
        echo_json(_retag_json(result))
        return
    verb = "would change" if dry_run else "changed"
    click.echo(f"{counted(result.posts, 'post')} read; {result.posts_changed} {verb}")
    for mission in sorted(result.gains.keys() | result.losses.keys()):
        click.echo(f"{mission}: +{result.gains.get(mission, 0)} -{result.losses.get(mission, 0)}")
        for change in result.examples.get(mission, []):
            sign = "+" if change.gained else "-"
            click.echo(f"  {sign} {change.post_id}: {change.snippet!r} ({change.reason})")
    if not dry_run and result.rendered:
        click.echo(f"re-rendered {len(result.rendered)} file(s) for "
                   f"{', '.join(sorted(result.missions_changed))}")


def _retag_json(result: RetagReport) -> dict[str, Any]:
    missions = sorted(result.gains.keys() | result.losses.keys())
    return {
        "dry_run": result.dry_run, "posts": result.posts, "posts_changed": result.posts_changed,
        "missions": {
            m: {"gained": result.gains.get(m, 0), "lost": result.losses.get(m, 0),
                "examples": [asdict(c) for c in result.examples.get(m, [])]}
            for m in missions
        },
        "missions_changed": sorted(result.missions_changed),
        "rendered": [str(p) for p in result.rendered],
    }


# --- relang --------------------------------------------------------------------------------


@cli.command("relang")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option("--batch-size", type=click.IntRange(1, 100_000), default=2000, show_default=True,
              help="Posts per transaction.")
@pass_ctx
def relang_command(ctx: Context, dry_run: bool, batch_size: int) -> None:
    """Give every archived post a language (entry, feed or detected) and record its origin."""
    from aggregator.app import make_app
    from aggregator.relang import relang

    with make_app(ctx.config, check=True) as app, progress(app.store.count_posts(), "relang") as advance:
        result = relang(app, dry_run=dry_run, batch_size=batch_size, progress=advance)
    verb = "would change" if dry_run else "changed"
    click.echo(f"{counted(result.posts, 'post')} read; {counted(result.posts_changed, 'language')}"
               f" {verb}")
    for (old, new, origin), n in sorted(result.changes.items(), key=lambda kv: -kv[1]):
        click.echo(f"{old} -> {new} ({origin}): {counted(n, 'post')}")
    for post_id, snippet, change in result.examples:
        click.echo(f"  {post_id}: {snippet!r} ({change})")
    if not dry_run and result.rendered:
        click.echo(f"re-rendered {len(result.rendered)} file(s)")
