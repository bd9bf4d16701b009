"""Execute the analyst notebooks on a fresh kernel, as CI does.

    .venv/bin/python scripts/run_notebooks.py                 # every notebooks/*.ipynb
    .venv/bin/python scripts/run_notebooks.py notebooks/03_backtest.ipynb --out /tmp/nb
    .venv/bin/python scripts/run_notebooks.py --check-stripped
    .venv/bin/python scripts/run_notebooks.py --strip          # clear outputs before committing

Each notebook runs top to bottom with nbclient on a kernel started from the Python
running this script (the project's `.venv`): the kernel spec is written to a
temporary directory, so nothing needs registering in the user's Jupyter set-up.
A run fails on the first cell error, and when a notebook shows no image. Executed
copies go to `--out` (default: a new temporary directory), never back into
`notebooks/`, whose committed files carry no outputs (`--check-stripped`).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
KERNEL_NAME = "sme-discovery"

#: LightGBM's OpenMP threads spin while waiting; on a busy CI machine that makes training
#: tens of times slower. Passive waiting costs nothing when the machine is idle.
KERNEL_ENV = {
    "OMP_WAIT_POLICY": "passive",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "PYTHONHASHSEED": "0",
}


def write_kernel_spec(where: Path) -> None:
    """A kernel spec named `sme-discovery` that starts this interpreter's ipykernel."""
    spec_dir = where / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (sme-discovery)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1), encoding="utf-8")


def image_count(nb: dict) -> int:
    return sum(
        1
        for cell in nb["cells"]
        if cell["cell_type"] == "code"
        for output in cell.get("outputs", [])
        if any(kind.startswith("image/") for kind in output.get("data", {}))
    )


def unstripped_cells(path: Path) -> list[int]:
    """Indices of code cells that carry outputs or an execution count."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    return [
        i
        for i, cell in enumerate(nb["cells"])
        if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]


def strip(path: Path) -> bool:
    """Clear outputs and execution counts in place; True when the file changed."""
    text = path.read_text(encoding="utf-8")
    nb = json.loads(text)
    for cell in nb["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            cell.get("metadata", {}).pop("execution", None)
    stripped = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    if stripped != text:
        path.write_text(stripped, encoding="utf-8")
    return stripped != text


def run_one(path: Path, out_dir: Path, timeout: int) -> tuple[float, int]:
    """Execute one notebook; write the executed copy to `out_dir`; return (seconds, images)."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(path.parent)}},
        allow_errors=False,
    )
    started = time.perf_counter()
    try:
        client.execute(env={**os.environ, **KERNEL_ENV})
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, out_dir / path.name)  # kept for reading the failure too
    return time.perf_counter() - started, image_count(nb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--out", type=Path, help="where executed copies go (default: a temp dir)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument(
        "--check-stripped", action="store_true", help="only check that no notebook has outputs"
    )
    parser.add_argument("--strip", action="store_true", help="clear outputs in place, then stop")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print(f"no notebooks found in {NOTEBOOKS}", file=sys.stderr)
        return 1

    if args.strip:
        for p in paths:
            print(f"{'stripped' if strip(p) else 'clean   '} {p}")
        return 0
    if args.check_stripped:
        dirty = {p: cells for p in paths if (cells := unstripped_cells(p))}
        for p, cells in dirty.items():
            print(f"{p}: outputs in code cells {cells}; clear them before committing")
        return 1 if dirty else 0

    out_dir = args.out or Path(tempfile.mkdtemp(prefix="notebooks-"))
    if out_dir.resolve() == NOTEBOOKS.resolve():
        print("--out must not be notebooks/: executed copies never replace the sources")
        return 2
    failed = []
    with tempfile.TemporaryDirectory(prefix="jupyter-") as jupyter:
        write_kernel_spec(Path(jupyter))
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            p for p in (jupyter, os.environ.get("JUPYTER_PATH")) if p
        )
        for path in paths:
            try:
                seconds, images = run_one(path, out_dir, args.timeout)
            except Exception as exc:  # a cell error: report it and go on to the next notebook
                print(f"FAIL {path.name}: {type(exc).__name__}: {str(exc)[-2000:]}")
                failed.append(path.name)
                continue
            if images == 0:
                print(f"FAIL {path.name}: ran in {seconds:.0f}s but produced no image")
                failed.append(path.name)
                continue
            print(f"ok   {path.name}: {seconds:.0f}s, {images} image(s)")
    print(f"executed copies in {out_dir}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
