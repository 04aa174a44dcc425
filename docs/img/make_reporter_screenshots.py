"""Render the screenshots of docs/reporters.md: the Excel workbook as
LibreOffice draws it, and the PNG plots.

Run from the repository root (needs LibreOffice and poppler-utils)::

    python docs/img/make_reporter_screenshots.py

It tunes an SVC on scikit-learn's digits from a poor start (a few minutes), writes
``report.xlsx`` and the plots from the run folder, converts the workbook to
PDF with ``soffice --headless`` and crops the History and Progress pages
with ``pdftoppm``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image
from sklearn.datasets import load_digits
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import autotune_core as at
from reporters import ExcelReporter, PlotReporter

HERE = Path(__file__).resolve().parent


def tune(folder: Path) -> at.TuneResult:
    X, y = load_digits(return_X_y=True)
    space = at.SearchSpace(
        {
            "svc__C": at.Float(low=1e-3, high=1e3, log=True, start=0.1),
            "svc__gamma": at.Float(low=1e-5, high=1.0, log=True, start=0.1),
            "svc__kernel": at.Categorical(choices=("rbf", "sigmoid"), start="rbf"),
            "svc__shrinking": at.Bool(),
        }
    )
    objective = at.SklearnObjective(
        make_pipeline(StandardScaler(), SVC()), X, y, cv=3, scoring="accuracy"
    )
    return at.tune(
        objective,
        space,
        max_trials=120,
        seed=7,
        executor="inline",
        run_dir=folder / "svc-run",
        min_improvement=0.0005,
    )


def replay(folder: Path, reporter: at.Reporter) -> None:
    reporter.bind(at.RunControl())
    for event in at.read_events(folder / "events.jsonl"):
        reporter.handle(event)
    reporter.close()


def pdf_pages(workbook: Path, work: Path) -> Path:
    subprocess.run(
        [
            "soffice",
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(work),
            str(workbook),
        ],
        check=True,
        capture_output=True,
    )
    return work / f"{workbook.stem}.pdf"


def page_image(pdf: Path, page: int, work: Path, *, dpi: int) -> Image.Image:
    prefix = work / f"page{page}"
    pages = ["-f", str(page), "-l", str(page)]
    subprocess.run(
        ["pdftoppm", "-png", "-r", str(dpi), *pages, str(pdf), str(prefix)], check=True
    )
    return Image.open(next(work.glob(f"page{page}*.png"))).convert("RGB")


def trim(image: Image.Image, *, bottom: float = 1.0, margin: int = 12) -> Image.Image:
    """Cut the white page margins (and the page below ``bottom``, a fraction)."""
    image = image.crop((0, 0, image.width, int(image.height * bottom)))
    grey = image.convert("L").point(lambda v: 255 if v < 250 else 0)
    left, top, right, lower = grey.getbbox() or (0, 0, image.width, image.height)
    return image.crop(
        (
            max(left - margin, 0),
            max(top - margin, 0),
            min(right + margin, image.width),
            min(lower + margin, image.height),
        )
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        result = tune(work)
        assert result.run_dir is not None
        workbook = work / "report.xlsx"
        replay(result.run_dir, ExcelReporter(path=workbook))
        replay(result.run_dir, PlotReporter(path=work / "plots", dpi=90))
        pdf = pdf_pages(workbook, work)
        # Pages: History (2), Progress (1), Summary, Parameters.
        history = page_image(pdf, 1, work, dpi=170)
        history = history.crop((0, 0, int(history.width * 0.735), history.height))
        trim(history, bottom=0.36).save(HERE / "excel-history.png", optimize=True)
        trim(page_image(pdf, 3, work, dpi=110), bottom=0.8).save(
            HERE / "excel-progress.png", optimize=True
        )
        trim(page_image(pdf, 4, work, dpi=90), bottom=0.75).save(
            HERE / "excel-summary.png", optimize=True
        )
        for name in ("score-by-trial", "parameter-trace"):
            shutil.copy(work / "plots" / f"{name}.png", HERE / f"plots-{name}.png")
        print(f"best accuracy {result.best_score:.4f}; screenshots in {HERE}")


if __name__ == "__main__":
    main()
