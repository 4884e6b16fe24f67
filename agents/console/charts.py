"""The dashboard's trend charts, drawn on the server as SVG geometry the template writes out.

Colours come from CSS classes (``chart-*`` in ``console.css``), never inline styles: the
console's content security policy forbids them, and the classes follow the dark theme.
Each chart carries a sentence for its accessible name and the values as table rows, so
nothing is shown only as a picture.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from agents.metrics import TrendDay

WIDTH = 320
HEIGHT = 130
TOP = 16       # room for the scale's label above the plot
BASELINE = 108  # the plot's bottom; the day labels sit under it
PLOT_HEIGHT = BASELINE - TOP


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    label: str


@dataclass
class Series:
    name: str
    css: str
    values: Sequence[float | None]


@dataclass
class Chart:
    key: str
    title: str
    summary: str
    bars: list[Bar]
    scale_label: str
    first_day: str
    last_day: str
    legend: list[Series]
    columns: list[str]
    rows: list[list[str]]
    note: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = BASELINE
    label_y: int = HEIGHT - 6


def duration(seconds: float) -> str:
    """A cycle time in the largest unit that keeps it readable."""
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def day_label(day: date) -> str:
    return f"{day.day} {day:%b}"


def _count(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f}"


def _chart(key: str, title: str, days: Sequence[date], series: list[Series], summary: str,
           show: Callable[[float | None], str] = _count, note: str = "") -> Chart:
    """Bars side by side per day, one per series, on a scale from zero to the largest value."""
    largest = max((v for s in series for v in s.values if v is not None), default=0.0)
    top = largest or 1
    slot = WIDTH / max(len(days), 1)
    bar_width = slot * 0.8 / len(series)
    bars = []
    for index, day in enumerate(days):
        for position, one in enumerate(series):
            value = one.values[index]
            if not value:  # a zero or a missing value draws no bar; the table says which
                continue
            height = PLOT_HEIGHT * value / top
            bars.append(Bar(x=round(index * slot + slot * 0.1 + position * bar_width, 2),
                            y=round(BASELINE - height, 2), width=round(bar_width, 2), height=round(height, 2),
                            css=one.css, label=f"{day_label(day)}: {one.name.lower()} {show(value)}"))
    rows = [[day_label(day), *(show(s.values[i]) for s in series)] for i, day in enumerate(days)]
    return Chart(key=key, title=title, summary=summary, bars=bars,
                 scale_label=f"max {show(largest)}" if largest else "none",
                 first_day=day_label(days[0]) if days else "", last_day=day_label(days[-1]) if days else "",
                 legend=series, columns=["Day", *(s.name for s in series)], rows=rows, note=note)


def trend_charts(trends: list[TrendDay], *, agents_online: int, agents_total: int) -> list[Chart]:
    """The dashboard's charts, in the order the page shows them."""
    days = [t.date for t in trends]
    span = f"{day_label(days[0])} to {day_label(days[-1])} (UTC)" if days else ""
    opened = [float(t.tasks_opened) for t in trends]
    closed = [float(t.tasks_closed) for t in trends]
    charts = [_chart(
        "tasks", "Tasks opened and closed", days,
        [Series("Opened", "chart-opened", opened), Series("Closed", "chart-closed", closed)],
        f"Tasks opened and closed per day, {span}: {sum(opened):.0f} opened, {sum(closed):.0f} closed.")]

    cycles: list[float | None] = [t.median_cycle_time_seconds for t in trends]
    known = [c for c in cycles if c is not None]
    if known:
        cycle_summary = (f"Median cycle time of the tasks finished each day, {span}: {len(known)} days with "
                         f"finished work, from {duration(min(known))} to {duration(max(known))}.")
    else:
        cycle_summary = f"Median cycle time per day, {span}: no task that had been in progress was finished."
    charts.append(_chart("cycle", "Cycle time", days, [Series("Median", "chart-cycle", cycles)], cycle_summary,
                         show=lambda v: "–" if v is None else duration(v),
                         note="From entering in progress to done; a day without finished work has no bar."))

    waiting = [float(t.approvals_waiting) for t in trends]
    charts.append(_chart(
        "approvals", "Approvals waiting", days, [Series("Waiting", "chart-waiting", waiting)],
        f"Approvals waiting for a decision at the end of each day, {span}: "
        f"{waiting[-1] if waiting else 0:.0f} now, at most {max(waiting, default=0):.0f}.",
        note="Counted at the end of each day; today, now."))

    if trends and trends[0].webhook_deliveries is not None:
        delivered = [float(t.webhook_deliveries.delivered) if t.webhook_deliveries else 0.0 for t in trends]
        failed = [float(t.webhook_deliveries.failed) if t.webhook_deliveries else 0.0 for t in trends]
        total = sum(t.webhook_deliveries.total for t in trends if t.webhook_deliveries)
        charts.append(_chart(
            "deliveries", "Webhook deliveries", days,
            [Series("Delivered", "chart-delivered", delivered), Series("Failed", "chart-failed", failed)],
            f"Webhook deliveries per day, {span}: {total} created, {sum(delivered):.0f} delivered, "
            f"{sum(failed):.0f} failed.",
            note="By the day the delivery was created and where it stands now; failed includes dead."))

    active = [float(t.agents_active) for t in trends]
    charts.append(_chart(
        "agents", "Agents active", days, [Series("Active", "chart-agents", active)],
        f"Agents that checked in or acted each day, {span}: at most {max(active, default=0):.0f}; "
        f"{agents_online} of {agents_total} online now.",
        note=f"{agents_online} of {agents_total} online now. Presence has no history: a day counts the agents "
             "the activity record shows checking in or acting."))
    return charts
