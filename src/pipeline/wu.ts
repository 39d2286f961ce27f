import type { RawImage } from '../codecs/types';

/**
 * Xiaolin Wu's colour quantiser ("Efficient statistical computations for optimal color
 * quantization", Graphics Gems II, 1991), over red, green, blue and alpha.
 *
 * Written here for memory: the tables are typed arrays, and alpha has a resolution of its own
 * (none for an opaque image), so 6 bits of colour fit in a few MB where nested arrays with
 * alpha at full resolution took tens (docs/quality.md, "Lossy PNG").
 */
export interface WuOptions {
  /** Significant bits kept per colour channel in the histogram. */
  colourBits?: number;
  /** Significant bits kept for alpha; 0 treats every pixel as one alpha level (right for opaque images). */
  alphaBits?: number;
}

/** A box of histogram cells: each range is (min, max], with index 0 a zero border. */
interface Box {
  min: [number, number, number, number];
  max: [number, number, number, number];
}

type Table = Float32Array | Float64Array;

/** Moment tables, cumulative after `accumulate`. Channel order: alpha, red, green, blue (outermost first). */
interface Moments {
  sides: [number, number, number, number];
  weight: Table;
  sums: [Table, Table, Table, Table];
  squares: Float64Array;
}

/**
 * Wu's palettes of `image` at every size up to `maxColors`, from one run: the splits are
 * greedy, so the boxes for k colours are those after the first k − 1 splits. Each palette has
 * RGBA entries (4 bytes each) for the pixels whose alpha is not zero, fewer than asked for
 * when the image has fewer distinct histogram cells. The moment tables are garbage once this
 * returns.
 */
export function wuPalettes(
  image: RawImage,
  maxColors: number,
  { colourBits = 5, alphaBits = 0 }: WuOptions = {},
): (colors: number) => Uint8Array {
  const moments = histogram(image, colourBits, alphaBits);
  accumulate(moments);
  const { whole, splits } = splitBoxes(moments, maxColors, (box) => meanColour(box, moments));
  return (colors) => {
    if (!whole || colors < 1) return new Uint8Array(0);
    const entries = [whole];
    for (const { replaces, lower, upper } of splits.slice(0, colors - 1)) {
      entries[replaces] = lower;
      entries.push(upper);
    }
    const palette = new Uint8Array(entries.length * 4);
    entries.forEach((entry, i) => {
      palette.set(entry, i * 4);
    });
    return palette;
  };
}

function meanColour(box: Box, moments: Moments): Uint8Array {
  const weight = volume(box, moments.weight, moments.sides);
  // Channels are stored alpha first; the palette is RGBA.
  const [alpha, red, green, blue] = moments.sums.map((sum) => Math.round(volume(box, sum, moments.sides) / weight));
  return Uint8Array.of(red!, green!, blue!, alpha!);
}

function histogram(image: RawImage, colourBits: number, alphaBits: number): Moments {
  const colourSide = (1 << colourBits) + 1;
  const alphaSide = (1 << alphaBits) + 1;
  const sides: Moments['sides'] = [alphaSide, colourSide, colourSide, colourSide];
  const cells = alphaSide * colourSide * colourSide * colourSide;
  // Counts and sums are whole numbers; below 2²⁴ even their cumulative totals are exact in
  // 32 bits, which halves those tables. Squares need 64.
  const Table = image.width * image.height * 255 < 2 ** 24 ? Float32Array : Float64Array;
  const moments: Moments = {
    sides,
    weight: new Table(cells),
    sums: [new Table(cells), new Table(cells), new Table(cells), new Table(cells)],
    squares: new Float64Array(cells),
  };
  const colourShift = 8 - colourBits;
  const alphaShift = 8 - alphaBits;
  const { data } = image;
  for (let p = 0; p < data.length; p += 4) {
    const a = data[p + 3]!;
    if (a === 0) continue;
    const r = data[p]!;
    const g = data[p + 1]!;
    const b = data[p + 2]!;
    const cell = index(sides, (a >> alphaShift) + 1, (r >> colourShift) + 1, (g >> colourShift) + 1, (b >> colourShift) + 1);
    moments.weight[cell]!++;
    moments.sums[0][cell]! += a;
    moments.sums[1][cell]! += r;
    moments.sums[2][cell]! += g;
    moments.sums[3][cell]! += b;
    moments.squares[cell]! += a * a + r * r + g * g + b * b;
  }
  return moments;
}

const index = (sides: Moments['sides'], a: number, r: number, g: number, b: number) => ((a * sides[1] + r) * sides[2] + g) * sides[3] + b;

/** Turns every table into cumulative sums over all four axes, so a box's total is 16 lookups. */
function accumulate({ sides, weight, sums, squares }: Moments): void {
  const strides = [sides[1] * sides[2] * sides[3], sides[2] * sides[3], sides[3], 1];
  for (const table of [weight, ...sums, squares]) {
    for (let axis = 0; axis < 4; axis++) {
      const stride = strides[axis]!;
      const span = stride * sides[axis]!;
      // Adding the cell one step back along the axis, in increasing order, sums along it.
      for (let block = 0; block < table.length; block += span) {
        for (let cell = block + stride; cell < block + span; cell++) table[cell]! += table[cell - stride]!;
      }
    }
  }
}

/** The sum of a cumulative table over a box, by inclusion–exclusion over its 16 corners. */
function volume(box: Box, table: Table, sides: Moments['sides']): number {
  const { min, max } = box;
  let total = 0;
  for (let corner = 0; corner < 16; corner++) {
    const value =
      table[
        index(sides, corner & 1 ? max[0] : min[0], corner & 2 ? max[1] : min[1], corner & 4 ? max[2] : min[2], corner & 8 ? max[3] : min[3])
      ]!;
    // A corner with an odd number of minimum coordinates is subtracted.
    total += CORNER_SIGNS[corner]! * value;
  }
  return total;
}

const CORNER_SIGNS = Int8Array.from({ length: 16 }, (_, corner) =>
  (4 - ((corner & 1) + ((corner >> 1) & 1) + ((corner >> 2) & 1) + ((corner >> 3) & 1))) % 2 === 0 ? 1 : -1,
);

/** The box's squared error around its mean: what a split should reduce most. */
function variance(box: Box, moments: Moments): number {
  const weight = volume(box, moments.weight, moments.sides);
  if (weight === 0) return 0;
  let squaredMean = 0;
  for (const sum of moments.sums) squaredMean += volume(box, sum, moments.sides) ** 2;
  return volume(box, moments.squares, moments.sides) - squaredMean / weight;
}

/** Splitting the box at `replaces` into `lower`, kept in its place, and `upper`, appended (their mean colours). */
interface Split {
  replaces: number;
  lower: Uint8Array;
  upper: Uint8Array;
}

/**
 * The whole histogram's mean colour and the splits after it, in order: always the box of
 * largest variance is split, until there are `colors` boxes or none can be split.
 */
function splitBoxes(moments: Moments, colors: number, colourOf: (box: Box) => Uint8Array): { whole?: Uint8Array; splits: Split[] } {
  const whole: Box = { min: [0, 0, 0, 0], max: [moments.sides[0] - 1, moments.sides[1] - 1, moments.sides[2] - 1, moments.sides[3] - 1] };
  if (colors < 1 || volume(whole, moments.weight, moments.sides) === 0) return { splits: [] };
  const splits: Split[] = [];
  const boxes = [whole];
  const variances = [variance(whole, moments)];
  while (boxes.length < colors) {
    let worst = 0;
    for (let i = 1; i < boxes.length; i++) if (variances[i]! > variances[worst]!) worst = i;
    if (variances[worst]! <= 0) break;
    const split = bestSplit(boxes[worst]!, moments);
    if (!split) {
      variances[worst] = 0;
      continue;
    }
    boxes[worst] = split[0];
    variances[worst] = variance(split[0], moments);
    boxes.push(split[1]);
    variances.push(variance(split[1], moments));
    splits.push({ replaces: worst, lower: colourOf(split[0]), upper: colourOf(split[1]) });
  }
  return { whole: colourOf(whole), splits };
}

/** The cut along one axis that maximises the summed squared means of the two halves (Wu's criterion). */
function bestSplit(box: Box, moments: Moments): [Box, Box] | undefined {
  const { sides } = moments;
  const totalWeight = volume(box, moments.weight, sides);
  const totals = moments.sums.map((sum) => volume(box, sum, sides));
  let best: { axis: number; cut: number; gain: number } | undefined;
  for (let axis = 0; axis < 4; axis++) {
    for (let cut = box.min[axis]! + 1; cut < box.max[axis]!; cut++) {
      const lower: Box = { min: box.min, max: box.max.map((m, a) => (a === axis ? cut : m)) as Box['max'] };
      const lowerWeight = volume(lower, moments.weight, sides);
      const upperWeight = totalWeight - lowerWeight;
      if (lowerWeight === 0 || upperWeight === 0) continue;
      let lowerSquares = 0;
      let upperSquares = 0;
      moments.sums.forEach((sum, c) => {
        const lowerSum = volume(lower, sum, sides);
        lowerSquares += lowerSum * lowerSum;
        upperSquares += (totals[c]! - lowerSum) ** 2;
      });
      const gain = lowerSquares / lowerWeight + upperSquares / upperWeight;
      if (!best || gain > best.gain) best = { axis, cut, gain };
    }
  }
  if (!best) return undefined;
  const { axis, cut } = best;
  return [
    { min: box.min, max: box.max.map((m, a) => (a === axis ? cut : m)) as Box['max'] },
    { min: box.min.map((m, a) => (a === axis ? cut : m)) as Box['min'], max: box.max },
  ];
}
