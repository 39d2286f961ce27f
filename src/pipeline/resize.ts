import type { Codecs, RawImage } from '../codecs/types';
import type { ResizePlan } from './geometry';

/**
 * Pixels handed to the resizer at a time. Its one instance lives as long as the isolate and
 * keeps its heap's high-water mark, about 90 bytes a pixel of a strip: 52 MiB for strips of
 * 1 M pixels, 24 for 256 K, 5 for 64 K, which cost no measurable time more.
 */
const STRIP_PIXELS = 1 << 16;

/**
 * Crops and resizes in two separable passes over strips, so that memory is bounded by the
 * strip size, not the image: the widths change first, a band of rows at a time (a horizontal
 * filter never mixes rows), then the heights, a band of columns at a time (a vertical filter
 * never mixes columns). The resizer asked for an unchanged dimension leaves it alone, so each
 * pass is one dimension of the same Lanczos resize. Resizing a 12 MP photo in one call took
 * 440 MiB (docs/measurements.md, "Memory").
 *
 * A pass that shrinks works in place, in `image`'s own buffer, which this therefore consumes:
 * a band is copied into the resizer before its result is written, and results are written at
 * or before where their band was read (narrower rows start earlier; fewer rows of a column
 * band end earlier, and other columns are not touched), so nothing unread is overwritten.
 * A shrink then needs no full-size buffer besides the source. An enlargement gets one, the
 * output, and when heights grow the intermediate image lives at its end: output row r is
 * written over intermediate row r − (height − region.height), in the band's own columns,
 * which are already read. Bands are gathered into one buffer per pass, and results are read in place from
 * the resizer's memory, so strips leave no garbage behind.
 */
export async function resizeInStrips(codecs: Codecs, image: RawImage, plan: ResizePlan, stripPixels = STRIP_PIXELS): Promise<RawImage> {
  const region = plan.crop ?? { x: 0, y: 0, width: image.width, height: image.height };
  const { width, height } = plan.size;
  if (width > region.width && height < region.height) {
    // Widths first would make a width × region.height image, larger than input and output
    // (12000 × 12000 for 1000 × 12000 → 12000 × 1000): heights first, then widths.
    const shorter = await resizeInStrips(codecs, image, { crop: region, size: { width: region.width, height } }, stripPixels);
    return resizeInStrips(codecs, shorter, { size: { width, height } }, stripPixels);
  }
  const source = image.data;

  // Enlarging heights: one output buffer, with the intermediate image at its end.
  const enlarged = height > region.height ? new Uint8Array(width * height * 4) : undefined;
  // Widths: region (region.width × region.height) → wide (width × region.height).
  const wide = enlarged
    ? enlarged.subarray((height - region.height) * width * 4)
    : width <= region.width
      ? source.subarray(0, width * region.height * 4)
      : new Uint8Array(width * region.height * 4);
  const bandRows = Math.max(1, Math.floor(stripPixels / Math.max(region.width, width)));
  const rowBand = new Uint8Array(region.width * Math.min(bandRows, region.height) * 4);
  for (let y = 0; y < region.height; y += bandRows) {
    const rows = Math.min(bandRows, region.height - y);
    const band = rowBand.subarray(0, region.width * rows * 4);
    for (let row = 0; row < rows; row++) {
      const from = ((region.y + y + row) * image.width + region.x) * 4;
      band.set(source.subarray(from, from + region.width * 4), row * region.width * 4);
    }
    if (region.width === width) wide.set(band, y * width * 4);
    else await codecs.resize({ data: band, width: region.width, height: rows }, width, rows, (pixels) => wide.set(pixels, y * width * 4));
  }
  if (region.height === height) return { data: wide, width, height };

  // Heights: wide → out (width × height), a band of columns at a time.
  const out = enlarged ?? wide.subarray(0, width * height * 4);
  const bandColumns = Math.max(1, Math.floor(stripPixels / Math.max(region.height, height)));
  const columnBand = new Uint8Array(Math.min(bandColumns, width) * region.height * 4);
  for (let x = 0; x < width; x += bandColumns) {
    const columns = Math.min(bandColumns, width - x);
    const band = columnBand.subarray(0, columns * region.height * 4);
    for (let row = 0; row < region.height; row++) {
      const from = (row * width + x) * 4;
      band.set(wide.subarray(from, from + columns * 4), row * columns * 4);
    }
    await codecs.resize({ data: band, width: columns, height: region.height }, columns, height, (pixels) => {
      for (let row = 0; row < height; row++) out.set(pixels.subarray(row * columns * 4, (row + 1) * columns * 4), (row * width + x) * 4);
    });
  }
  return { data: out, width, height };
}
