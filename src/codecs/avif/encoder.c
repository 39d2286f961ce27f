// libavif's encoder (with libaom) behind a pointer-taking C interface, for Workers.
//
// jSquash's glue takes the RGBA as a C++ std::string by value and converts all of it to YUV
// at once. Here the caller writes the image into a YUV picture a band of rows at a time
// (each band converted, then its RGBA buffer reused), so the heap never holds the whole RGBA
// image. A large image is encoded as a grid of cells from one cell-sized picture, which the
// caller refills before libavif encodes each cell; libavif runs one libaom encoder per cell and
// frees it before the next. So both the pixels held and libaom's working memory follow the
// cell's size, not the image's.
//
// Build: scripts/build-avif-encoder.sh (libavif and libaom compiled with Emscripten).

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "avif/avif.h"

#define EXPORT __attribute__((used, visibility("default")))

EXPORT void* avif_malloc(size_t size) { return malloc(size); }
EXPORT void avif_free(void* pointer) { free(pointer); }

// A picture of width x height: YUV 4:2:0 with BT.601 coefficients for lossy encodes (as
// jSquash's; 4:4:4 when `full_chroma`), 4:4:4 with the identity matrix for lossless ones (RGB
// kept exactly). Full range. No alpha plane until a band brings a pixel that is not opaque.
EXPORT avifImage* avif_picture_new(int width, int height, int lossless, int full_chroma) {
  const avifPixelFormat format = lossless || full_chroma ? AVIF_PIXEL_FORMAT_YUV444 : AVIF_PIXEL_FORMAT_YUV420;
  avifImage* image = avifImageCreate((uint32_t)width, (uint32_t)height, 8, format);
  if (image == NULL) return NULL;
  image->yuvRange = AVIF_RANGE_FULL;
  image->matrixCoefficients = lossless ? AVIF_MATRIX_COEFFICIENTS_IDENTITY : AVIF_MATRIX_COEFFICIENTS_BT601;
  if (avifImageAllocatePlanes(image, AVIF_PLANES_YUV) != AVIF_RESULT_OK) {
    avifImageDestroy(image);
    return NULL;
  }
  return image;
}

EXPORT void avif_picture_free(avifImage* image) {
  if (image != NULL) avifImageDestroy(image);
}

EXPORT int avif_picture_has_alpha(const avifImage* image) { return image->alphaPlane != NULL; }

static int band_has_transparency(const uint8_t* rgba, size_t pixels) {
  for (size_t i = 0; i < pixels; ++i) {
    if (rgba[i * 4 + 3] != 255) return 1;
  }
  return 0;
}

// Destroys an image made by avifImageSetViewRect without freeing the planes it points into.
static void release_view(avifImage* view) {
  for (int plane = 0; plane < 3; ++plane) view->yuvPlanes[plane] = NULL;
  view->alphaPlane = NULL;
  avifImageDestroy(view);
}

// Converts `rows` rows of RGBA starting at row `top` into the picture. `top` must be even
// (4:2:0 chroma pairs rows), and in 4:2:0 so must `rows` unless the band is the picture's last.
// Each pair of rows is converted on its own, so the bands make the picture one conversion
// of the whole image would. Returns 1 on success.
EXPORT int avif_picture_import_rows(avifImage* image, const uint8_t* rgba, int top, int rows) {
  if ((top & 1) || top < 0 || rows <= 0 || (uint32_t)rows > image->height - (uint32_t)top) return 0;
  if ((rows & 1) && image->yuvFormat == AVIF_PIXEL_FORMAT_YUV420 && (uint32_t)(top + rows) != image->height) return 0;
  if (image->alphaPlane == NULL && band_has_transparency(rgba, (size_t)image->width * rows)) {
    // The rows already converted were opaque.
    if (avifImageAllocatePlanes(image, AVIF_PLANES_A) != AVIF_RESULT_OK) return 0;
    memset(image->alphaPlane, 0xff, (size_t)image->alphaRowBytes * image->height);
  }
  avifImage* band = avifImageCreateEmpty();
  if (band == NULL) return 0;
  const avifCropRect rect = {0, (uint32_t)top, image->width, (uint32_t)rows};
  int ok = avifImageSetViewRect(band, image, &rect) == AVIF_RESULT_OK;
  if (ok) {
    avifRGBImage rgb;
    avifRGBImageSetDefaults(&rgb, band);
    rgb.format = AVIF_RGB_FORMAT_RGBA;
    rgb.depth = 8;
    rgb.pixels = (uint8_t*)rgba;
    rgb.rowBytes = band->width * 4;
    // Without an alpha plane the conversion would allocate one for the band.
    rgb.ignoreAlpha = image->alphaPlane == NULL;
    ok = avifImageRGBToYUV(band, &rgb) == AVIF_RESULT_OK;
  }
  // The conversion marks the planes as the band's own: they are the picture's.
  release_view(band);
  return ok;
}

// An encoder: libavif's speed (libaom's cpu-used; the all-intra usage for a still image)
// and quality (0–100, 100 lossless), one thread.
EXPORT avifEncoder* avif_encoder_new(int speed, int quality, int quality_alpha) {
  avifEncoder* encoder = avifEncoderCreate();
  if (encoder == NULL) return NULL;
  encoder->maxThreads = 1;
  encoder->speed = speed;
  encoder->quality = quality;
  encoder->qualityAlpha = quality_alpha;
  return encoder;
}

EXPORT void avif_encoder_free(avifEncoder* encoder) {
  if (encoder != NULL) avifEncoderDestroy(encoder);
}

// A libaom option by name ("tune", "enable-palette", ...; "color:" or "alpha:" limits it to one
// plane set). Returns 1 when libavif accepted it (libaom checks it when the encode starts).
EXPORT int avif_encoder_set_option(avifEncoder* encoder, const char* key, const char* value) {
  return avifEncoderSetCodecSpecificOption(encoder, key, value) == AVIF_RESULT_OK;
}

// The encoded file, owned by the caller (avif_output_free).
typedef struct {
  avifRWData data;
  avifResult result;
} AvifOutput;

EXPORT uint8_t* avif_output_bytes(AvifOutput* output) { return output->data.data; }
EXPORT size_t avif_output_size(AvifOutput* output) { return output->data.size; }
EXPORT int avif_output_result(AvifOutput* output) { return (int)output->result; }
EXPORT const char* avif_result_name(int result) { return avifResultToString((avifResult)result); }
EXPORT void avif_output_free(AvifOutput* output) {
  if (output == NULL) return;
  avifRWDataFree(&output->data);
  free(output);
}

// Encodes the picture as one image.
EXPORT AvifOutput* avif_encode(avifEncoder* encoder, avifImage* image) {
  AvifOutput* output = calloc(1, sizeof(AvifOutput));
  if (output == NULL) return NULL;
  output->result = avifEncoderWrite(encoder, image, &output->data);
  return output;
}

// Set around a grid encode; libavif, patched by the build script, calls it before it encodes a
// cell's colour or alpha.
extern void (*avifPrepareCellHook)(uint32_t cellIndex, avifBool alpha);

// Implemented by the Worker (avif-encoder.ts): writes cell `index` of the image into the cell picture.
extern void avif_fill_cell(uint32_t index, int alpha);

static void fill_cell(uint32_t index, avifBool alpha) { avif_fill_cell(index, alpha); }

// Encodes a width x height image as a grid of cells `cell_size` square (a multiple of 64; the
// last column and row narrower), all views of `cell_picture`, which is one cell's size and is
// refilled by the Worker before each cell is encoded. `transparent`: some pixel is not opaque
// (libavif decides on an alpha item before any cell is filled). Returns NULL when out of memory
// before libavif ran.
EXPORT AvifOutput* avif_encode_grid(avifEncoder* encoder, avifImage* cell_picture, int width, int height, int cell_size, int transparent) {
  AvifOutput* output = calloc(1, sizeof(AvifOutput));
  if (output == NULL) return NULL;
  const uint32_t cell = (uint32_t)cell_size, w = (uint32_t)width, h = (uint32_t)height;
  if (transparent && cell_picture->alphaPlane == NULL) {
    if (avifImageAllocatePlanes(cell_picture, AVIF_PLANES_A) != AVIF_RESULT_OK) {
      output->result = AVIF_RESULT_OUT_OF_MEMORY;
      return output;
    }
    memset(cell_picture->alphaPlane, 0, (size_t)cell_picture->alphaRowBytes * cell_picture->height);
  }
  const uint32_t columns = (w + cell - 1) / cell, rows = (h + cell - 1) / cell;
  avifImage** cells = calloc((size_t)columns * rows, sizeof(avifImage*));
  output->result = cells == NULL ? AVIF_RESULT_OUT_OF_MEMORY : AVIF_RESULT_OK;
  for (uint32_t i = 0; output->result == AVIF_RESULT_OK && i < columns * rows; ++i) {
    const uint32_t x = (i % columns) * cell, y = (i / columns) * cell;
    const avifCropRect rect = {0, 0, w - x < cell ? w - x : cell, h - y < cell ? h - y : cell};
    cells[i] = avifImageCreateEmpty();
    output->result = cells[i] == NULL ? AVIF_RESULT_OUT_OF_MEMORY : avifImageSetViewRect(cells[i], cell_picture, &rect);
  }
  if (output->result == AVIF_RESULT_OK) {
    avifPrepareCellHook = fill_cell;
    output->result = avifEncoderAddImageGrid(encoder, columns, rows, (const avifImage* const*)cells, AVIF_ADD_IMAGE_FLAG_SINGLE);
    avifPrepareCellHook = NULL;
  }
  if (output->result == AVIF_RESULT_OK) output->result = avifEncoderFinish(encoder, &output->data);
  for (uint32_t i = 0; cells != NULL && i < columns * rows; ++i) {
    if (cells[i] != NULL) release_view(cells[i]);
  }
  free(cells);
  return output;
}
