import { Hono } from 'hono';
import { z } from 'zod';
import { authenticate, presentedKey } from '../auth/keys';
import { IMAGE_FORMATS, mimeType } from '../pipeline/image-formats';
import { maxInputPixelsWithinBudget, pixelLimit } from '../pipeline/admission';
import { BANDING_LIMIT, METRIC, PALETTE_COLOUR_SHIFT_LIMITS, SMART_TARGETS } from '../pipeline/smart';
import { BANDING_METRIC, COLOUR_SHIFT_METRIC } from '../pipeline/colour-shift';
import { MAX_DIMENSION, OUTPUT_FORMATS, canonicalForm, compressOptionsSchema } from '../schemas/options';
import { planLimits } from '../auth/plans';
import type { Formats, Health } from '../schemas/responses';
import type { AppEnv } from '../types';
import { openApiDocument } from './openapi';

const LOSSY_QUALITY = { min: 1, max: 100 };

/** Unauthenticated discovery routes. */
export const metaRoutes = new Hono<AppEnv>()
  .get('/health', (c) => c.json({ status: 'ok' } satisfies Health))
  .get('/formats', async (c) => {
    const key = presentedKey(c.req.raw.headers);
    // A key is optional here; an unknown one is still refused rather than silently ignored.
    const account = key ? await authenticate(c.env, key, new URL(c.req.url).hostname) : undefined;
    // Without a key: what fits a Worker's memory, on no plan's ceiling.
    const ceiling = account?.plan ?? { maxPixels: Infinity };
    return c.json({
      success: true,
      input: OUTPUT_FORMATS.map((format) => ({
        format,
        mime: mimeType(format),
        // Inputs whose decoders hold more than JPEG's and PNG's have limits of their own.
        ...(format === 'avif'
          ? { max_pixels: maxInputPixelsWithinBudget('avif'), max_pixels_with_alpha_plane: maxInputPixelsWithinBudget('avif-alpha') }
          : {}),
        ...(format === 'webp'
          ? {
              max_pixels_lossless: maxInputPixelsWithinBudget('webp-lossless'),
              max_pixels_with_alpha: maxInputPixelsWithinBudget('webp-alpha'),
            }
          : {}),
      })),
      output: OUTPUT_FORMATS.map((format) => ({
        format,
        mime: mimeType(format),
        quality: {
          ...LOSSY_QUALITY,
          smart: {
            metric: METRIC,
            targets: SMART_TARGETS,
            banding: { metric: BANDING_METRIC, limit: BANDING_LIMIT },
            ...(format === 'png' ? { colour_shift: { metric: COLOUR_SHIFT_METRIC, limits: PALETTE_COLOUR_SHIFT_LIMITS } } : {}),
          },
          ...(format === 'png' ? { note: 'below 100: a palette of at most 256 colours' } : {}),
        },
        lossless: IMAGE_FORMATS[format].lossless,
        max_dimension: MAX_DIMENSION,
        max_output_side: IMAGE_FORMATS[format].maxOutputSide,
        max_pixels: pixelLimit(format, ceiling),
        // Lossless WebP takes more memory, so it has a limit of its own.
        ...(format === 'jpeg' ? {} : { max_pixels_lossless: pixelLimit(format, ceiling, { lossless: true }) }),
        // A heavy decoder and encoder together: the input's line and a margin also bound AVIF from AVIF.
        ...(format === 'avif' ? { max_pixels_from_avif_input: pixelLimit(format, ceiling, { lossless: false, input: 'avif' }) } : {}),
      })),
      options: z.toJSONSchema(compressOptionsSchema, { io: 'input', unrepresentable: 'any', override: canonicalForm }) as Record<
        string,
        unknown
      >,
      ...(account ? { limits: planLimits(account.plan) } : {}),
    } satisfies Formats);
  })
  .get('/openapi.json', (c) => c.json(openApiDocument()));
