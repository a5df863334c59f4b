// Colour-blind-safe palettes: viridis and cividis (sequential), ColorBrewer PuOr (diverging,
// purple = decrease, orange = increase) and Okabe–Ito (categories).

export type RGB = [number, number, number];
export type RGBA = [number, number, number, number];
export type SequentialPalette = 'viridis' | 'cividis';

function hex(value: string): RGB {
  const n = Number.parseInt(value.replace('#', ''), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export const PALETTES: Record<SequentialPalette | 'diverging', RGB[]> = {
  viridis: ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'].map(hex),
  cividis: ['#00204d', '#14306e', '#3c4a6c', '#575d6d', '#707173', '#8b8779', '#a89e73', '#c7b66a', '#ffea46'].map(hex),
  diverging: [
    '#2d004b', '#542788', '#8073ac', '#b2abd2', '#d8daeb', '#f7f7f7',
    '#fee0b6', '#fdb863', '#e08214', '#b35806', '#7f3b08',
  ].map(hex),
};

export const CATEGORICAL: RGB[] = [
  '#0072b2', '#e69f00', '#009e73', '#cc79a7', '#56b4e9', '#d55e00', '#f0e442', '#999999',
].map(hex);

export const NO_DATA: RGB = [200, 200, 200];
export const UNCHANGED: RGB = [200, 200, 196];
export const ADDED: RGB = [230, 159, 0];
export const REMOVED: RGB = [213, 94, 0];
export const HIGHLIGHT: RGBA = [255, 64, 129, 255];

/** The colour at t in [0, 1] along a ramp of stops (linear interpolation in sRGB). */
export function sample(stops: RGB[], t: number): RGB {
  const clamped = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0));
  const position = clamped * (stops.length - 1);
  const index = Math.min(stops.length - 2, Math.floor(position));
  const fraction = position - index;
  const a = stops[index] as RGB;
  const b = stops[index + 1] as RGB;
  return [
    Math.round(a[0] + (b[0] - a[0]) * fraction),
    Math.round(a[1] + (b[1] - a[1]) * fraction),
    Math.round(a[2] + (b[2] - a[2]) * fraction),
  ];
}

/** 256 RGB entries of a ramp, for colouring many values quickly. */
export function lookupTable(stops: RGB[]): Uint8Array {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i += 1) {
    const [r, g, b] = sample(stops, i / 255);
    table[i * 3] = r;
    table[i * 3 + 1] = g;
    table[i * 3 + 2] = b;
  }
  return table;
}

export function cssColour([r, g, b]: RGB | RGBA): string {
  return `rgb(${r}, ${g}, ${b})`;
}

export function cssGradient(stops: RGB[]): string {
  return `linear-gradient(to right, ${stops.map(cssColour).join(', ')})`;
}

/** The 2nd and 98th percentiles of the finite values (a robust colour range). */
export function robustRange(values: ArrayLike<number>, low = 0.02, high = 0.98): [number, number] {
  const finite: number[] = [];
  const step = Math.max(1, Math.floor(values.length / 20000));
  for (let i = 0; i < values.length; i += step) {
    const value = values[i] as number;
    if (Number.isFinite(value)) finite.push(value);
  }
  if (finite.length === 0) return [0, 1];
  finite.sort((a, b) => a - b);
  const lo = finite[Math.floor(low * (finite.length - 1))] as number;
  const hi = finite[Math.ceil(high * (finite.length - 1))] as number;
  return lo === hi ? [lo, lo + 1] : [lo, hi];
}

/** The largest absolute finite value (98th percentile), for a symmetric diverging range. */
export function symmetricRange(values: ArrayLike<number>): number {
  const magnitudes: number[] = [];
  for (let i = 0; i < values.length; i += 1) {
    const value = values[i] as number;
    if (Number.isFinite(value) && value !== 0) magnitudes.push(Math.abs(value));
  }
  if (magnitudes.length === 0) return 1;
  magnitudes.sort((a, b) => a - b);
  return magnitudes[Math.ceil(0.98 * (magnitudes.length - 1))] || 1;
}

/** Mix a colour with white: amount 0 keeps it, 1 gives white. */
export function lighten([r, g, b]: RGB, amount: number): RGB {
  return [
    Math.round(r + (255 - r) * amount),
    Math.round(g + (255 - g) * amount),
    Math.round(b + (255 - b) * amount),
  ];
}
