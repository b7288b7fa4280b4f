"""Generate the photos (and the small PDF) of the example releases in releases/.

The example site ships synthetic pictures so that the repository carries no
third-party photos: soft, stylised scenes drawn with Pillow, with a fine grain
so that they compress like real photographs. Everything is seeded, so a run
writes the same pixels every time (with the same Pillow/libjpeg build).
Every picture is 3200 x 2133 pixels (JPEG quality 85, each under 400 KB), so
the 3000-pixel print variant can be made from each without upscaling.

Some files carry metadata on purpose, for the tests of the photo stage:

* ``2025-04-09-radweg-lindenbach-hohenwiese/radweg.jpg`` has camera data, a
  body and lens serial number (EXIF 0xA431, 0xA435) and a GPS position; the
  variants must not copy them.
* ``2025-06-23-ausbildungsmesse-zukunft-auenfeld/messehalle.jpg`` is stored
  rotated by 90 degrees (2133 x 3200 pixels) with EXIF Orientation 6; shown
  upright it is a landscape picture (ceiling lights at the top, floor at the
  bottom).
* ``.../ausbildungsplaetze.png`` is a PNG graphic.
* ``2025-11-12-haushaltsentwurf-2026-eingebracht/eckdaten-haushalt-2026.pdf``
  is a hand-built one-page PDF attachment (under 2 KB).

Usage: ``python benchmarks/make_example_photos.py [SITE_DIR]`` (default: the
repository root).
"""

from __future__ import annotations

import math
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

Colour = tuple[int, int, int]

JPEG_QUALITY = 85
SIZE = (3200, 2133)   # every photo is delivered at full print width (the print variant is 3000 wide)


# --- drawing helpers -----------------------------------------------------------

def mix(a: Colour, b: Colour, t: float) -> Colour:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def vgrad(size: tuple[int, int], top: Colour, bottom: Colour) -> Image.Image:
    """A vertical gradient from `top` to `bottom`."""
    w, h = max(1, size[0]), max(1, size[1])
    mask = Image.linear_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", (w, h), bottom), Image.new("RGB", (w, h), top), mask)


def hgrad(size: tuple[int, int], left: Colour, right: Colour) -> Image.Image:
    return vgrad((size[1], size[0]), left, right).transpose(Image.Transpose.ROTATE_90).transpose(
        Image.Transpose.FLIP_TOP_BOTTOM)


def fill_poly(img: Image.Image, points: list[tuple[float, float]], top: Colour, bottom: Colour) -> None:
    """Fill a polygon with a vertical gradient spanning its own height."""
    ys = [y for _, y in points]
    y0, y1 = int(min(ys)), int(math.ceil(max(ys)))
    mask = Image.new("L", img.size, 0)
    ImageDraw.Draw(mask).polygon(points, fill=255)
    layer = Image.new("RGB", img.size, bottom)
    layer.paste(vgrad((img.width, y1 - y0), top, bottom), (0, max(0, y0)))
    img.paste(layer, (0, 0), mask)


def glow(img: Image.Image, centre: tuple[float, float], radius: float, colour: Colour, strength: float) -> None:
    """A soft round light (sun, lamp) that fades to nothing at `radius`."""
    r = max(2, int(radius))
    mask = ImageOps.invert(Image.radial_gradient("L")).resize((2 * r, 2 * r), Image.Resampling.BILINEAR)
    mask = mask.point(lambda v: round(255 * strength * (v / 255) ** 2))
    img.paste(Image.new("RGB", (2 * r, 2 * r), colour), (int(centre[0]) - r, int(centre[1]) - r), mask)


def soft_layer(img: Image.Image, draw_mask, colour: Colour, blur: float, opacity: float) -> None:
    """Paint `colour` through a blurred mask that `draw_mask(ImageDraw)` draws."""
    mask = Image.new("L", img.size, 0)
    draw_mask(ImageDraw.Draw(mask))
    mask = mask.filter(ImageFilter.GaussianBlur(blur)).point(lambda v: round(v * opacity))
    img.paste(Image.new("RGB", img.size, colour), (0, 0), mask)


def hill_line(width: int, base: float, amplitude: float, rng: random.Random, waves: int = 3) -> list[tuple[float, float]]:
    phases = [(rng.uniform(0.6, 2.4), rng.uniform(0, 2 * math.pi), rng.uniform(0.4, 1.0)) for _ in range(waves)]
    points = []
    for i in range(0, 65):
        x = width * i / 64
        y = base - amplitude * sum(a * math.sin(f * x / width * 2 * math.pi + p) for f, p, a in phases) / waves
        points.append((x, y))
    return points


def tree(d: ImageDraw.ImageDraw, x: float, ground: float, h: float, dark: Colour, light: Colour,
         trunk: Colour = (104, 82, 64)) -> None:
    tw = max(2, h * 0.07)
    d.rectangle([x - tw / 2, ground - h * 0.45, x + tw / 2, ground], fill=trunk)
    r = h * 0.28
    d.ellipse([x - r * 1.1, ground - h * 0.85, x + r * 0.9, ground - h * 0.33], fill=dark)
    d.ellipse([x - r * 0.8, ground - h * 1.0, x + r * 1.0, ground - h * 0.5], fill=light)
    d.ellipse([x - r * 0.3, ground - h * 0.8, x + r * 1.2, ground - h * 0.4], fill=mix(dark, light, 0.5))


def person(d: ImageDraw.ImageDraw, x: float, feet: float, h: float, shirt: Colour,
           trousers: Colour = (62, 66, 84), skin: Colour = (226, 186, 156), hair: Colour = (86, 62, 46)) -> None:
    w = h * 0.26
    leg = w * 0.38
    d.rounded_rectangle([x - w * 0.42, feet - h * 0.47, x - w * 0.42 + leg, feet], radius=leg / 2, fill=trousers)
    d.rounded_rectangle([x + w * 0.42 - leg, feet - h * 0.47, x + w * 0.42, feet], radius=leg / 2, fill=trousers)
    d.rounded_rectangle([x - w / 2, feet - h * 0.80, x + w / 2, feet - h * 0.40], radius=w * 0.3, fill=shirt)
    hr = h * 0.085
    hy = feet - h * 0.89
    d.ellipse([x - hr * 1.05, hy - hr * 1.1, x + hr * 1.05, hy + hr * 0.6], fill=hair)
    d.ellipse([x - hr, hy - hr * 0.85, x + hr, hy + hr], fill=skin)


def finish(img: Image.Image, rng: random.Random, grain: float, soften: float = 0.8) -> Image.Image:
    """Scale to SIZE, soften the hard polygon edges a little and add a fine, seeded film grain."""
    img = img.filter(ImageFilter.GaussianBlur(soften))
    if img.size != SIZE:
        img = img.resize(SIZE, Image.Resampling.LANCZOS)
    w, h = img.size
    nw, nh = (w + 1) // 2, (h + 1) // 2
    noise = Image.frombytes("L", (nw, nh), rng.randbytes(nw * nh)).resize((w, h), Image.Resampling.BILINEAR)
    return Image.blend(img, Image.merge("RGB", (noise, noise, noise)), grain)


# --- scenes --------------------------------------------------------------------

def radweg(w: int = 2400, h: int = 1600) -> Image.Image:
    rng = random.Random(1101)
    horizon = h * 0.52
    img = vgrad((w, h), (118, 168, 214), (246, 222, 196))
    glow(img, (w * 0.78, h * 0.2), h * 0.55, (255, 240, 210), 0.55)
    glow(img, (w * 0.78, h * 0.2), h * 0.06, (255, 252, 236), 1.0)

    def clouds(d: ImageDraw.ImageDraw) -> None:
        for cx, cy, s in ((0.18, 0.14, 1.0), (0.42, 0.22, 0.7), (0.62, 0.09, 0.55)):
            for _ in range(7):
                ox, oy = rng.uniform(-0.09, 0.09) * w * s, rng.uniform(-0.02, 0.02) * h
                rx, ry = rng.uniform(0.04, 0.08) * w * s, rng.uniform(0.02, 0.04) * h * s
                d.ellipse([cx * w + ox - rx, cy * h + oy - ry, cx * w + ox + rx, cy * h + oy + ry], fill=255)
    soft_layer(img, clouds, (255, 255, 255), h * 0.02, 0.8)

    far = hill_line(w, horizon - h * 0.07, h * 0.08, rng)
    fill_poly(img, far + [(w, horizon + 10), (0, horizon + 10)], (146, 174, 170), (170, 190, 168))
    mid = hill_line(w, horizon, h * 0.05, rng)
    fill_poly(img, mid + [(w, h), (0, h)], (128, 170, 102), (86, 138, 70))
    # fields: stripes that run towards the vanishing point
    vx, vy = w * 0.47, horizon + h * 0.01
    d = ImageDraw.Draw(img)
    for i in range(-14, 15):
        x = w * 0.5 + i * w * 0.09
        shade = (104, 152, 80) if i % 2 else (122, 166, 88)
        d.polygon([(vx, vy), (x, h), (x + w * 0.045, h)], fill=shade)
    fill_poly(img, mid[:24] + [(w * 0.36, h), (0, h)], (196, 182, 110), (176, 160, 96))  # ripe field on the left
    # the cycle path
    fill_poly(img, [(vx - 3, vy), (vx + 3, vy), (w * 0.72, h), (w * 0.46, h)], (196, 196, 190), (150, 150, 148))
    d = ImageDraw.Draw(img)
    for k in range(12):  # dashed centre line
        t0, t1 = (k / 12) ** 1.8, ((k + 0.45) / 12) ** 1.8
        def at(t: float) -> tuple[float, float]:
            return vx + (w * 0.59 - vx) * t, vy + (h - vy) * t
        (x0, y0), (x1, y1) = at(t0), at(t1)
        d.line([(x0, y0), (x1, y1)], fill=(244, 244, 236), width=max(1, int(2 + 14 * t1)))
    # young trees along the path, smaller towards the horizon
    for k in range(10):
        t = (k + 1) / 10
        t = t ** 1.6
        ground = vy + (h - vy) * t
        x = vx + (w * 0.82 - vx) * t
        tree(d, x, ground, 30 + 520 * t, (62, 112, 60), (98, 150, 76))
    for k in range(6):
        t = ((k + 1) / 7) ** 1.5
        tree(d, vx - (vx - w * 0.05) * t, vy + (h - vy) * t * 0.55, 26 + 260 * t, (70, 118, 64), (110, 156, 82))
    return finish(img, rng, 0.014)


def messehalle(w: int = 2400, h: int = 1600) -> Image.Image:
    """An exhibition hall; returned upright (landscape)."""
    rng = random.Random(2202)
    img = vgrad((w, h), (54, 60, 78), (196, 198, 206))
    d = ImageDraw.Draw(img)
    ceiling = h * 0.26
    fill_poly(img, [(0, 0), (w, 0), (w, ceiling), (0, ceiling)], (40, 44, 60), (74, 80, 100))
    d = ImageDraw.Draw(img)
    for k in range(13):  # roof truss
        x = w * k / 12
        d.line([(x, 0), (x + w * 0.04, ceiling)], fill=(96, 102, 124), width=8)
    d.line([(0, ceiling * 0.55), (w, ceiling * 0.55)], fill=(96, 102, 124), width=10)
    for k in range(7):
        glow(img, (w * (k + 0.5) / 7, ceiling * 0.62), h * 0.12, (255, 244, 214), 0.9)
    # back wall and floor
    wall = h * 0.62
    fill_poly(img, [(0, ceiling), (w, ceiling), (w, wall), (0, wall)], (214, 212, 206), (232, 230, 224))
    fill_poly(img, [(0, wall), (w, wall), (w, h), (0, h)], (196, 190, 180), (150, 142, 132))
    d = ImageDraw.Draw(img)
    vx = w * 0.5
    for i in range(-12, 13):
        d.line([(vx + i * w * 0.03, wall), (vx + i * w * 0.2, h)], fill=(170, 164, 154), width=4)
    for k in range(1, 8):
        y = wall + (h - wall) * (k / 8) ** 1.7
        d.line([(0, y), (w, y)], fill=(170, 164, 154), width=3)
    # booths along the back wall
    palette = [(44, 110, 160), (222, 122, 64), (90, 150, 110), (176, 72, 92), (236, 190, 72)]
    x = w * 0.02
    for k in range(5):
        bw = w * 0.18
        col = palette[k]
        fill_poly(img, [(x, ceiling + h * 0.08), (x + bw, ceiling + h * 0.08), (x + bw, wall), (x, wall)],
                  mix(col, (255, 255, 255), 0.15), mix(col, (0, 0, 0), 0.15))
        d = ImageDraw.Draw(img)
        d.rectangle([x + bw * 0.1, ceiling + h * 0.12, x + bw * 0.9, ceiling + h * 0.19], fill=(250, 248, 242))
        d.rectangle([x + bw * 0.2, ceiling + h * 0.145, x + bw * 0.8, ceiling + h * 0.165], fill=mix(col, (40, 40, 40), 0.3))
        d.rounded_rectangle([x + bw * 0.15, wall - h * 0.1, x + bw * 0.85, wall + h * 0.02], radius=10,
                            fill=(244, 242, 236), outline=mix(col, (0, 0, 0), 0.2), width=6)
        d.rectangle([x + bw * 0.15, wall - h * 0.1, x + bw * 0.85, wall - h * 0.085], fill=col)
        x += bw + w * 0.017
    # hanging banners
    for k in range(4):
        bx = w * (0.15 + k * 0.23)
        col = palette[(k + 2) % 5]
        d.line([(bx, 0), (bx, ceiling + h * 0.02)], fill=(80, 84, 96), width=3)
        d.line([(bx + w * 0.08, 0), (bx + w * 0.08, ceiling + h * 0.02)], fill=(80, 84, 96), width=3)
        d.rectangle([bx - w * 0.01, ceiling + h * 0.02, bx + w * 0.09, ceiling + h * 0.065], fill=col)
    # visitors: further back = smaller and higher
    shirts = [(214, 86, 74), (74, 128, 190), (244, 204, 92), (120, 170, 110), (150, 110, 170),
              (236, 150, 110), (70, 150, 160), (238, 238, 232), (190, 70, 110), (96, 108, 140)]
    people = []
    for _ in range(18):
        t = rng.uniform(0.0, 1.0)
        people.append((t, rng.uniform(0.03, 0.97) * w))
    for t, px in sorted(people):
        feet = wall + h * 0.03 + (h - wall) * 0.85 * t
        size = h * (0.2 + 0.32 * t)
        person(d, px, feet, size, shirts[rng.randrange(len(shirts))],
               trousers=rng.choice([(56, 62, 84), (40, 44, 52), (92, 100, 124), (120, 96, 76)]),
               skin=rng.choice([(234, 196, 166), (200, 150, 116), (150, 104, 76), (240, 206, 180)]),
               hair=rng.choice([(60, 44, 34), (150, 110, 70), (30, 28, 28), (196, 160, 100)]))
    return finish(img, rng, 0.014)


def berufskolleg(w: int = 3200, h: int = 2133) -> Image.Image:
    rng = random.Random(3303)
    img = vgrad((w, h), (96, 150, 206), (214, 230, 240))

    def clouds(d: ImageDraw.ImageDraw) -> None:
        for _ in range(14):
            cx, cy = rng.uniform(0, w), rng.uniform(0.05, 0.22) * h
            rx, ry = rng.uniform(0.04, 0.1) * w, rng.uniform(0.015, 0.035) * h
            d.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=255)
    soft_layer(img, clouds, (255, 255, 255), h * 0.025, 0.7)
    ground = h * 0.78
    fill_poly(img, [(0, ground), (w, ground), (w, h), (0, h)], (132, 176, 96), (92, 140, 72))
    left, right, top = w * 0.1, w * 0.9, h * 0.3
    d = ImageDraw.Draw(img)
    # side wing in shadow, main block in light
    fill_poly(img, [(right, top + h * 0.04), (w * 0.97, top + h * 0.1), (w * 0.97, ground - h * 0.01),
                    (right, ground)], (186, 178, 168), (160, 152, 144))
    fill_poly(img, [(left, top), (right, top), (right, ground), (left, ground)], (236, 228, 214), (214, 204, 190))
    d = ImageDraw.Draw(img)
    d.rectangle([left - w * 0.01, top - h * 0.025, right + w * 0.01, top], fill=(120, 118, 122))
    floors, cols = 3, 14
    fh = (ground - top) / floors
    cw = (right - left) / cols
    for f in range(floors):
        for c in range(cols):
            x0, y0 = left + c * cw + cw * 0.16, top + f * fh + fh * 0.2
            x1, y1 = x0 + cw * 0.68, y0 + fh * 0.58
            if f == floors - 1 and 6 <= c <= 7:
                continue
            win = vgrad((int(x1 - x0), int(y1 - y0)), (156, 196, 226), (64, 96, 128))
            img.paste(win, (int(x0), int(y0)))
            d.line([(x0 + (x1 - x0) * 0.15, y1), (x0 + (x1 - x0) * 0.7, y0)], fill=(196, 222, 240), width=4)
            d.rectangle([x0, y0, x1, y1], outline=(90, 92, 98), width=5)
    # entrance with canopy
    ex0, ex1 = left + 6 * cw + cw * 0.1, left + 8 * cw - cw * 0.1
    ey0 = top + 2 * fh + fh * 0.12
    img.paste(vgrad((int(ex1 - ex0), int(ground - ey0)), (120, 160, 190), (52, 70, 92)), (int(ex0), int(ey0)))
    d.rectangle([ex0 - cw * 0.3, ey0 - fh * 0.08, ex1 + cw * 0.3, ey0], fill=(70, 120, 150))
    d.line([((ex0 + ex1) / 2, ey0), ((ex0 + ex1) / 2, ground)], fill=(90, 92, 98), width=6)
    d.rectangle([ex0 - cw * 0.4, ground - fh * 0.02, ex1 + cw * 0.4, ground + h * 0.02], fill=(190, 186, 178))
    # path to the door and trees on the lawn
    fill_poly(img, [(ex0, ground), (ex1, ground), (w * 0.66, h), (w * 0.34, h)], (204, 198, 186), (176, 170, 160))
    d = ImageDraw.Draw(img)
    for x, s in ((0.05, 0.5), (0.2, 0.36), (0.8, 0.4), (0.95, 0.55)):
        tree(d, w * x, ground + h * 0.08 * s, h * s, (58, 104, 62), (96, 146, 80))
    return finish(img, rng, 0.012)


def ausbildungsplaetze(w: int = SIZE[0], h: int = SIZE[1]) -> Image.Image:
    """A flat infographic: five horizontal bars (no text, so no fonts are needed)."""
    u = w / 1600  # drawn for 1600 pixels width, scaled
    img = Image.new("RGB", (w, h), (246, 242, 234))
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, w, h * 0.16], fill=(38, 84, 110))
    d.rounded_rectangle([w * 0.06, h * 0.055, w * 0.46, h * 0.105], radius=12 * u, fill=(226, 236, 240))
    d.rounded_rectangle([w * 0.5, h * 0.065, w * 0.64, h * 0.095], radius=10 * u, fill=(120, 170, 190))
    values = [42, 35, 27, 19, 12]
    colours = [(38, 110, 150), (64, 150, 140), (120, 176, 100), (236, 170, 72), (222, 116, 84)]
    x0, x1 = w * 0.3, w * 0.92
    for k, (v, col) in enumerate(zip(values, colours)):
        y = h * 0.24 + k * h * 0.145
        bh = h * 0.085
        d.ellipse([w * 0.06, y, w * 0.06 + bh, y + bh], fill=col)
        d.ellipse([w * 0.06 + bh * 0.3, y + bh * 0.3, w * 0.06 + bh * 0.7, y + bh * 0.7], fill=(246, 242, 234))
        d.rounded_rectangle([w * 0.06 + bh * 1.3, y + bh * 0.3, w * 0.27, y + bh * 0.7], radius=8 * u, fill=(200, 196, 188))
        d.rounded_rectangle([x0, y, x0 + (x1 - x0) * v / 42, y + bh], radius=bh / 2, fill=col)
        d.rounded_rectangle([x0 + (x1 - x0) * v / 42 - bh * 1.1, y + bh * 0.3, x0 + (x1 - x0) * v / 42 - bh * 0.3,
                             y + bh * 0.7], radius=6 * u, fill=(255, 255, 255))
    d.line([(x0 - 6 * u, h * 0.22), (x0 - 6 * u, h * 0.94)], fill=(120, 116, 110), width=round(4 * u))
    return img


def preisverleihung(w: int = 2000, h: int = 1333) -> Image.Image:
    rng = random.Random(5505)
    stage = h * 0.74
    row = Image.new("RGB", (w, 1))
    px = row.load()
    for x in range(w):
        s = 0.72 + 0.28 * (0.5 + 0.5 * math.sin(x / w * 2 * math.pi * 11))
        px[x, 0] = mix((60, 12, 24), (176, 40, 56), s)
    img = row.resize((w, h), Image.Resampling.NEAREST)
    img.paste(vgrad((w, int(h * 0.1)), (40, 8, 16), (120, 28, 40)), (0, 0))
    # valance
    d = ImageDraw.Draw(img)
    for k in range(12):
        x = w * k / 12
        d.pieslice([x, h * 0.02, x + w / 12, h * 0.16], 0, 180, fill=(140, 30, 46))
    fill_poly(img, [(0, stage), (w, stage), (w, h), (0, h)], (176, 124, 80), (120, 80, 50))
    d = ImageDraw.Draw(img)
    for k in range(1, 10):
        y = stage + (h - stage) * (k / 10) ** 1.4
        d.line([(0, y), (w, y)], fill=(150, 104, 66), width=2)

    def cones(m: ImageDraw.ImageDraw) -> None:
        for cx in (0.3, 0.5, 0.7):
            m.polygon([(w * cx - w * 0.01, 0), (w * cx + w * 0.01, 0), (w * cx + w * 0.13, h), (w * cx - w * 0.13, h)],
                      fill=255)
    soft_layer(img, cones, (255, 236, 190), h * 0.03, 0.28)
    d = ImageDraw.Draw(img)
    for cx in (0.3, 0.5, 0.7):
        d.ellipse([w * (cx - 0.12), stage + h * 0.1, w * (cx + 0.12), stage + h * 0.2], fill=(214, 168, 116))
    # three people; the one in the middle holds the prize
    person(d, w * 0.32, stage + h * 0.16, h * 0.56, (40, 48, 72))
    person(d, w * 0.5, stage + h * 0.17, h * 0.54, (236, 196, 80), trousers=(44, 44, 54), hair=(150, 96, 52))
    person(d, w * 0.68, stage + h * 0.16, h * 0.58, (64, 110, 150), skin=(200, 150, 116), hair=(40, 34, 30))
    d.rounded_rectangle([w * 0.47, stage - h * 0.17, w * 0.53, stage - h * 0.07], radius=8, fill=(244, 214, 120),
                        outline=(180, 140, 60), width=6)
    glow(img, (w * 0.5, stage - h * 0.12), h * 0.1, (255, 244, 200), 0.6)
    return finish(img, rng, 0.014)


def winterdienst(w: int = 2400, h: int = 1600) -> Image.Image:
    rng = random.Random(6606)
    horizon = h * 0.5
    img = vgrad((w, h), (150, 164, 184), (226, 230, 236))
    far = hill_line(w, horizon - h * 0.05, h * 0.06, rng)
    fill_poly(img, far + [(w, h), (0, h)], (212, 220, 232), (236, 240, 246))
    near = hill_line(w, horizon + h * 0.06, h * 0.04, rng)
    fill_poly(img, near + [(w, h), (0, h)], (240, 244, 250), (214, 224, 238))
    d = ImageDraw.Draw(img)
    for k in range(16):  # bare trees on the ridge
        x = w * (k + rng.uniform(0, 0.6)) / 16
        base = horizon - h * 0.02 + rng.uniform(-0.02, 0.02) * h
        th = h * rng.uniform(0.08, 0.14)
        d.line([(x, base), (x, base - th)], fill=(92, 88, 92), width=6)
        for b in range(4):
            by = base - th * (0.35 + 0.18 * b)
            d.line([(x, by), (x - th * 0.22, by - th * 0.2)], fill=(104, 100, 104), width=3)
            d.line([(x, by), (x + th * 0.2, by - th * 0.22)], fill=(104, 100, 104), width=3)
    vx, vy = w * 0.6, horizon + h * 0.03
    fill_poly(img, [(vx - 4, vy), (vx + 4, vy), (w * 1.05, h), (w * 0.12, h)], (150, 154, 164), (96, 100, 110))
    fill_poly(img, [(vx - 4, vy), (vx, vy), (w * 0.3, h), (w * 0.12, h)], (226, 232, 240), (204, 212, 224))
    d = ImageDraw.Draw(img)
    # the gritting lorry, seen from the front left
    tx, ty, s = w * 0.46, h * 0.86, h * 0.42
    d.rectangle([tx + s * 0.3, ty - s * 0.62, tx + s * 1.2, ty - s * 0.12], fill=(226, 116, 40))
    d.rectangle([tx + s * 0.3, ty - s * 0.62, tx + s * 1.2, ty - s * 0.56], fill=(246, 150, 70))
    d.polygon([(tx + s * 0.62, ty - s * 0.62), (tx + s * 1.18, ty - s * 0.62), (tx + s * 1.05, ty - s * 0.86),
               (tx + s * 0.7, ty - s * 0.86)], fill=(200, 96, 32))  # grit hopper
    d.rectangle([tx, ty - s * 0.78, tx + s * 0.42, ty - s * 0.12], fill=(236, 128, 48))
    d.rectangle([tx + s * 0.04, ty - s * 0.72, tx + s * 0.38, ty - s * 0.5], fill=(70, 92, 116))
    d.line([(tx + s * 0.08, ty - s * 0.56), (tx + s * 0.3, ty - s * 0.7)], fill=(150, 176, 200), width=5)
    d.polygon([(tx - s * 0.28, ty - s * 0.02), (tx + s * 0.02, ty - s * 0.3), (tx + s * 0.1, ty - s * 0.24),
               (tx - s * 0.16, ty + s * 0.05)], fill=(70, 74, 84))  # plough blade
    for wx in (0.16, 0.78, 1.02):
        d.ellipse([tx + s * (wx - 0.1), ty - s * 0.2, tx + s * (wx + 0.1), ty], fill=(36, 36, 40))
        d.ellipse([tx + s * (wx - 0.04), ty - s * 0.14, tx + s * (wx + 0.04), ty - s * 0.06], fill=(120, 120, 124))
    d.rectangle([tx + s * 0.14, ty - s * 0.84, tx + s * 0.28, ty - s * 0.78], fill=(255, 190, 40))
    glow(img, (tx + s * 0.21, ty - s * 0.82), s * 0.16, (255, 200, 90), 0.7)

    def flakes(m: ImageDraw.ImageDraw) -> None:
        for _ in range(700):
            x, y, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, 7)
            m.ellipse([x - r, y - r, x + r, y + r], fill=255)
    soft_layer(img, flakes, (255, 255, 255), 1.5, 0.9)
    return finish(img, rng, 0.014)


def dorfladen(w: int = 1600, h: int = 1067) -> Image.Image:
    rng = random.Random(7707)
    img = vgrad((w, h), (150, 190, 224), (236, 238, 232))
    street = h * 0.8
    fill_poly(img, [(0, street), (w, street), (w, h), (0, h)], (170, 164, 156), (132, 126, 120))
    d = ImageDraw.Draw(img)
    for r in range(6):  # cobblestones
        y0 = street + (h - street) * r / 6
        y1 = street + (h - street) * (r + 1) / 6
        step = 40 + r * 14
        off = (r % 2) * step / 2
        x = -off
        while x < w:
            g = rng.randint(140, 176)
            d.rounded_rectangle([x + 3, y0 + 3, x + step - 3, y1 - 3], radius=6, fill=(g, g - 4, g - 10))
            x += step
    left, right, eaves, roof = w * 0.16, w * 0.84, h * 0.3, h * 0.04
    d.polygon([(left - w * 0.04, eaves), (w * 0.5, roof), (right + w * 0.04, eaves)], fill=(150, 64, 48))
    for k in range(1, 9):
        y = roof + (eaves - roof) * k / 9
        half = (w * 0.5 - left + w * 0.04) * k / 9
        d.line([(w * 0.5 - half, y), (w * 0.5 + half, y)], fill=(124, 50, 38), width=4)
    img.paste(vgrad((int(right - left), int(street - eaves)), (244, 236, 216), (226, 214, 190)), (int(left), int(eaves)))
    d = ImageDraw.Draw(img)
    beam = (92, 58, 40)
    mid = eaves + (street - eaves) * 0.48
    for y in (eaves, mid, street - 4):
        d.rectangle([left, y - 8, right, y + 8], fill=beam)
    for k in range(7):
        x = left + (right - left) * k / 6
        d.rectangle([x - 8, eaves, x + 8, mid], fill=beam)
    for k in range(6):
        x0 = left + (right - left) * k / 6
        x1 = left + (right - left) * (k + 1) / 6
        if k in (0, 5):
            d.line([(x0, mid), (x1, eaves)] if k == 0 else [(x0, eaves), (x1, mid)], fill=beam, width=12)
        else:
            d.rectangle([x0 + 26, eaves + 30, x1 - 26, mid - 30], fill=(84, 108, 130), outline=(250, 248, 240), width=8)
    # shop window and door on the ground floor
    d.rectangle([left + 8, mid + 8, right - 8, street - 12], fill=(238, 230, 210))
    img.paste(vgrad((int(w * 0.38), int(street - mid - h * 0.12)), (200, 214, 222), (110, 128, 140)),
              (int(left + w * 0.04), int(mid + h * 0.1)))
    d.rectangle([w * 0.64, mid + h * 0.08, w * 0.76, street - 12], fill=(96, 64, 44))
    d.ellipse([w * 0.735, mid + h * 0.26, w * 0.745, mid + h * 0.27], fill=(220, 190, 90))
    # striped awning
    ay0, ay1 = mid + h * 0.04, mid + h * 0.12
    ax0, ax1 = left + w * 0.02, left + w * 0.44
    n = 10
    for k in range(n):
        xa = ax0 + (ax1 - ax0) * k / n
        xb = ax0 + (ax1 - ax0) * (k + 1) / n
        d.polygon([(xa, ay0), (xb, ay0), (xb + 10, ay1), (xa - 10 + 20 * (k == 0), ay1)],
                  fill=(196, 58, 58) if k % 2 == 0 else (248, 244, 236))
    # fruit crates
    for k in range(3):
        cx0 = left + w * 0.04 + k * w * 0.13
        d.rectangle([cx0, street - h * 0.09, cx0 + w * 0.11, street - 6], fill=(170, 120, 70), outline=(120, 80, 44), width=4)
        fruit = [(204, 54, 44), (232, 170, 40), (120, 170, 60)][k]
        for i in range(9):
            fx = cx0 + w * 0.012 + (i % 5) * w * 0.019 + (i // 5) * w * 0.009
            fy = street - h * 0.1 - (i // 5) * h * 0.022
            d.ellipse([fx, fy, fx + w * 0.02, fy + w * 0.02], fill=mix(fruit, (255, 255, 255), rng.uniform(0, 0.2)))
    d.rectangle([w * 0.3, eaves - h * 0.005, w * 0.7, eaves + h * 0.03], fill=(58, 92, 70))  # shop sign
    d.rounded_rectangle([w * 0.33, eaves + h * 0.004, w * 0.67, eaves + h * 0.021], radius=6, fill=(236, 226, 190))
    return finish(img, rng, 0.014)


# --- metadata and files --------------------------------------------------------

def camera_exif(orientation: int | None = None, gps: bool = False) -> bytes:
    exif = Image.Exif()
    exif[0x0131] = "pressekit make_example_photos.py"  # Software
    if orientation:
        exif[0x0112] = orientation
    if gps:
        exif[0x010F] = "Beispielwerk"                   # Make
        exif[0x0110] = "BW-24 Mark II"                  # Model
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = "2025:04:09 10:48:12"             # DateTimeOriginal
        sub[0xA430] = "Jana Beispiel"                   # CameraOwnerName
        sub[0xA431] = "BW24-0047113"                    # BodySerialNumber
        sub[0xA435] = "LX-35-220815"                    # LensSerialNumber
        g = exif.get_ifd(0x8825)
        g[0x0000] = b"\x02\x03\x00\x00"                 # GPSVersionID
        g[0x0001] = "N"
        g[0x0002] = (51.0, 37.0, 24.6)
        g[0x0003] = "E"
        g[0x0004] = (8.0, 11.0, 52.3)
        g[0x0005] = b"\x00"
        g[0x0006] = 104.0                               # altitude in metres
    return exif.tobytes()


def save_jpeg(img: Image.Image, path: Path, exif: bytes | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True, dpi=(72, 72), exif=exif or camera_exif())


def pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def write_pdf(path: Path, title: str, lines: list[tuple[str, int, str]]) -> None:
    """A minimal one-page PDF (A4, Helvetica, WinAnsi) with a correct xref table."""
    content = b"BT\n"
    y = 780
    for font, size, text in lines:
        content += b"/%s %d Tf 1 0 0 1 56 %d Tm " % (font.encode(), size, y) + pdf_string(text) + b" Tj\n"
        y -= int(size * 1.9)
    content += b"ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 5 0 R /F2 6 0 R >> >>"
        b" /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Title " + pdf_string(title) + b" /Author (Kreis Auenfeld) /Producer (pressekit)"
        b" /CreationDate (D:20251112150000+01'00') >>",
    ]
    out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 7 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out)


def main(site: Path) -> None:
    releases = site / "releases"
    save_jpeg(radweg(), releases / "2025-04-09-radweg-lindenbach-hohenwiese" / "radweg.jpg", camera_exif(gps=True))
    messe = releases / "2025-06-23-ausbildungsmesse-zukunft-auenfeld"
    # stored turned 90 degrees counter-clockwise; Orientation 6 says "turn clockwise to show"
    save_jpeg(messehalle().transpose(Image.Transpose.ROTATE_90), messe / "messehalle.jpg", camera_exif(orientation=6))
    save_jpeg(berufskolleg(), messe / "berufskolleg.jpg")
    messe.mkdir(parents=True, exist_ok=True)
    ausbildungsplaetze().save(messe / "ausbildungsplaetze.png", "PNG", optimize=True)
    save_jpeg(preisverleihung(), releases / "2026-05-06-kulturpreis-buehne-muehlental" / "preisverleihung.jpg")
    save_jpeg(winterdienst(), releases / "2026-11-24-winterdienst-kreisstrassen" / "streufahrzeug.jpg")
    save_jpeg(dorfladen(), releases / "2027-01-15-foerderprogramm-dorflaeden" / "dorfladen.jpg")
    write_pdf(releases / "2025-11-12-haushaltsentwurf-2026-eingebracht" / "eckdaten-haushalt-2026.pdf",
              "Eckdaten Haushaltsentwurf 2026", [
                  ("F2", 18, "Kreis Auenfeld – Haushaltsentwurf 2026"),
                  ("F1", 11, "Eckdaten, eingebracht in den Kreistag am 12. November 2025"),
                  ("F1", 11, "Ergebnisplan: Erträge 412,6 Mio. Euro, Aufwendungen 418,9 Mio. Euro"),
                  ("F1", 11, "Fehlbetrag 6,3 Mio. Euro, gedeckt aus der Ausgleichsrücklage"),
                  ("F1", 11, "Allgemeine Kreisumlage: Hebesatz 33,8 Prozent (2025: 34,6 Prozent)"),
                  ("F2", 11, "Investitionen 2026: 47,2 Mio. Euro (2025: 34,1 Mio. Euro)"),
                  ("F1", 11, "Schulen und Berufskollegs 18,4 · Kreisstraßen und Radwege 14,7"),
                  ("F1", 11, "Rettungsdienst und Bevölkerungsschutz 6,9 · Digitalisierung 3,8 · Gebäude 3,4"),
                  ("F1", 11, "Verabschiedung im Kreistag geplant am 16. Dezember 2025"),
              ])


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
