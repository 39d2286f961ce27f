// libwebp's encoder behind a pointer-taking C interface, for Workers.
//
// jSquash's glue takes the RGBA as a C++ std::string by value, so its heap holds the image
// twice before libwebp converts it to YUV (96 MiB at 12 MP). Here the caller writes the
// image into a picture a band of rows at a time: each band is converted to YUV (or copied
// as ARGB for lossless) and its RGBA buffer is reused for the next, so the heap holds the
// picture and one band, never the whole RGBA image.
//
// Build: scripts/build-webp-encoder.sh (libwebp from Debian's source package, Emscripten).

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "src/webp/encode.h"
// libwebp's own building blocks for lossless bitstreams (Huffman codes, prefix codes, bits).
#include "src/dsp/dsp.h"
#include "src/dsp/lossless_common.h"
#include "src/utils/bit_writer_utils.h"
#include "src/utils/huffman_encode_utils.h"

extern int VP8LDistanceToPlaneCode(int xsize, int dist);

#define EXPORT __attribute__((used, visibility("default")))

EXPORT void* webp_malloc(size_t size) { return malloc(size); }
EXPORT void webp_free(void* pointer) { free(pointer); }

// A picture of width x height: ARGB when `lossless`, otherwise YUV 4:2:0. An alpha plane is
// added by the first band that has a pixel that is not opaque (12 MiB at 12 MP saved for the
// opaque photos that are most images). Returns NULL when it cannot be allocated.
EXPORT WebPPicture* webp_picture_new(int width, int height, int lossless) {
  WebPPicture* picture = malloc(sizeof(WebPPicture));
  if (picture == NULL || !WebPPictureInit(picture)) {
    free(picture);
    return NULL;
  }
  picture->width = width;
  picture->height = height;
  picture->use_argb = lossless;
  picture->colorspace = WEBP_YUV420;
  if (!WebPPictureAlloc(picture)) {
    free(picture);
    return NULL;
  }
  return picture;
}

// An alpha plane allocated here, not by WebPPictureAlloc, so WebPPictureFree does not free it.
static void free_added_alpha(WebPPicture* picture) {
  if (picture->a != NULL && picture->user_data == picture->a) free(picture->a);
  picture->a = NULL;
  picture->user_data = NULL;
}

EXPORT void webp_picture_free(WebPPicture* picture) {
  if (picture == NULL) return;
  free_added_alpha(picture);
  WebPPictureFree(picture);
  free(picture);
}

static int add_opaque_alpha_plane(WebPPicture* picture) {
  uint8_t* alpha = malloc((size_t)picture->width * picture->height);
  if (alpha == NULL) return 0;
  memset(alpha, 0xff, (size_t)picture->width * picture->height);
  picture->a = alpha;
  picture->a_stride = picture->width;
  picture->user_data = alpha;
  picture->colorspace = WEBP_YUV420A;
  return 1;
}

static void copy_plane_rows(uint8_t* to, int to_stride, const uint8_t* from, int from_stride, int width, int rows) {
  for (int y = 0; y < rows; ++y) memcpy(to + (size_t)y * to_stride, from + (size_t)y * from_stride, (size_t)width);
}

// Converts `rows` rows of RGBA starting at row `top` into the picture. `top` must be even
// (4:2:0 chroma pairs rows), and so must `rows` unless the band is the picture's last.
// libwebp converts each pair of rows on its own, so a picture written in bands is the
// picture WebPPictureImportRGBA would have made of the whole image. Returns 1 on success.
EXPORT int webp_picture_import_rows(WebPPicture* picture, const uint8_t* rgba, int top, int rows) {
  if ((top & 1) || top < 0 || rows <= 0 || rows > picture->height - top) return 0;
  if ((rows & 1) && top + rows != picture->height) return 0;
  WebPPicture band;
  if (!WebPPictureInit(&band)) return 0;
  band.width = picture->width;
  band.height = rows;
  band.use_argb = picture->use_argb;
  if (!WebPPictureImportRGBA(&band, rgba, picture->width * 4)) {
    WebPPictureFree(&band);  // it may have allocated the band's planes before failing
    return 0;
  }
  const int width = picture->width;
  if (picture->use_argb) {
    copy_plane_rows((uint8_t*)(picture->argb + (size_t)top * picture->argb_stride), picture->argb_stride * 4, (const uint8_t*)band.argb, band.argb_stride * 4, width * 4, rows);
  } else {
    const int uv_width = (width + 1) >> 1;
    const int uv_rows = (rows + 1) >> 1;
    copy_plane_rows(picture->y + (size_t)top * picture->y_stride, picture->y_stride, band.y, band.y_stride, width, rows);
    copy_plane_rows(picture->u + (size_t)(top >> 1) * picture->uv_stride, picture->uv_stride, band.u, band.uv_stride, uv_width, uv_rows);
    copy_plane_rows(picture->v + (size_t)(top >> 1) * picture->uv_stride, picture->uv_stride, band.v, band.uv_stride, uv_width, uv_rows);
    if (band.a != NULL) {
      if (picture->a == NULL && !add_opaque_alpha_plane(picture)) {
        WebPPictureFree(&band);
        return 0;
      }
      copy_plane_rows(picture->a + (size_t)top * picture->a_stride, picture->a_stride, band.a, band.a_stride, width, rows);
    }
  }
  WebPPictureFree(&band);
  return 1;
}

// The encoded file, owned by the caller (webp_free(webp_output_bytes(...)), then webp_output_free).
typedef struct {
  uint8_t* bytes;
  size_t size;
  int error;
} WebPOutput;

EXPORT uint8_t* webp_output_bytes(WebPOutput* output) { return output->bytes; }
EXPORT size_t webp_output_size(WebPOutput* output) { return output->size; }
EXPORT int webp_output_error(WebPOutput* output) { return output->error; }
EXPORT void webp_output_free(WebPOutput* output) {
  if (output == NULL) return;
  free(output->bytes);
  free(output);
}

//------------------------------------------------------------------------------
// The alpha plane, in little memory.
//
// libwebp compresses alpha with its full lossless encoder, which holds an ARGB copy of the
// plane, a hash chain and several sets of backward references: about 25 bytes a pixel (a
// 4 MP transparent image took its heap from 10 to 109 MiB, 12 MP to 315). This writes the
// same ALPH chunk format (a VP8L image stream of the filtered plane in the green channel,
// RFC 9649) with one Huffman code per channel, no transforms and no colour cache, and finds
// its backward references greedily with a hash table of the last position of each 4-byte
// string (1 MiB), twice: once to count symbols, once to write them. Apart from its output
// it needs no memory proportional to the image: the plane is filtered in place.

#define ALPHA_HASH_BITS 18
#define ALPHA_MIN_MATCH 3
#define ALPHA_MAX_MATCH 4096
#define ALPHA_WINDOW ((1 << 20) - 120)
#define GREEN_SYMBOLS (256 + 24)
#define DISTANCE_SYMBOLS 40

// The alpha chunk's predictive filters (WebP container spec, "Alpha"): what a pixel at
// (x, y) is predicted from, given its unfiltered neighbours.
static int alpha_predictor(const uint8_t* row, const uint8_t* above, int x, int y, WEBP_FILTER_TYPE filter) {
  if (x == 0 && y == 0) return 0;
  if (y == 0) return row[x - 1];
  if (x == 0) return above[0];
  if (filter == WEBP_FILTER_HORIZONTAL) return row[x - 1];
  if (filter == WEBP_FILTER_VERTICAL) return above[x];
  const int gradient = row[x - 1] + above[x] - above[x - 1];
  return gradient < 0 ? 0 : gradient > 255 ? 255 : gradient;
}

// Filters in place from the last pixel back, so every prediction still reads unfiltered neighbours.
static void filter_alpha_in_place(uint8_t* a, int width, int height, WEBP_FILTER_TYPE filter) {
  if (filter == WEBP_FILTER_NONE) return;
  for (int y = height - 1; y >= 0; --y) {
    uint8_t* row = a + (size_t)y * width;
    for (int x = width - 1; x >= 0; --x) row[x] = (uint8_t)(row[x] - alpha_predictor(row, row - width, x, y, filter));
  }
}

// The inverse, from the first pixel on, so every prediction reads neighbours already restored.
static void unfilter_alpha_in_place(uint8_t* a, int width, int height, WEBP_FILTER_TYPE filter) {
  if (filter == WEBP_FILTER_NONE) return;
  for (int y = 0; y < height; ++y) {
    uint8_t* row = a + (size_t)y * width;
    for (int x = 0; x < width; ++x) row[x] = (uint8_t)(row[x] + alpha_predictor(row, row - width, x, y, filter));
  }
}

typedef struct {
  uint32_t green[GREEN_SYMBOLS];
  uint32_t distance[DISTANCE_SYMBOLS];
  uint64_t extra_bits;  // of lengths and distances, while counting
  HuffmanTreeCode green_code, distance_code;
  VP8LBitWriter* writer;  // NULL while counting
} AlphaCoder;

static void put_literal(AlphaCoder* coder, int value) {
  if (coder->writer == NULL) {
    ++coder->green[value];
    return;
  }
  VP8LPutBits(coder->writer, coder->green_code.codes[value], coder->green_code.code_lengths[value]);
  // Red, blue and alpha are always 0: one-symbol codes, written with no bits.
}

static void put_copy(AlphaCoder* coder, int length, int distance, int width) {
  int code, extra_bits, extra_value;
  VP8LPrefixEncode(length, &code, &extra_bits, &extra_value);
  if (coder->writer == NULL) ++coder->green[256 + code], coder->extra_bits += extra_bits;
  else {
    VP8LPutBits(coder->writer, coder->green_code.codes[256 + code], coder->green_code.code_lengths[256 + code]);
    VP8LPutBits(coder->writer, extra_value, extra_bits);
  }
  VP8LPrefixEncode(VP8LDistanceToPlaneCode(width, distance), &code, &extra_bits, &extra_value);
  if (coder->writer == NULL) ++coder->distance[code], coder->extra_bits += extra_bits;
  else {
    VP8LPutBits(coder->writer, coder->distance_code.codes[code], coder->distance_code.code_lengths[code]);
    VP8LPutBits(coder->writer, extra_value, extra_bits);
  }
}

static size_t match_length(const uint8_t* data, size_t at, size_t from, size_t limit) {
  size_t length = 0;
  while (length < limit && data[at + length] == data[from + length]) ++length;
  return length;
}

static uint32_t hash4(const uint8_t* p) {
  const uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  return (v * 0x1e35a7bdu) >> (32 - ALPHA_HASH_BITS);
}

typedef struct {
  size_t length, distance;
} Match;

// The longest of the copies from the pixel to the left, the pixel above and the last position
// with the same next four values (ties go to the nearer, cheaper distances).
static Match find_match(const uint8_t* data, size_t i, size_t count, int width, const int32_t* last_seen) {
  Match best = {0, 0};
  const size_t limit = count - i < ALPHA_MAX_MATCH ? count - i : ALPHA_MAX_MATCH;
  if (limit < ALPHA_MIN_MATCH) return best;
  if (i >= 1) best = (Match){match_length(data, i, i - 1, limit), 1};
  if (i >= (size_t)width && width > 1) {
    const size_t length = match_length(data, i, i - width, limit);
    if (length > best.length) best = (Match){length, (size_t)width};
  }
  if (limit >= 4) {
    const int32_t seen = last_seen[hash4(data + i)];
    if (seen >= 0 && i - (size_t)seen <= ALPHA_WINDOW) {
      const size_t length = match_length(data, i, (size_t)seen, limit);
      if (length > best.length) best = (Match){length, i - (size_t)seen};
    }
  }
  return best;
}

// LZ77 over the plane, lazily: a copy is put off by one pixel when the next pixel starts a
// longer one. Deterministic, so the counting pass and the writing pass make the same choices.
static void code_alpha(AlphaCoder* coder, const uint8_t* data, size_t count, int width, int32_t* last_seen) {
  memset(last_seen, 0xff, sizeof(int32_t) << ALPHA_HASH_BITS);
  if (coder->writer == NULL) {
    memset(coder->green, 0, sizeof(coder->green));
    memset(coder->distance, 0, sizeof(coder->distance));
    coder->extra_bits = 0;
  }
  size_t i = 0;
  while (i < count) {
    Match match = find_match(data, i, count, width, last_seen);
    if (match.length >= ALPHA_MIN_MATCH && match.length < 64 && i + 1 < count) {
      if (count - i >= 4) last_seen[hash4(data + i)] = (int32_t)i;
      const Match next = find_match(data, i + 1, count, width, last_seen);
      if (next.length > match.length + 1) match.length = 0;
    }
    const size_t step = match.length >= ALPHA_MIN_MATCH ? match.length : 1;
    if (step == 1) put_literal(coder, data[i]);
    else put_copy(coder, (int)match.length, (int)match.distance, width);
    for (size_t end = i + step; i < end; ++i) {
      if (count - i >= 4) last_seen[hash4(data + i)] = (int32_t)i;
    }
  }
}

// A code with one symbol is read with no bits at all.
static void drop_lone_symbol_length(HuffmanTreeCode* code) {
  int used = 0;
  for (int i = 0; i < code->num_symbols; ++i) used += code->code_lengths[i] != 0;
  if (used == 1) memset(code->code_lengths, 0, code->num_symbols);
}

// Writes a prefix code as RFC 9649 describes: a simple code for one or two symbols below 256,
// otherwise a normal code whose lengths are themselves coded with a code of up to 7 bits.
static void put_prefix_code(VP8LBitWriter* writer, const HuffmanTreeCode* code, HuffmanTree* scratch, HuffmanTreeToken* tokens) {
  int used = 0, symbols[2] = {0, 0};
  for (int i = 0; i < code->num_symbols; ++i) {
    if (code->code_lengths[i] == 0) continue;
    if (used < 2) symbols[used] = i;
    ++used;
  }
  if (used <= 2 && symbols[0] < 256 && symbols[1] < 256) {
    VP8LPutBits(writer, 1, 1);                 // simple code
    VP8LPutBits(writer, used > 1 ? 1 : 0, 1);  // symbols - 1
    if (symbols[0] <= 1) {
      VP8LPutBits(writer, 0, 1);
      VP8LPutBits(writer, symbols[0], 1);
    } else {
      VP8LPutBits(writer, 1, 1);
      VP8LPutBits(writer, symbols[0], 8);
    }
    if (used > 1) VP8LPutBits(writer, symbols[1], 8);
    return;
  }
  static const uint8_t kCodeLengthOrder[19] = {17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
  const int token_count = VP8LCreateCompressedHuffmanTree(code, tokens, code->num_symbols);
  uint32_t histogram[19] = {0};
  uint8_t lengths[19] = {0}, rle[19] = {0};
  uint16_t codes[19] = {0};
  HuffmanTreeCode length_code = {19, lengths, codes};
  for (int i = 0; i < token_count; ++i) ++histogram[tokens[i].code];
  VP8LCreateHuffmanTree(histogram, 7, rle, scratch, &length_code);
  int stored = 19;
  while (stored > 4 && lengths[kCodeLengthOrder[stored - 1]] == 0) --stored;
  VP8LPutBits(writer, 0, 1);  // normal code
  VP8LPutBits(writer, stored - 4, 4);
  for (int i = 0; i < stored; ++i) VP8LPutBits(writer, lengths[kCodeLengthOrder[i]], 3);
  VP8LPutBits(writer, 0, 1);  // every symbol's length follows
  drop_lone_symbol_length(&length_code);
  static const int kRepeatBits[3] = {2, 3, 7};  // codes 16, 17, 18
  for (int i = 0; i < token_count; ++i) {
    const int symbol = tokens[i].code;
    VP8LPutBits(writer, codes[symbol], lengths[symbol]);
    if (symbol >= 16) VP8LPutBits(writer, tokens[i].extra_bits, kRepeatBits[symbol - 16]);
  }
}

static void put_zero_code(VP8LBitWriter* writer) {
  VP8LPutBits(writer, 1, 1);  // simple code, one symbol, 1-bit symbol 0
  VP8LPutBits(writer, 0, 1);
  VP8LPutBits(writer, 0, 1);
  VP8LPutBits(writer, 0, 1);
}

// Bits the counted symbols take with the best Huffman codes for them (code headers aside).
static uint64_t counted_bits(const AlphaCoder* coder, uint8_t* rle, HuffmanTree* scratch) {
  uint32_t green[GREEN_SYMBOLS], distance[DISTANCE_SYMBOLS];
  // The tree builder reads the lengths it is given (unused symbols must read 0).
  uint8_t green_lengths[GREEN_SYMBOLS] = {0}, distance_lengths[DISTANCE_SYMBOLS] = {0};
  uint16_t green_codes[GREEN_SYMBOLS], distance_codes[DISTANCE_SYMBOLS];
  HuffmanTreeCode green_code = {GREEN_SYMBOLS, green_lengths, green_codes};
  HuffmanTreeCode distance_code = {DISTANCE_SYMBOLS, distance_lengths, distance_codes};
  // The tree builder may change the counts it is given.
  memcpy(green, coder->green, sizeof(green));
  memcpy(distance, coder->distance, sizeof(distance));
  VP8LCreateHuffmanTree(green, 15, rle, scratch, &green_code);
  VP8LCreateHuffmanTree(distance, 15, rle, scratch, &distance_code);
  uint64_t bits = coder->extra_bits;
  for (int i = 0; i < GREEN_SYMBOLS; ++i) bits += (uint64_t)coder->green[i] * green_lengths[i];
  for (int i = 0; i < DISTANCE_SYMBOLS; ++i) bits += (uint64_t)coder->distance[i] * distance_lengths[i];
  return bits;
}

// The ALPH chunk's payload for the picture's alpha plane, which is filtered in place (and so
// no longer the picture's alpha afterwards). `filter` < 0 tries each of the four filters and
// keeps the one whose symbols count fewest bits (libwebp's estimate, from gradients, often
// picks a filter that codes worse with copies from the row above).
static uint8_t* encode_alpha_plane(WebPPicture* picture, int filter, size_t* size) {
  const int width = picture->width, height = picture->height;
  const size_t count = (size_t)width * height;
  if (picture->a_stride != width) return NULL;

  AlphaCoder* coder = calloc(1, sizeof(AlphaCoder));
  int32_t* last_seen = malloc(sizeof(int32_t) << ALPHA_HASH_BITS);
  HuffmanTree* scratch = malloc(3 * GREEN_SYMBOLS * sizeof(HuffmanTree));
  HuffmanTreeToken* tokens = malloc(GREEN_SYMBOLS * sizeof(HuffmanTreeToken));
  uint8_t* lengths = calloc(GREEN_SYMBOLS + DISTANCE_SYMBOLS, 1);
  uint16_t* codes = calloc(GREEN_SYMBOLS + DISTANCE_SYMBOLS, sizeof(uint16_t));
  uint8_t rle[GREEN_SYMBOLS];
  VP8LBitWriter writer;
  uint8_t* out = NULL;
  if (coder == NULL || last_seen == NULL || scratch == NULL || tokens == NULL || lengths == NULL || codes == NULL) goto done;
  if (!VP8LBitWriterInit(&writer, count / 8 + 64)) goto done;

  WEBP_FILTER_TYPE chosen = filter >= 0 ? (WEBP_FILTER_TYPE)filter : WEBP_FILTER_NONE;
  if (filter < 0) {
    uint64_t fewest = UINT64_MAX;
    for (int candidate = WEBP_FILTER_NONE; candidate <= WEBP_FILTER_GRADIENT; ++candidate) {
      filter_alpha_in_place(picture->a, width, height, (WEBP_FILTER_TYPE)candidate);
      code_alpha(coder, picture->a, count, width, last_seen);
      const uint64_t bits = counted_bits(coder, rle, scratch);
      unfilter_alpha_in_place(picture->a, width, height, (WEBP_FILTER_TYPE)candidate);
      if (bits < fewest) fewest = bits, chosen = (WEBP_FILTER_TYPE)candidate;
    }
  }
  filter_alpha_in_place(picture->a, width, height, chosen);
  code_alpha(coder, picture->a, count, width, last_seen);
  coder->green_code = (HuffmanTreeCode){GREEN_SYMBOLS, lengths, codes};
  coder->distance_code = (HuffmanTreeCode){DISTANCE_SYMBOLS, lengths + GREEN_SYMBOLS, codes + GREEN_SYMBOLS};
  VP8LCreateHuffmanTree(coder->green, 15, rle, scratch, &coder->green_code);
  VP8LCreateHuffmanTree(coder->distance, 15, rle, scratch, &coder->distance_code);

  VP8LPutBits(&writer, (WEBP_FILTER_TYPE)chosen << 2 | 1, 8);  // ALPH header: filter, lossless
  VP8LPutBits(&writer, 0, 1);  // no transform
  VP8LPutBits(&writer, 0, 1);  // no colour cache
  VP8LPutBits(&writer, 0, 1);  // one group of codes for the whole image
  put_prefix_code(&writer, &coder->green_code, scratch, tokens);
  put_zero_code(&writer);  // red
  put_zero_code(&writer);  // blue
  put_zero_code(&writer);  // alpha
  put_prefix_code(&writer, &coder->distance_code, scratch, tokens);
  drop_lone_symbol_length(&coder->green_code);
  drop_lone_symbol_length(&coder->distance_code);

  coder->writer = &writer;
  code_alpha(coder, picture->a, count, width, last_seen);
  VP8LBitWriterFinish(&writer);
  if (writer.error_) {
    VP8LBitWriterWipeOut(&writer);
    goto done;
  }
  *size = VP8LBitWriterNumBytes(&writer);
  out = writer.buf_;
done:
  free(coder);
  free(last_seen);
  free(scratch);
  free(tokens);
  free(lengths);
  free(codes);
  return out;
}

static void put_le(uint8_t* at, uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) at[i] = (uint8_t)(value >> (8 * i));
}

// RIFF/WEBP with a VP8X header, our ALPH chunk and the VP8 chunk of `simple` (a simple-format
// file, as WebPEncode writes for an opaque picture).
static uint8_t* assemble_with_alpha(const uint8_t* simple, size_t simple_size, const uint8_t* alpha, size_t alpha_size, int width, int height, size_t* size) {
  const size_t vp8_size = simple_size - 12;
  const size_t alph_padded = alpha_size + (alpha_size & 1);
  const size_t total = 12 + 18 + 8 + alph_padded + vp8_size;
  uint8_t* out = calloc(total, 1);
  if (out == NULL) return NULL;
  memcpy(out, "RIFF", 4);
  put_le(out + 4, (uint32_t)(total - 8), 4);
  memcpy(out + 8, "WEBPVP8X", 8);
  put_le(out + 16, 10, 4);
  out[20] = 0x10;  // alpha
  put_le(out + 24, width - 1, 3);
  put_le(out + 27, height - 1, 3);
  memcpy(out + 30, "ALPH", 4);
  put_le(out + 34, (uint32_t)alpha_size, 4);
  memcpy(out + 38, alpha, alpha_size);
  memcpy(out + 38 + alph_padded, simple + 12, vp8_size);
  *size = total;
  return out;
}

static WebPOutput* failed(WebPOutput* output, int error) {
  output->error = error;
  return output;
}

// Encodes the picture with libwebp's defaults (jSquash's too) at `quality` and `method`, or
// losslessly. A lossy picture with transparency has its alpha written by `encode_alpha_plane`
// when `own_alpha` (its alpha plane is consumed, so a picture is encoded once), by libwebp
// otherwise; for our coder `alpha_filter` forces a filter (0..3) or, when negative, has it try
// each. Returns NULL only when out of memory; otherwise check webp_output_error (a
// WebPEncodingError, 0 for none).
EXPORT WebPOutput* webp_encode(WebPPicture* picture, float quality, int lossless, int method, int own_alpha, int alpha_filter) {
  WebPOutput* output = calloc(1, sizeof(WebPOutput));
  if (output == NULL) return NULL;
  WebPConfig config;
  if (!WebPConfigInit(&config)) return failed(output, VP8_ENC_ERROR_INVALID_CONFIGURATION);
  config.quality = quality;
  config.lossless = lossless;
  config.method = method;
  if (!WebPValidateConfig(&config)) return failed(output, VP8_ENC_ERROR_INVALID_CONFIGURATION);
  if (picture->width > WEBP_MAX_DIMENSION || picture->height > WEBP_MAX_DIMENSION) return failed(output, VP8_ENC_ERROR_BAD_DIMENSION);
  // The ALPH header has two bits for the filter.
  if (alpha_filter > WEBP_FILTER_GRADIENT) return failed(output, VP8_ENC_ERROR_INVALID_CONFIGURATION);

  uint8_t* alpha = NULL;
  size_t alpha_size = 0;
  if (own_alpha && !lossless && picture->a != NULL && WebPPictureHasTransparency(picture)) {
    // What WebPEncode does first with a transparent picture, while the alpha is still there.
    if (!config.exact) WebPCleanupTransparentArea(picture);
    alpha = encode_alpha_plane(picture, alpha_filter, &alpha_size);
    free_added_alpha(picture);
    picture->colorspace = WEBP_YUV420;
    if (alpha == NULL) return failed(output, VP8_ENC_ERROR_OUT_OF_MEMORY);
  }

  WebPMemoryWriter writer;
  WebPMemoryWriterInit(&writer);
  picture->writer = WebPMemoryWrite;
  picture->custom_ptr = &writer;
  const int encoded = WebPEncode(&config, picture);
  // The writer lives on this stack frame only.
  picture->writer = NULL;
  picture->custom_ptr = NULL;
  if (!encoded) {
    WebPMemoryWriterClear(&writer);
    WebPSafeFree(alpha);
    return failed(output, picture->error_code ? picture->error_code : VP8_ENC_ERROR_OUT_OF_MEMORY);
  }
  if (alpha == NULL) {
    output->bytes = writer.mem;
    output->size = writer.size;
    return output;
  }
  output->bytes = assemble_with_alpha(writer.mem, writer.size, alpha, alpha_size, picture->width, picture->height, &output->size);
  WebPMemoryWriterClear(&writer);
  WebPSafeFree(alpha);
  if (output->bytes == NULL) return failed(output, VP8_ENC_ERROR_OUT_OF_MEMORY);
  return output;
}
