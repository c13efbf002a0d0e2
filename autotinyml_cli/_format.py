"""How the command line writes figures: one place, so every command says them alike."""

from __future__ import annotations

from validation.export import verdict_source_text  # (a report's words, where the report is made)

__all__ = ["describe_headroom", "describe_latency", "describe_ms", "report_figures", "verdict_source_text"]


def describe_headroom(headroom: int, capacity: int) -> str:
    """'1,234 B free (7.5 % of 16,384 B)' or, over the limit, 'over by 1,234 B (needs 1.08x the 16,384 B)'.

    A model far over a small board would otherwise read as "-4433.0 %" headroom.
    """
    if capacity <= 0:
        return f"{headroom:+,} B"
    if headroom >= 0:
        return f"{headroom:,} B free ({100.0 * headroom / capacity:.1f} % of {capacity:,} B)"
    return f"over by {-headroom:,} B (needs {(capacity - headroom) / capacity:.2f}x the {capacity:,} B)"


def describe_ms(headroom_ms: float) -> str:
    """'3.20 ms to spare' or 'over by 1.50 ms'."""
    return f"{headroom_ms:.2f} ms to spare" if headroom_ms >= 0 else f"over by {-headroom_ms:.2f} ms"


def describe_latency(latency: dict) -> str:
    """report.json's latency block in one line: estimate, band, and the budget's headroom where there is one."""
    text = f"{latency['ms']:.2f} ms (band {latency['low_ms']:.2f}..{latency['high_ms']:.2f} ms)"
    if latency.get("budget_ms") is not None:
        text += f"; budget {latency['budget_ms']:g} ms on the top of the band: {describe_ms(latency['headroom_ms'])}"
    return text


def report_figures(report: dict) -> str:
    """The verdict's figures from a report.json: predicted beside measured, headroom against the board."""
    t, p, m, h = report["target"], report["predicted"], report.get("measured"), report["headroom"]
    lines = []
    for key, label, cap in (("ram_bytes", "RAM", t["ram_bytes"]),
                            ("region_bytes", "one SRAM region", t["largest_region_bytes"]),
                            ("flash_bytes", "Flash", t["flash_bytes"])):
        which = {"ram_bytes": "ram", "region_bytes": "region", "flash_bytes": "flash"}[key]
        measured = f"measured {m[key]:,} B, " if m else ""
        lines.append(f"  {label:<16s} {measured}memsim {p[key]:,} B; board {cap:,} B; "
                     f"{describe_headroom(h[which]['bytes'], cap)}")
    if report.get("latency"):
        lines.append(f"  latency          {describe_latency(report['latency'])}, memsim's time model")
    xc = report["cross_accuracy"]
    interval = xc.get("interval_95")
    band = f", 95 % interval {100 * interval[0]:.1f}-{100 * interval[1]:.1f} %" if interval else ""
    lines.append(f"  X-CROSS          {100 * xc['acc']:.2f} % agreement on {xc['n']} inputs{band} (measured by "
                 f"{xc['measured_by']})")
    return "\n".join(lines)
