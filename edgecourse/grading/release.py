"""Generate the student notebooks in notebooks/ from solutions/ through nbgrader."""

import shutil
import tempfile
from pathlib import Path

from edgecourse.grading.course import Course, check, lessons


def release(root: Path, only: list[str] | None = None, out_root: Path | None = None) -> list[Path]:
    """Write the student version of each lesson; return the notebooks written.

    ``out_root`` (default: ``root``) receives ``notebooks/``; a throwaway gradebook is used, so
    releasing changes nothing but the student notebooks.
    """
    known = lessons(root)
    chosen = only or known
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        raise ValueError(f"unknown lesson(s) {unknown}; lessons with a solution notebook: {known}")
    out_root = Path(out_root or root)
    written = []
    with tempfile.TemporaryDirectory(prefix="edgecourse-release-") as tmp:
        work = Path(tmp)
        shutil.copytree(root / "solutions", work / "solutions",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        nbapi = Course.load(root, course_dir=work, db=work / "gradebook.db").api()
        for lesson in chosen:
            check(nbapi.generate_assignment(lesson, force=True), f"generate_assignment {lesson}")
            target = out_root / "notebooks" / lesson
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(work / "notebooks" / lesson, target)
            written.append(target / f"{lesson}.ipynb")
    return written
