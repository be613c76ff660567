"""Keep README.md's generated blocks in step with the files the scripts write.

A block sits between ``<!-- <tag>:begin -->`` and ``<!-- <tag>:end -->``. Only a
results/ folder whose parent holds a README with that block is spliced, so
runs into temporary folders (tests) never touch the repository's README.
"""

from __future__ import annotations

from pathlib import Path


def _nest_headings(text: str, top: int = 3) -> str:
    """Shift markdown headings so the block's highest one is level `top` (### by default),
    keeping the README's own section structure intact."""
    lines = text.splitlines()
    levels = [len(line) - len(line.lstrip("#")) for line in lines if line.startswith("#")]
    if not levels:
        return text
    shift = top - min(levels)
    return "\n".join("#" * shift + line if line.startswith("#") else line for line in lines)


def splice_readme(results_dir: str | Path, tag: str, text: str) -> bool:
    results = Path(results_dir).resolve()
    readme = results.parent / "README.md"
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    if results.name != "results" or not readme.exists():
        return False
    content = readme.read_text()
    if begin not in content or end not in content:
        return False
    head, rest = content.split(begin, 1)
    _, tail = rest.split(end, 1)
    readme.write_text(f"{head}{begin}\n{_nest_headings(text.strip())}\n{end}{tail}")
    return True
