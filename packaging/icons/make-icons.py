#!/usr/bin/env python3
"""Writes ecgscope.svg (two PQRST beats on ECG paper: pink 1 mm / 5 mm grid) and renders the
PNG sizes the hicolor icon theme uses with ImageMagick. Run from this folder:
    python3 make-icons.py
"""
import subprocess

S = 256
parts = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    f'<svg xmlns="http://www.w3.org/2000/svg" width="{S}" height="{S}" viewBox="0 0 {S} {S}">',
    "  <title>ecgscope</title>",
    '  <rect x="8" y="8" width="240" height="240" rx="28" fill="#fff4f2"/>',
    "  <g>",
]


def inset(p):
    """How far a grid line at coordinate p must stay from the edge to remain inside the
    rounded corners (radius 28 around (36, 36) etc.)."""
    d = max(36 - p, p - 220, 0)
    return 28 - (28 * 28 - d * d) ** 0.5 if d else 0


for i in range(1, 24):
    p = 8 + i * 10
    major = i % 5 == 0
    width = 2 if major else 0.8
    colour = "#f08c98" if major else "#f8c3ca"
    a, b = 8 + inset(p), S - 8 - inset(p)
    parts.append(f'    <line x1="{p}" y1="{a:.1f}" x2="{p}" y2="{b:.1f}" stroke="{colour}" stroke-width="{width}"/>')
    parts.append(f'    <line x1="{a:.1f}" y1="{p}" x2="{b:.1f}" y2="{p}" stroke="{colour}" stroke-width="{width}"/>')
parts.append("  </g>")
parts.append('  <rect x="8" y="8" width="240" height="240" rx="28" fill="none" stroke="#c9485b" stroke-width="6"/>')
# baseline y = 150; P, QRS, T of two beats
points = [(14, 150), (40, 150), (48, 140), (56, 150), (70, 150), (76, 160), (88, 52), (100, 190),
          (108, 150), (124, 150), (140, 128), (156, 150), (176, 150), (184, 140), (192, 150),
          (204, 150), (210, 160), (222, 52), (234, 190), (242, 150)]
path = "M " + " L ".join(f"{x} {y}" for x, y in points)
parts.append(f'  <path d="{path}" fill="none" stroke="#1b1f3b" stroke-width="9" '
             'stroke-linejoin="round" stroke-linecap="round"/>')
parts.append("</svg>")
with open("ecgscope.svg", "w", encoding="utf-8") as f:
    f.write("\n".join(parts) + "\n")
for size in (48, 128, 256):
    subprocess.run(["convert", "-background", "none", "-density", "96", "ecgscope.svg",
                    "-resize", f"{size}x{size}", f"PNG32:ecgscope-{size}.png"], check=True)
