"""Source files: soft limit 500 lines (reported), hard limit 1000 (fails).

Only the project's own files count: in a git checkout, those git tracks or would track (not
ignored), so a virtual environment or build tree inside the checkout is left out; elsewhere
every source file outside hidden and build folders."""
import pathlib
import subprocess
import sys

root = pathlib.Path(__file__).resolve().parents[1]
SUFFIXES = {".cc", ".h", ".cu", ".py"}


def _in_environment(rel: str) -> bool:
    """Whether `rel` lies in a virtual environment or installed packages kept inside the checkout
    (a newcomer's `python -m venv venv` there is not ignored by .gitignore under every name)."""
    parts = pathlib.PurePath(rel).parts
    return "site-packages" in parts or any((root.joinpath(*parts[:i]) / "pyvenv.cfg").is_file()
                                           for i in range(1, len(parts)))


def project_files() -> list:
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=root,
                             capture_output=True, check=True).stdout
        return sorted(root / f for f in out.decode().split("\0") if f and not _in_environment(f))
    except (OSError, subprocess.CalledProcessError):  # no git, or not a checkout (an unpacked sdist)
        return sorted(p for p in root.glob("**/*")
                      if not any(part.startswith(".") or part.startswith("build") or part == "site-packages"
                                 for part in p.relative_to(root).parts))


hard = []
for p in project_files():
    if p.suffix not in SUFFIXES or not p.is_file():
        continue
    n = sum(1 for _ in p.open(encoding="utf-8", errors="replace"))
    if n > 1000:
        hard.append((p, n))
    elif n > 500:
        print(f"note: {p.relative_to(root)} has {n} lines (soft limit 500)")
for p, n in hard:
    print(f"error: {p.relative_to(root)} has {n} lines (hard limit 1000)")
sys.exit(1 if hard else 0)
