"""`eval roleplay`: prepare a role-play round (data dirs, one `serve` per group, manifest), score it, stop it."""

from __future__ import annotations

from pathlib import Path

import typer

from assistant.cli import UserError, emit, state


def register(app: typer.Typer, eval_app: typer.Typer) -> None:
    @eval_app.command("roleplay")
    def eval_roleplay(
        manifests: list[Path] = typer.Argument(None, help="Manifests of played rounds to score (or to --stop)."),
        prepare_dir: Path | None = typer.Option(
            None, "--prepare", help="Prepare a round in this new folder with the --llm backend, then exit."
        ),
        stop_servers: bool = typer.Option(False, "--stop", help="End the servers of the given manifests."),
        groups: int = typer.Option(4, "--groups", min=1, help="Data dirs and servers (tasks of one customer apart)."),
        base_port: int = typer.Option(7900, "--base-port", min=1, max=65000, help="Group N serves on this + N."),
        tasks: Path | None = typer.Option(
            None, "--tasks", help="tau-bench tasks JSON (default ../shared/data/retail-store/tasks_train.json)."
        ),
        store: Path | None = typer.Option(
            None, "--store", help="The retail-store folder the servers load (default ../shared/data/retail-store)."
        ),
        out: Path = typer.Option(Path("reports/roleplay"), "--out", help="Report folder."),
    ) -> None:
        """Role-play rounds scored as tau-bench does: the customer's final store state and expected outputs."""
        from assistant.evals import roleplay

        if prepare_dir is not None and (stop_servers or manifests):
            raise UserError("--prepare takes no manifests and no --stop")
        try:
            if prepare_dir is not None:
                manifest = roleplay.prepare(
                    prepare_dir,
                    backend=state.settings.llm,
                    groups=groups,
                    base_port=base_port,
                    tasks_file=(tasks or roleplay.DEFAULT_TASKS).expanduser(),
                    store=(store or roleplay.DEFAULT_STORE).expanduser(),
                )
                emit(
                    {
                        "manifest": str(prepare_dir.expanduser().resolve() / roleplay.MANIFEST),
                        "players": str(prepare_dir.expanduser().resolve() / "players.md"),
                        "backend": manifest.backend,
                        "servers": [
                            s.model_dump(mode="json", include={"group", "port", "pid", "memory_kib"})
                            for s in manifest.servers
                        ],
                    }
                )
                return
            if not manifests:
                raise UserError("name the manifest(s) to score, or --prepare FOLDER")
            if stop_servers:
                emit({"stopped": [pid for path in manifests for pid in roleplay.stop(path.expanduser())]})
                return
            work = state.settings.ensure_dirs().data_dir / "eval-roleplay"
            emit(roleplay.run_roleplay_eval([p.expanduser() for p in manifests], out.expanduser(), work))
        except (FileNotFoundError, ValueError, RuntimeError) as exc:
            raise UserError(str(exc)) from exc
