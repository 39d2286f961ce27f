import type { CompressOptions } from '../schemas/options';

export interface Size {
  width: number;
  height: number;
}

export interface ResizeRequest {
  width?: number;
  height?: number;
  max_width?: number;
  max_height?: number;
  fit: CompressOptions['fit'];
}

/** A resize plan: optionally crop a centred region of the source, then scale it to `size`. */
export interface ResizePlan {
  crop?: { x: number; y: number; width: number; height: number };
  size: Size;
}

const atLeastOne = (n: number) => Math.max(1, Math.round(n));

/**
 * Where the output's pixels come from. Exact `width`/`height` apply first (one alone keeps
 * the aspect; both use `fit`), then `max_width`/`max_height` shrink the result to fit inside
 * without ever enlarging. Returns undefined when the source size is already the answer.
 */
export function planResize(source: Size, request: ResizeRequest): ResizePlan | undefined {
  let plan: ResizePlan = { size: { ...source } };
  const { width, height } = request;

  if (width && height) {
    if (request.fit === 'fill') plan = { size: { width, height } };
    else if (request.fit === 'contain') plan = { size: scaleToFit(source, width, height) };
    else plan = { crop: centredCrop(source, width / height), size: { width, height } };
  } else if (width) {
    plan = { size: { width, height: atLeastOne((source.height * width) / source.width) } };
  } else if (height) {
    plan = { size: { width: atLeastOne((source.width * height) / source.height), height } };
  }

  const bounded = scaleToFit(plan.size, request.max_width ?? Infinity, request.max_height ?? Infinity);
  if (bounded.width < plan.size.width || bounded.height < plan.size.height) plan = { ...plan, size: bounded };

  const unchanged = !plan.crop && plan.size.width === source.width && plan.size.height === source.height;
  return unchanged ? undefined : plan;
}

/** The largest size with the source's aspect that fits inside the box (may enlarge). */
function scaleToFit(source: Size, maxWidth: number, maxHeight: number): Size {
  const scale = Math.min(maxWidth / source.width, maxHeight / source.height);
  if (!Number.isFinite(scale)) return { ...source };
  return { width: atLeastOne(source.width * scale), height: atLeastOne(source.height * scale) };
}

function centredCrop(source: Size, aspect: number): ResizePlan['crop'] {
  const sourceAspect = source.width / source.height;
  if (Math.abs(sourceAspect - aspect) < 1e-9) return undefined;
  const width = sourceAspect > aspect ? atLeastOne(source.height * aspect) : source.width;
  const height = sourceAspect > aspect ? source.height : atLeastOne(source.width / aspect);
  return { x: Math.floor((source.width - width) / 2), y: Math.floor((source.height - height) / 2), width, height };
}
