"""A small server-side SVG renderer for control charts (no JavaScript, no CDN)."""

from django.utils.html import escape
from django.utils.translation import gettext as _

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 720, 300, 60, 20, 20, 40


def control_chart_svg(points, lower=None, upper=None, title=""):
    """``points``: (date, value, failed, source) sorted by date. Failed points are red crosses."""
    if not points:
        return '<svg xmlns="http://www.w3.org/2000/svg" width="720" height="60" role="img">' \
               f'<text x="10" y="30">{escape(_("No results yet."))}</text></svg>'
    values = [float(p[1]) for p in points] + [float(x) for x in (lower, upper) if x is not None]
    vmin, vmax = min(values), max(values)
    pad = (vmax - vmin) * 0.1 or abs(vmax) * 0.1 or 1.0
    vmin, vmax = vmin - pad, vmax + pad
    days = [p[0].toordinal() for p in points]
    dmin, dmax = min(days), max(days)
    dspan = (dmax - dmin) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(day):
        return LEFT + (day - dmin) / dspan * plot_w if dmax != dmin else LEFT + plot_w / 2

    def y(value):
        return TOP + (vmax - float(value)) / (vmax - vmin) * plot_h

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
           f'class="control-chart" role="img" aria-label="{escape(title)}">',
           f'<title>{escape(title)}</title>',
           f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="#fff" stroke="#999"/>']
    for label, limit in ((_("lower limit"), lower), (_("upper limit"), upper)):
        if limit is not None:
            ly = y(limit)
            out.append(f'<line class="limit" x1="{LEFT}" x2="{LEFT + plot_w}" y1="{ly:.1f}" y2="{ly:.1f}" '
                       f'stroke="#c00" stroke-dasharray="6 4"/>')
            out.append(f'<text x="{LEFT + plot_w - 4}" y="{ly - 4:.1f}" text-anchor="end" font-size="11" '
                       f'fill="#c00">{escape(label)} {limit}</text>')
    for tick in range(5):
        value = vmin + (vmax - vmin) * tick / 4
        ty = y(value)
        out.append(f'<text x="{LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end" font-size="11">{value:.2f}</text>')
    out.append(f'<text x="{LEFT}" y="{HEIGHT - 12}" font-size="11">{points[0][0]:%Y-%m-%d}</text>')
    out.append(f'<text x="{LEFT + plot_w}" y="{HEIGHT - 12}" text-anchor="end" font-size="11">'
               f'{points[-1][0]:%Y-%m-%d}</text>')
    own = [p for p in points if p[3] == "self"]
    if len(own) > 1:
        path = " ".join(f"{x(p[0].toordinal()):.1f},{y(p[1]):.1f}" for p in own)
        out.append(f'<polyline points="{path}" fill="none" stroke="#36c" stroke-width="1"/>')
    for day, value, failed, source in points:
        px, py = x(day.toordinal()), y(value)
        tip = f"<title>{day:%Y-%m-%d}: {value} ({source}){' — FAILED' if failed else ''}</title>"
        if failed:
            out.append(f'<g class="point failed"><path d="M{px - 5:.1f},{py - 5:.1f}L{px + 5:.1f},{py + 5:.1f}'
                       f'M{px - 5:.1f},{py + 5:.1f}L{px + 5:.1f},{py - 5:.1f}" stroke="#c00" stroke-width="2.5"/>'
                       f'{tip}</g>')
        elif source == "lab":
            out.append(f'<rect class="point lab" x="{px - 4:.1f}" y="{py - 4:.1f}" width="8" height="8" '
                       f'fill="#f90">{tip}</rect>')
        else:
            out.append(f'<circle class="point ok" cx="{px:.1f}" cy="{py:.1f}" r="3" fill="#36c">{tip}</circle>')
    out.append("</svg>")
    return "".join(out)
