"""The analyst notebooks: committed without outputs, and executed top to bottom (as CI does)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "run_notebooks.py"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_exist() -> None:
    assert [p.name for p in NOTEBOOKS] == [
        "01_explore_graph.ipynb",
        "02_retrain_and_compare.ipynb",
        "03_backtest.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_notebooks_are_stripped(path: Path) -> None:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [] and cell["execution_count"] is None, path.name
    # notebooks use the public API only
    source = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    assert "discovery.load(" in source
    imported = {
        line.split()[1].split(".")[0]
        for line in source.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imported <= {"discovery", "pandas", "matplotlib", "networkx", "tempfile", "pathlib"}
    assert not any(
        line.startswith(("from discovery.", "import discovery.", "from graph", "from features"))
        for line in source.splitlines()
    )


def test_check_stripped_flags_outputs(tmp_path: Path) -> None:
    nb = json.loads(NOTEBOOKS[0].read_text(encoding="utf-8"))
    code = next(c for c in nb["cells"] if c["cell_type"] == "code")
    code["execution_count"] = 1
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["hi\n"]}]
    dirty = tmp_path / "dirty.ipynb"
    dirty.write_text(json.dumps(nb), encoding="utf-8")
    run = [sys.executable, str(SCRIPT), "--check-stripped"]
    assert subprocess.run([*run, str(dirty)], capture_output=True).returncode == 1
    assert subprocess.run(run, capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_notebooks_run_on_a_fresh_kernel(tmp_path: Path) -> None:
    out = tmp_path / "executed"
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in out.glob("*.ipynb")) == [p.name for p in NOTEBOOKS]
    for path in NOTEBOOKS:  # the sources stay stripped
        assert '"outputs": []' in path.read_text(encoding="utf-8")
    assert result.stdout.count("ok   ") == len(NOTEBOOKS)
