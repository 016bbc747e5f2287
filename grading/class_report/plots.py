"""The report's plots as base64 PNGs, to embed in the page.

matplotlib's object API on the Agg canvas: no pyplot, no global state. matplotlib and numpy are
imported when a plot is drawn, not when the package is imported.
"""

import base64
import io

from grader_tests.points import MAX_TOTAL, PARTS, POINTS


def load():
    """Imports what drawing needs (matplotlib's figure, its Agg canvas, numpy) now: make grade calls it in a
    thread once a worker of the batch is idle, so that the report does not import it after the batch."""
    import matplotlib.figure  # noqa: F401, PLC0415
    import numpy  # noqa: F401, PLC0415
    from matplotlib.backends import backend_agg  # noqa: F401, PLC0415


def _png(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, metadata={"Software": None})
    return base64.b64encode(buffer.getvalue()).decode("ascii")


PART_COLOURS = dict(zip(PARTS, ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3", "#8c8c8c",
                                 "#ccb974", "#64b5cd"]))


def _figure(width, height):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained")
    return fig, fig.add_subplot()


def plot_totals(totals, threshold_points):
    import numpy as np

    fig, ax = _figure(8, 3.2)
    edges = np.arange(0, MAX_TOTAL + 0.5, 0.5)
    ax.hist(np.clip(totals, 0, MAX_TOTAL), bins=edges, color="#4c72b0", edgecolor="white")
    ax.axvline(threshold_points, color="#c44e52", linestyle="--", linewidth=1.5,
               label=f"threshold ({threshold_points:g})")
    ax.set_xlim(0, MAX_TOTAL)
    ax.set_xlabel(f"total points (of {MAX_TOTAL:g})")
    ax.set_ylabel("students")
    ax.yaxis.get_major_locator().set_params(integer=True)
    ax.legend(loc="upper left", frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def plot_parts(stats):
    fig, ax = _figure(8, 0.45 * len(PARTS) + 1.0)
    labels = [f"{part} ({POINTS[part]})" for part in PARTS][::-1]
    full = [100 * stats[p]["full"] for p in PARTS][::-1]
    zero = [100 * stats[p]["zero"] for p in PARTS][::-1]
    partial = [100 - f - z for f, z in zip(full, zero)]
    ax.barh(labels, full, color="#55a868", label="full marks")
    ax.barh(labels, partial, left=full, color="#dd8452", label="partial")
    ax.barh(labels, zero, left=[f + p for f, p in zip(full, partial)], color="#c44e52", label="zero")
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of students")
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3, frameon=False)
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def _share_bars(labels, shares, colours, xlabel):
    """Horizontal bars of percentages, first row on top, coloured by part (with a legend of the parts shown)."""
    from matplotlib.patches import Patch

    fig, ax = _figure(8, 0.22 * len(labels) + 1.2)
    bars = ax.barh(labels[::-1], shares[::-1], color=colours[::-1])
    ax.bar_label(bars, labels=[f"{s:.0f}%" for s in shares[::-1]], padding=2, fontsize=8)
    ax.set_xlim(0, max(shares) * 1.12 + 1)
    ax.set_ylim(-0.6, len(labels) - 0.4)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    shown = [p for p in PARTS if PART_COLOURS[p] in colours]
    ax.legend(handles=[Patch(color=PART_COLOURS[p], label=p) for p in shown], loc="lower right", fontsize=8,
              frameon=False)
    return _png(fig)


def plot_checks(rows):
    return _share_bars([r["check"] for r in rows], [100 * r["share"] for r in rows],
                       [PART_COLOURS[r["part"]] for r in rows],
                       "% of students who failed the check (of those whose part ran)")


def plot_mistakes(top):
    """``top``: (part, hint, share) of the most common mistakes."""
    return _share_bars([f"{hint or 'no hint'} ({part})" for part, hint, _ in top], [100 * share for *_, share in top],
                       [PART_COLOURS[part] for part, *_ in top],
                       "% of students who made the mistake (of those whose part ran)")
