"""``agora index``: rebuild the search indexes from the catalog, with a progress bar.

``rebuild`` walks the catalog in batches (every status except removed and
banned: visibility is decided at query time) and embeds and upserts each batch
through the same ``AssetIndexer`` as the pipeline step, so a rebuild and the
live path produce identical rows. ``--fresh`` empties the indexes first (after
changing the text profile, whose vectors must never mix with the old ones).

Example:
    $ agora index rebuild --batch 64
    $ agora index rebuild --fresh
"""

from __future__ import annotations

import shutil
from typing import Annotated

import typer

from agora.cli.context import open_platform, state

app = typer.Typer(help="Search indexes: rebuild from the catalog.", no_args_is_help=True)


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    batch: Annotated[int, typer.Option(min=1, max=1024, help="Assets embedded per batch.")] = 64,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Empty the embedded indexes before rebuilding.")
    ] = False,
) -> None:
    """Embed every listed asset (text, images, ConSE, keywords) into the indexes."""
    # Imported here so `agora index --help` does not load the search stack.
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )
    from sqlalchemy import func, select

    from agora.catalog.views import asset_view
    from agora.search.consumer import GONE
    from agora.storage.tables import AssetRow

    settings = state(ctx).settings()
    if fresh:
        if settings.search.vector_url or settings.search.keyword_url:
            raise typer.BadParameter("--fresh empties embedded indexes only; drop server tables")
        shutil.rmtree(settings.data_dir.absolute() / "index", ignore_errors=True)
    with open_platform(state(ctx), settings) as platform:
        indexer = platform.indexer
        listed = AssetRow.status.not_in(sorted(GONE))
        with platform.db.session() as s:
            total = int(s.scalar(select(func.count()).where(listed)) or 0)
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        done = images = errors = 0
        last_id = ""
        with Progress(*columns) as progress:
            task = progress.add_task("indexing assets", total=total)
            while True:
                # Keyset pagination by id: stable while the catalog changes.
                with platform.db.session() as s:
                    rows = list(
                        s.scalars(
                            select(AssetRow)
                            .where(listed, AssetRow.id > last_id)
                            .order_by(AssetRow.id)
                            .limit(batch)
                        )
                    )
                    assets = [asset_view(r) for r in rows]
                if not assets:
                    break
                last_id = assets[-1]["id"]
                summary = indexer.index_many(assets, prune=not fresh)
                done += summary["assets"]
                images += summary["images"]
                errors += summary["image_errors"]
                progress.advance(task, len(assets))
        # Fold the whole rebuild into the keyword main index now, so the first
        # queries do not score a large delta (or wait for a background rebuild).
        optimize = getattr(platform.search_backends.keyword(), "optimize", None)
        if optimize is not None:
            typer.echo(f"keyword index optimised in {optimize():.2f} s")
    typer.echo(f"indexed {done} assets and {images} images ({errors} unreadable images skipped)")
