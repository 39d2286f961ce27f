// Where the codecs switch paths by size: shared with the cost model, which prices each path.

/**
 * Where the memory-lean paths take over, in pixels. Above `jpegStrips` JPEG is encoded in
 * strips (baseline, not progressive), above `pngStream` PNG is deflated by the runtime
 * (CompressionStream) instead of oxipng: the whole-image encoders would not fit an isolate's
 * memory, and both outputs are a little larger. Above `leaveInHeap` a decoded image stays in
 * its decoder's memory instead of being copied out (see `takePixels`).
 */
export interface MemoryThresholds {
  jpegStrips: number;
  pngStream: number;
  /** Above this, a palette PNG is not given to oxipng. */
  indexedOxipng: number;
  leaveInHeap: number;
  /** Above this, PNG is decoded a row at a time (`png-stream-decoder.ts`): squoosh_png holds the image 2–3 times over. */
  pngStreamDecode: number;
}
export const MEMORY_THRESHOLDS: MemoryThresholds = {
  jpegStrips: 4_000_000,
  pngStream: 2_000_000,
  indexedOxipng: 5_000_000,
  leaveInHeap: 2_000_000,
  pngStreamDecode: 2_000_000,
};
/**
 * oxipng spends a fixed time on every row whatever its width (docs/reliability.md, "CPU by
 * shape"): taller images are deflated by the runtime instead, which costs next to nothing a row.
 */
export const OXIPNG_MAX_ROWS = 8192;
