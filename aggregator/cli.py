"""The ``aggregator`` command: a thin layer over the app; every command takes ``--config``.

Errors are rendered in one place (:func:`main`): an ``AggregatorError`` prints its message
and hint on stderr and exits with its status; there is never a traceback for bad input.
"""

from __future__ import annotations

import errno
from pathlib import Path
from typing import Any

import click

from aggregator import __version__
from aggregator.config import Config, load_config
from aggregator.errors import AggregatorError, ConfigError, ExitStatus


class Context:
    """What every command receives: the config path, loaded on first use."""

    def __init__(self, config_path: Path) -> None:
        self.config_path = config_path
        self._config: Config | None = None

    @property
    def config(self) -> Config:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config


pass_ctx = click.make_pass_decorator(Context)


class AggregatorGroup(click.Group):
    """Renders every ``AggregatorError`` the same way, for the console script and CliRunner."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AggregatorError as exc:
            ctx.exit(_report(exc))
        except OSError as exc:
            if exc.errno not in _DISK_ERRNOS:
                raise
            ctx.exit(_report(_disk_error(exc)))


@click.group(cls=AggregatorGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("config.yaml"),
    show_default=True,
    envvar="AGGREGATOR_CONFIG",
    help="Settings file; missions are read from its missions_dir.",
)
@click.version_option(__version__, prog_name="aggregator")
@click.pass_context
def cli(ctx: click.Context, config_path: Path) -> None:
    """Collect what UN peacekeeping missions publish and put it beside the right mission."""
    ctx.obj = Context(config_path)


@cli.command()
@click.option("--json", "as_json", is_flag=True,
              help="Print the verdict and every problem as JSON (exit codes unchanged).")
@pass_ctx
def check(ctx: Context, as_json: bool) -> None:
    """Validate config.yaml and every mission file; exit non-zero on any problem."""
    if as_json:
        _check_json(ctx)
        return
    config = ctx.config
    sources = config.all_sources()
    warnings = _check_sources(config)
    click.echo(
        f"ok: {len(config.missions)} missions "
        f"({sum(1 for m in config.missions.values() if m.status == 'active')} active), "
        f"{len(sources)} sources ({sum(1 for s in sources if s.kind == 'x')} on X)"
    )
    unverified = [s.id for s in sources if not s.verified]
    if unverified:
        click.echo(f"note: {len(unverified)} sources have no page seen as evidence (evidence below page_seen)", err=True)
    for line in warnings:
        click.echo(f"warning: {line}", err=True)


def _check_sources(config: Config) -> list[str]:
    """Coverage and probing warnings (exit 0); a bridge source without a bridge fails, and so
    does a digest lists file that does not validate (#15)."""
    from aggregator.catalog.coverage import check_findings
    from aggregator.digest.lists import load_digest_lists
    from aggregator.errors import ConfigProblem

    load_digest_lists(config)

    warnings, problems = check_findings(config.missions, config.general_sources,
                                        config.settings.x_bridge_template)
    if problems:
        raise ConfigError([ConfigProblem(str(config.missions_path), "", p,
                                         "set x.bridge_template in config.yaml, or remove via: bridge")
                           for p in problems])
    return warnings


def _check_json(ctx: Context) -> None:
    """``check --json``: one document, whether the configuration loads or not."""
    import json

    try:
        config = ctx.config
        warnings = _check_sources(config)
    except ConfigError as exc:
        problems = [{"file": p.file, "key": p.key, "message": p.message, "hint": p.hint}
                    for p in exc.problems]
        click.echo(json.dumps({"ok": False, "problems": problems}, indent=2, ensure_ascii=False))
        raise click.exceptions.Exit(int(exc.exit_status)) from exc
    sources = config.all_sources()
    click.echo(json.dumps({
        "ok": True, "problems": [],
        "missions": len(config.missions),
        "active_missions": sum(1 for m in config.missions.values() if m.status == "active"),
        "sources": len(sources), "x_sources": sum(1 for s in sources if s.kind == "x"),
        "unverified_sources": sorted(s.id for s in sources if not s.verified),
        "warnings": warnings,
    }, indent=2, ensure_ascii=False))


# A file the command writes (a page, an export, a backup) on a full or failing disk.
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS, errno.EFBIG})


def _disk_error(exc: OSError) -> AggregatorError:
    where = f"cannot write {exc.filename}" if exc.filename else "a file could not be written"
    error = AggregatorError(
        f"{where}: {exc.strerror or exc}",
        hint="free space on that disk (or fix the file system), then run the command again;"
        " files are replaced whole, so none was left half-written",
    )
    error.exit_status = ExitStatus.STORAGE
    return error


def _report(exc: AggregatorError) -> int:
    message = exc.message if isinstance(exc, ConfigError) else str(exc)
    click.echo(f"error: {message}", err=True)
    return int(exc.exit_status)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="aggregator")


def register(command: click.Command) -> click.Command:
    """Add a command defined in another module (keeps this file the thin entry point)."""
    cli.add_command(command)
    return command


# Command modules register themselves on import; import them last so they can use `cli`.
from aggregator import commands as _commands  # noqa: E402

_commands.load()
