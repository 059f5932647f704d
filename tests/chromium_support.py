"""Headless Chromium for tests that look at a page as a person does: a screenshot to inspect by
colour, and the DOM after rendering. Chromium is /usr/bin/chromium once scripts/setup.sh has run."""
from __future__ import annotations

import shutil
import subprocess

from PIL import Image

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--force-color-profile=srgb", "--hide-scrollbars"]


def _chromium() -> str:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed: scripts/setup.sh installs it"
    return chromium


def screenshot(url: str, tmp_path, name: str, size: tuple[int, int] = (1280, 900)) -> Image.Image:
    png = tmp_path / f"{name}.png"
    subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}",
                    f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", url],
                   check=True, capture_output=True, timeout=120)
    return Image.open(png).convert("RGB")


def dump_dom(url: str, tmp_path) -> str:
    """The document as Chromium has parsed and rendered it (inline SVG included)."""
    done = subprocess.run([_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium'}", "--dump-dom", url],
                          check=True, capture_output=True, text=True, timeout=120)
    return done.stdout


def share(image: Image.Image, hex_colour: str, tolerance: int = 8) -> float:
    """The fraction of the screenshot's pixels within `tolerance` of the colour."""
    want = tuple(int(hex_colour[i:i + 2], 16) for i in (1, 3, 5))
    counts = image.getcolors(maxcolors=1 << 24)
    near = sum(n for n, rgb in counts if all(abs(a - b) <= tolerance for a, b in zip(rgb, want, strict=True)))
    return near / (image.width * image.height)
