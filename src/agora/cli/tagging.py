"""``agora tagging``: tag an asset, train the heads, show the taxonomy and the heads' state.

Example:
    $ agora tagging taxonomy --category object_type
    $ agora tagging tag a-123 --mode accurate
    $ agora tagging train            # holdout, evaluation gate, champion/challenger
    $ agora tagging status
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from agora.cli.context import cli_actor, fail, open_platform, state
from agora.mlops.tasks import TaskContext

app = typer.Typer(help="Auto-tagging: tag assets, train the heads, show the taxonomy.")


class EchoProgress(TaskContext):
    """Pipeline progress printed to the terminal (no job record)."""

    def progress(self, percent: float, message: str | None = None) -> None:
        typer.echo(f"[{percent:3.0f}%] {message or ''}")


@app.command("taxonomy")
def taxonomy(
    ctx: typer.Context,
    category: Annotated[str | None, typer.Option(help="Only this category.")] = None,
    lang: Annotated[str, typer.Option(help="Language of the descriptions.")] = "en",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The taxonomy in use: the stored newest version (seeded from the operator's
    file or the shipped one; changed through ``/api/v1/tagging/taxonomy``)."""
    from agora.tagging.factory import stored_taxonomy

    with open_platform(state(ctx)) as platform:
        tax = stored_taxonomy(platform.db, platform.settings.tagging)
    names = sorted(tax.categories)
    if category is not None:
        if category not in tax.categories:
            fail(f"unknown category {category!r}: one of {', '.join(names)}")
        names = [category]
    out = {
        name: [
            {
                "name": lb.name,
                "synonyms": list(lb.synonyms),
                "description": lb.descriptions.get(lang) or lb.descriptions.get("en", ""),
            }
            for lb in tax.labels(name)
        ]
        for name in names
    }
    if as_json:
        typer.echo(json.dumps({"version": tax.version, "categories": out}, indent=2))
        return
    typer.echo(f"taxonomy {tax.version}")
    for name, labels in out.items():
        typer.echo(f"{name} ({len(labels)} labels)")
        for lb in labels:
            synonyms = f" [{', '.join(lb['synonyms'])}]" if lb["synonyms"] else ""
            typer.echo(f"  {lb['name']}{synonyms}: {lb['description']}")


@app.command("tag")
def tag(
    ctx: typer.Context,
    asset_id: Annotated[str, typer.Argument(help="The asset to tag.")],
    mode: Annotated[str, typer.Option(help="accuracy_mode: fast, balanced or accurate.")] = (
        "balanced"
    ),
    cloud: Annotated[
        bool, typer.Option(help="Allow the cloud fallback (the owner's consent still decides).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the whole ADR response.")] = False,
) -> None:
    """Tag one asset now, as ``POST /api/v1/assets/{id}/tags`` does (result stored, audited)."""
    from agora.cli.remote import remote

    options = {"accuracy_mode": mode, "use_cloud_fallback": cloud}
    with remote(ctx) as client:
        if client is not None:
            answer = client.tags.tag(asset_id, {"processing_options": options})
            result = answer.model_dump(mode="json")
    if client is None:
        with open_platform(state(ctx)) as platform:
            result = platform.tagging.tag_asset(
                asset_id, processing_options=options, actor=cli_actor()
            )
    if as_json:
        typer.echo(json.dumps(result, indent=2, default=str))
        return
    for t in result["tags"]:
        typer.echo(
            f"{t['category']:22s} {t['name']:24s} {t['confidence']:.2f}  {t['source_model']}"
        )
    cloud_info = result["cloud"]
    typer.echo(
        f"quality {result['quality_score']:.3f}, {result['total_processing_time']:.0f} ms, "
        f"consent v{result['consent_version']}, cloud "
        + ("called" if cloud_info["called"] else f"not called ({cloud_info['reason'] or 'local'})")
    )


@app.command("train")
def train(
    ctx: typer.Context,
    holdout: Annotated[float, typer.Option(help="Held-out share of the confirmed assets.")] = 0.2,
) -> None:
    """Train new heads from the consented feedback and creator tags, through the gate.

    The ``train.tagger`` pipeline: a first version becomes champion, later
    ones challenger only if they beat the champion's top-3 precision on the
    same holdout, else they are rejected and the champion keeps serving.
    """
    from agora.tagging.tasks import train_tagger

    with open_platform(state(ctx)) as platform:
        out = train_tagger(
            platform, EchoProgress(), holdout=holdout, reason="cli", actor=cli_actor()
        )
    gate = out["gate"]
    typer.echo(f"{out['model']} ({out['decision']}): {gate['reason']}")
    typer.echo(json.dumps(gate["candidate"], indent=2))


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The champion heads, the newest heads' training snapshot and whether retraining
    is due (counted from the newest heads, gated in or not, as the trigger does)."""
    from agora.tagging.features import TaggingFeatureExtractor
    from agora.tagging.heads_tagger import HeadsTagger
    from agora.tagging.training import feedback_since, last_trained_feedback

    with open_platform(state(ctx)) as platform:
        heads = HeadsTagger(platform.models, encoder_key=TaggingFeatureExtractor.info.key)
        version, snapshot = heads.champion_version(), last_trained_feedback(platform.models)
        fresh = feedback_since(platform.db, snapshot, platform.consent)
        need = platform.settings.tagging.retrain_min_feedback
    typer.echo(f"champion: tag-heads@{version}" if version else "champion: none yet")
    typer.echo(f"newest heads trained on feedback <= #{snapshot}; {fresh} new consented rows since")
    typer.echo(f"retraining due: {'yes' if fresh >= need else 'no'} (at {need} new rows)")
