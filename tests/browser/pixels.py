"""Pixel statistics of screenshots: is anything drawn, and how much changed between two views."""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

# Channel difference (0-255) below which two pixels count as the same colour (antialiasing, dithering).
SAME_COLOUR = 24


def rgb(png: bytes) -> np.ndarray:
    """The PNG as an (height, width, 3) uint8 array."""
    with Image.open(io.BytesIO(png)) as image:
        return np.asarray(image.convert("RGB"))


@dataclass(frozen=True)
class ImageStats:
    """What a screenshot holds: distinct colours and how much differs from its dominant colour."""

    pixels: int
    distinct_colours: int  # after quantising each channel to 32 levels
    dominant_share: float  # share of pixels of the most common (quantised) colour
    not_background_share: float  # share of pixels clearly different from that colour


def image_stats(png: bytes) -> ImageStats:
    pixels = rgb(png).reshape(-1, 3)
    quantised = (pixels >> 3).astype(np.int32)
    codes = (quantised[:, 0] << 10) | (quantised[:, 1] << 5) | quantised[:, 2]
    values, counts = np.unique(codes, return_counts=True)
    dominant_code = int(values[np.argmax(counts)])
    dominant = np.array([(dominant_code >> 10) & 31, (dominant_code >> 5) & 31, dominant_code & 31]) * 8 + 4
    differs = np.abs(pixels.astype(np.int16) - dominant).max(axis=1) > SAME_COLOUR
    return ImageStats(
        pixels=len(pixels),
        distinct_colours=len(values),
        dominant_share=float(counts.max() / len(pixels)),
        not_background_share=float(differs.mean()),
    )


def changed_share(first: bytes, second: bytes) -> float:
    """Share of pixels whose colour differs clearly between two screenshots of the same size."""
    a, b = rgb(first), rgb(second)
    if a.shape != b.shape:
        return 1.0
    return float((np.abs(a.astype(np.int16) - b).max(axis=2) > SAME_COLOUR).mean())


def saturated_shades(png: bytes, *, min_share: float = 0.001) -> int:
    """How many distinct (quantised) strong colours the picture holds, each on at least ``min_share``
    of the strong-coloured pixels. Strong: saturated and not light, as the building palettes are and
    the basemap's pale land, water and roads are not. Lit walls add darker shades of each colour."""
    with Image.open(io.BytesIO(png)) as image:
        colours = np.asarray(image.convert("RGB"))
        hsv = np.asarray(image.convert("HSV"))
    strong = (hsv[..., 1] > 110) & (hsv[..., 2] < 235)
    quantised = (colours[strong] >> 3).astype(np.int32)
    if not len(quantised):
        return 0
    codes = (quantised[:, 0] << 10) | (quantised[:, 1] << 5) | quantised[:, 2]
    _, counts = np.unique(codes, return_counts=True)
    return int((counts >= min_share * len(codes)).sum())
