"""`discovery train` prints every precision@K and AUC with its interval, and says plainly
when the evidence is thin; the model card says the same."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from discovery.cli import app

runner = CliRunner()
INTERVAL = r"\d\.\d{3} \[\d\.\d\d, \d\.\d\d\]"
#: both simple baselines beside the model, each with its interval
BASELINES = rf"\(rules {INTERVAL}; thresholds rule {INTERVAL}\)"


def test_train_prints_intervals_and_warns_of_thin_evidence(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    made = runner.invoke(
        app, ["simulate", "--companies", "3000", "--seed", "5", "--out", str(data)]
    )
    assert made.exit_code == 0, made.output
    assert runner.invoke(app, ["ingest", "--data", str(data)]).exit_code == 0

    sme = runner.invoke(app, ["train", "--as-of", "2025-12-31", "--tier", "specialized_sme"])
    assert sme.exit_code == 0, sme.output
    text = sme.stdout
    assert re.search(rf"AUC \(approved vs rejected\): {INTERVAL} {BASELINES}", text)
    for k in (10, 25, 50, 100, 200):
        assert re.search(rf"precision@{k}: {INTERVAL} {BASELINES}", text), k
    assert "95% bootstrap intervals" in text
    assert "now serves specialized_sme: promoted because no model served" in text

    # 15 little-giant decisions in this world's last round: too few to judge by
    giant = runner.invoke(app, ["train", "--as-of", "2025-12-31", "--tier", "little_giant"])
    assert giant.exit_code == 0, giant.output
    text = giant.stdout
    assert re.search(
        r"AUC \(approved vs rejected\): 证据不足 too few decisions \(\d+, \d+ approved\)", text
    )
    assert not re.search(r"AUC \(approved vs rejected\): \d", text)
    assert re.search(rf"precision@50: {INTERVAL} {BASELINES}", text)
    assert "注意 warning: 证据不足" in text
    assert re.search(r"now serves little_giant: .* 注意 warning: 证据不足 .*little evidence", text)

    for tier in ("specialized_sme", "little_giant"):
        folder = home / "models" / tier
        model = folder / (folder / "SERVING").read_text(encoding="utf-8").strip()
        card = json.loads((model / "bundle.json").read_text(encoding="utf-8"))["card"]
        md = (model / "card.md").read_text(encoding="utf-8")
        assert card["intervals"]["resamples"] == 1000 and card["intervals"]["level"] == 0.95
        at_50 = card["metrics"]["model"]["at_k"]["50"]
        lo, hi = at_50["precision_ci"]
        assert lo <= at_50["precision"] <= hi
        assert re.search(r"\| 50 \| \d+\.\d% \[\d+%, \d+%\] \|", md)
        assert ("## 警示 Warnings" in md) == bool(card["warnings"])
    assert card["warnings"] and card["warnings"][0].startswith("证据不足")
    assert "AUC, direct evidence (approved vs rejected): **证据不足" in md
