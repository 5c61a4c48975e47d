"""``agora moderation rescan`` and ``train`` from the command line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from agora.cli.main import app
from agora.config import Settings
from agora.moderation.queue import QueueFilter
from agora.moderation.testing import sample_models
from agora.runtime import Platform
from agora.testing.api import drain_pipeline


def test_rescan_queues_what_the_current_models_flag(tmp_path: Path, data_dir: Path) -> None:
    # Only the steps the verdicts depend on: indexing and tagging load encoders for nothing.
    pipeline = {"disabled_steps": ["index", "tagging"]}
    # Without the shipped classifiers, so the first pass runs without any.
    settings = Settings.load(
        data_dir=tmp_path / "agora", pipeline=pipeline, moderation={"shipped_models": False}
    )
    platform = Platform.build(settings)
    try:
        with platform.db.session() as s:
            from agora.storage.tables import SellerRow

            s.add(SellerRow(id="s1", name="Forge"))
        service = platform.assets
        # No models yet: text analysis is down, the asset goes live, post-hoc queued.
        clean = service.create({"title": "Tank sprite", "seller_id": "s1"}, [], [], "test")
        shady = service.create(
            {
                "title": "Tank",
                "description": "Pay me via bank transfer directly",
                "seller_id": "s1",
            },
            [],
            [],
            "test",
        )
        drain_pipeline(platform)
        queue = platform.moderation_queue
        kinds = {i["asset_id"]: i["kind"] for i in queue.items(QueueFilter())["items"]}
        assert kinds[clean.asset_id] == "post_hoc" and kinds[shady.asset_id] == "review"

        # Champions in the model store: the CLI's own process-wide provider loads them.
        models = sample_models(data_dir)
        for model in (models.toxicity, models.spam):
            ref = platform.models.save(model.name, model)
            platform.models.set_alias(model.name, "champion", ref.version)
        result = CliRunner().invoke(
            app, ["--data-dir", str(tmp_path / "agora"), "moderation", "rescan"]
        )
        assert result.exit_code == 0, result.output
        assert "scanned 2" in result.output and "post-hoc cleared 1" in result.output
        after = queue.items(QueueFilter(state="pending"))["items"]
        assert {i["asset_id"] for i in after} == {shady.asset_id}
        assert any(i["source"] == "rescan" for i in after)
    finally:
        platform.close()


def test_train_says_where_it_looked_for_data(tmp_path: Path) -> None:
    empty = tmp_path / "no-corpora"
    empty.mkdir()
    env = {"AGORA_MODERATION__TRAIN_DATA_DIR": str(empty)}
    args = ["--data-dir", str(tmp_path / "a"), "moderation", "train"]
    result = CliRunner().invoke(app, args, env=env)
    assert result.exit_code == 1
    assert str(empty) in result.output and "--data" in result.output
    assert "sms-spam-collection/SMSSpamCollection" in result.output


def test_training_data_is_found_beside_the_checkout(tmp_path: Path, data_dir: Path) -> None:
    """Without --data, train looks for shared/data beside the working directory or checkout."""
    from agora.moderation.datasets import default_data_dirs, find_training_data

    looked = default_data_dirs(cwd=tmp_path / "project")
    assert (tmp_path / "shared" / "data").resolve() in looked
    assert find_training_data([tmp_path, *looked]) == data_dir.resolve()  # the checkout's


def test_train_goes_through_the_gate(tmp_path: Path, data_dir: Path) -> None:
    """A first version becomes champion; the same again does not beat it and is rejected."""
    args = ["--data-dir", str(tmp_path / "a"), "moderation", "train", "--data", str(data_dir)]
    args += ["--sample", "400", "--no-embeddings"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "moderation-spam@1 (champion): no champion yet" in first.output
    # Progress inside the long steps (here: the cross-validation folds, then evaluation).
    assert "moderation-toxicity: offensive: TF-IDF SVM fold 1/4" in first.output
    assert "moderation-spam: evaluating on" in first.output
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0, second.output
    assert "moderation-spam@2 (rejected)" in second.output
    assert "moderation-toxicity@2 (rejected)" in second.output
    platform = Platform.build(Settings.load(data_dir=tmp_path / "a"))
    try:
        info = platform.models.info("moderation-spam", alias="champion")
        assert info.ref.version == "1"
    finally:
        platform.close()
    # The serving champions export as shippable artefacts (how the package's were made).
    out = tmp_path / "artifacts"
    export = CliRunner().invoke(
        app, ["--data-dir", str(tmp_path / "a"), "moderation", "export", "--out", str(out)]
    )
    assert export.exit_code == 0, export.output
    assert "moderation-spam: moderation-spam.npz" in export.output
    from agora.moderation.shipped import load_shipped, read_manifest

    manifest = read_manifest(out)
    assert manifest["models"]["moderation-spam"]["source_version"] == "moderation-spam@1"
    spam, entry = load_shipped("moderation-spam", out)  # checksum verified, no pickle
    assert entry["held_out"]["spam.f1"] == info.metrics["spam.f1"]
    assert spam.predict(["WINNER!! claim your prize, call 09061701461"])[0].scores["spam"] > 0.5
