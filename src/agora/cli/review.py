"""``agora review PATH``: review scripts before uploading them, like the pipeline will.

Exit status 0 when every script is clean, 1 when one is suspicious, 2 when one
is malicious, so a build can stop on it.

Example:
    $ agora review MyPlugin.zip
    $ agora review Assets/Scripts --json
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from agora.cli.context import fail, state

EXIT = {"clean": 0, "suspicious": 1, "malicious": 2}


def review(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(help="A script, an archive or a folder of scripts.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the full review as JSON.")] = False,
) -> None:
    """Review scripts or a plugin archive: findings, verdicts, exit 2 when malicious."""
    from agora.codereview.base import Review, ScriptFile
    from agora.codereview.extract import scripts_in
    from agora.codereview.service import build_reviewer

    if not path.exists():
        fail(f"{path} does not exist")
    settings = state(ctx).settings()
    reviewer = build_reviewer(settings)
    if path.is_dir():
        scripts: list[ScriptFile] = []
        skipped: list[str] = []
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            found, why = scripts_in(
                str(file.relative_to(path)), file.read_bytes(), settings.uploads
            )
            scripts += found
            skipped += why
        result = reviewer.review_files(scripts)
        result = Review(result.model, result.files, skipped)
    else:
        result = reviewer.review_upload(path.name, path.read_bytes())
    if as_json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        for f in result.files:
            typer.echo(f"{f.verdict:<10} {f.probability:.3f}  {f.file}")
            for finding in f.findings:
                if finding.score >= 1:
                    typer.echo(
                        f"    {finding.severity:<8} {finding.analyser}:{finding.rule_id} "
                        f"line {finding.line_start}: {finding.message}"
                    )
        typer.echo(f"{result.verdict} ({len(result.files)} scripts, model {result.model})")
    raise typer.Exit(EXIT[result.verdict])
