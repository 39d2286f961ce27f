import { ascii, startsWith } from '../formats/bytes';
import { isobmffBoxes } from '../formats/isobmff';
import { JpegMarker } from '../formats/jpeg';
import { PNG_SIGNATURE } from '../formats/png';
import { riffForm } from '../formats/riff';
import type { ImageFormat, Mode } from '../schemas/options';

/**
 * Everything the service knows of a format, in one place (as Squoosh's codecs.ts keeps
 * it): how it is named and recognised, what its encoder can do, and what it costs. Costs
 * are in seconds, measured with `npm run bench:cost` (docs/measurements.md, "Cost model").
 */
export interface ImageFormatDescriptor {
  mime: string;
  /** Whether the leading bytes are this format's signature. */
  isSignature(bytes: Uint8Array): boolean;
  /** Whether the encoder can write it losslessly (`lossless=true`). */
  lossless: boolean;
  /** Whether it keeps transparency (JPEG output is flattened onto white). */
  alpha: boolean;
  /**
   * A smart search over qualities (a palette PNG searches palette sizes instead): the qualities
   * it may choose from, where it starts in each mode, and how many quality steps a further trial
   * must be expected to save, more for a slow encoder (docs/quality.md, "The search").
   */
  smartSearch?: { qualities: [number, number]; start: Record<Mode, number>; stepsWorthATrial: number };
  /** The longest side its encoder writes: past it the encoder aborts, so it is a refusal. */
  maxOutputSide: number;
  cost: {
    decodePerMegapixel: number;
    /** At a fixed quality (a palette PNG: quantising and dithering included). */
    encodePerMegapixel: number;
    encodeLosslessPerMegapixel: number;
    /** Time every row costs whatever its width (1×N images). */
    perRow: number;
    /** One trial of a smart search, per megapixel of its scoring sample: encode, decode, score. */
    trialPerMegapixel: number;
  };
}

/** What a format states of itself: unless it says otherwise it encodes losslessly and keeps transparency. */
type Particulars = Omit<ImageFormatDescriptor, 'mime' | 'lossless' | 'alpha'> & Partial<Pick<ImageFormatDescriptor, 'lossless' | 'alpha'>>;

/** A format's descriptor: its MIME type follows from its name. */
const describe = (format: ImageFormat, particulars: Particulars): ImageFormatDescriptor => ({
  mime: `image/${format}`,
  lossless: true,
  alpha: true,
  ...particulars,
});

export const IMAGE_FORMATS: Record<ImageFormat, ImageFormatDescriptor> = {
  jpeg: describe('jpeg', {
    isSignature: (bytes) => bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === JpegMarker.SOI && bytes[2] === 0xff,
    lossless: false,
    alpha: false,
    smartSearch: { qualities: [10, 100], start: { size: 75, balanced: 75, quality: 75 }, stepsWorthATrial: 0 },
    // mozjpeg's JPEG_MAX_DIMENSION.
    maxOutputSide: 65_500,
    cost: { decodePerMegapixel: 0.02, encodePerMegapixel: 0.03, encodeLosslessPerMegapixel: 0.03, perRow: 1.5e-6, trialPerMegapixel: 1.17 },
  }),
  png: describe('png', {
    isSignature: (bytes) => startsWith(bytes, PNG_SIGNATURE),
    maxOutputSide: 2 ** 31 - 1,
    // perRow is oxipng's, up to OXIPNG_MAX_ROWS; taller images are deflated by the runtime (cost.ts).
    cost: { decodePerMegapixel: 0.1, encodePerMegapixel: 1.3, encodeLosslessPerMegapixel: 1.0, perRow: 5e-5, trialPerMegapixel: 1.6 },
  }),
  webp: describe('webp', {
    isSignature: (bytes) => riffForm(bytes) === 'WEBP',
    // The banding guard holds most photos at q80–97.
    smartSearch: { qualities: [10, 100], start: { size: 86, balanced: 87, quality: 93 }, stepsWorthATrial: 0 },
    // VP8's 14-bit frame sizes.
    maxOutputSide: 16_383,
    cost: { decodePerMegapixel: 0.08, encodePerMegapixel: 0.25, encodeLosslessPerMegapixel: 1.2, perRow: 3e-6, trialPerMegapixel: 1.67 },
  }),
  avif: describe('avif', {
    isSignature: (bytes) => {
      const [first] = bytes.length >= 12 ? isobmffBoxes(bytes) : [];
      return first?.type === 'ftyp' && /avi[fs]/.test(ascii(first.data));
    },
    smartSearch: { qualities: [10, 100], start: { size: 75, balanced: 75, quality: 75 }, stepsWorthATrial: 2 },
    // AV1's 16-bit frame sizes.
    maxOutputSide: 65_536,
    cost: { decodePerMegapixel: 0.35, encodePerMegapixel: 1.0, encodeLosslessPerMegapixel: 2.5, perRow: 1.7e-5, trialPerMegapixel: 1.6 },
  }),
};

export const mimeType = (format: ImageFormat) => IMAGE_FORMATS[format].mime;
