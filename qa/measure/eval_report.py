"""`qa eval`'s report: the metrics table (✓/✗ against the targets), the failed items with what
was expected and answered, and a bar chart of the rates.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from qa.measure.scoring import METRIC_ROWS, TARGETS, target_met


def _fmt(value, kind: str) -> str:
    if value is None:
        return "–"
    if kind == "count":
        return str(int(value))
    if kind == "seconds":
        return f"{value:.2f} s"
    return f"{value:.3f}"


def format_report(report: dict, names: list[str], gold_path: Path, split: str, limit: int | None) -> str:
    """What `qa eval` prints: every configuration's metrics, the first one's by language and its
    failed items."""
    first = names[0]
    return "\n".join(
        [
            f"\nqa eval — {gold_path}, split {split}, {report['items']} items"
            f"{tagged(report.get('tags'))}{f' (first {limit})' if limit else ''}; ✓/✗ against the test-split targets\n",
            format_table({n: report["configs"][n]["metrics"] for n in names}),
            f"\nby language ({first}):\n",
            format_table(report["configs"][first]["by_lang"], with_targets=False),
            f"\nfailures ({first}):",
            format_failures(report["configs"][first]["items"]),
        ]
    )


def tagged(tags: list[str] | None) -> str:
    """The header's note of a run over the items carrying `tags` (``qa eval --tag``); "" for all."""
    return f" tagged {', '.join(tags)}" if tags else ""


def format_table(columns: dict[str, dict], with_targets: bool = True) -> str:
    """Rows = metrics, one column per name; ✓/✗ after values that have a target."""
    names = list(columns)
    width = max(len(label) for label, _, _ in METRIC_ROWS) + 2
    col = max(12, *(len(n) + 2 for n in names))
    header = "metric".ljust(width) + "".join(n.rjust(col) for n in names)
    if with_targets:
        header += "   target"
    lines = [header, "-" * len(header)]
    for label, key, kind in METRIC_ROWS:
        cells = []
        for n in names:
            value = columns[n].get(key)
            met = target_met(key, value) if with_targets else None
            cells.append((_fmt(value, kind) + ("" if met is None else (" ✓" if met else " ✗"))).rjust(col))
        row = label.ljust(width) + "".join(cells)
        if with_targets and key in TARGETS:
            row += f"   {TARGETS[key][0]} {TARGETS[key][1]:.2f}"
        lines.append(row)
    return "\n".join(lines)


def format_failures(results: list[dict]) -> str:
    failed = [r for r in results if r["failures"]]
    modes = Counter(m for r in failed for m in r["failures"])
    lines = [f"{len(failed)} of {len(results)} items failed a check"]
    if modes:
        lines.append("failure modes: " + ", ".join(f"{m} ×{n}" for m, n in modes.most_common()))
    for r in failed:
        expected = (
            " ; ".join(" | ".join(f["variants"][:3]) + (" …" if len(f["variants"]) > 3 else "") for f in r["facts"])
            or "(unanswerable: abstain)"
        )
        lines.append(f"\n- {r['id']} [{', '.join(r['failures'])}] {r['question']}")
        lines.append(f"    expected: {expected}")
        lines.append(f"    answer:   {' '.join(r['text'].split()) or '(none)'}")
        if r["error"]:
            lines.append(f"    error:    {r['error']}")
        lines.append(
            f"    retrieved: {', '.join(r['retrieved_docs'][:5]) or '–'}; gold: {', '.join(r['gold_docs']) or '–'}"
        )
        bad = [
            f"[{c['n']}] {c['doc_id']}: {' '.join(c.get('quote', '').split())[:120]}"
            for c in r["citations"]
            if not c["supports"]
        ]
        for b in bad:
            lines.append(f"    unsupported citation {b}")
        for note in r["notes"]:
            lines.append(f"    note:     {' '.join(note.split())}")
    return "\n".join(lines)


def write_chart(report: dict, path: Path) -> Path:
    """A grouped bar chart of the rate metrics, one colour per configuration."""
    # lazily: matplotlib is needed for this chart only, and every `qa` command imports this module
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keys = [
        "recall@5",
        "mrr",
        "ndcg@10",
        "context_recall",
        "fact_accuracy",
        "language_match",
        "citation_precision",
        "citation_support_precision",
        "citation_recall",
        "abstention_precision",
        "abstention_recall",
        "false_abstention",
    ]
    names = list(report["configs"])
    width = 0.8 / max(1, len(names))
    fig, ax = plt.subplots(figsize=(12, 4.8))
    for j, name in enumerate(names):
        metrics = report["configs"][name]["metrics"]
        xs = [i + (j - (len(names) - 1) / 2) * width for i in range(len(keys))]
        ax.bar(xs, [metrics.get(k) or 0.0 for k in keys], width, label=name)
        for x, k in zip(xs, keys):
            if metrics.get(k) is None:
                ax.text(x, 0.01, "n/a", ha="center", va="bottom", fontsize=7, rotation=90)
    for i, k in enumerate(keys):
        if k in TARGETS:
            ax.hlines(TARGETS[k][1], i - 0.45, i + 0.45, colors="black", linestyles="dashed", linewidth=1)
    ax.set_xticks(range(len(keys)))
    ax.set_xticklabels([k.replace("_", " ") for k in keys], rotation=30, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"qa eval — {report['split']} split, {report['items']} items (dashed: target)")
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
