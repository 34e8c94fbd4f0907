"""Source files: soft limit 500 lines (reported), hard limit 1000 (fails)."""
import pathlib
import sys

root = pathlib.Path(__file__).resolve().parents[1]
hard = []
for p in sorted(root.glob("**/*")):
    if p.suffix not in {".cc", ".h", ".cu", ".py"} or "build" in p.parts or ".git" in p.parts:
        continue
    n = sum(1 for _ in p.open(encoding="utf-8", errors="replace"))
    if n > 1000:
        hard.append((p, n))
    elif n > 500:
        print(f"note: {p.relative_to(root)} has {n} lines (soft limit 500)")
for p, n in hard:
    print(f"error: {p.relative_to(root)} has {n} lines (hard limit 1000)")
sys.exit(1 if hard else 0)
