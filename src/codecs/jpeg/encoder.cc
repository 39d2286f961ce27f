// jpegli's JPEG encoder (libjxl) behind a pointer-taking C interface, for Workers.
//
// The caller starts an encode, writes the image a band of RGBA rows at a time into a buffer
// it reuses, and finishes: the heap never holds the whole RGBA image, only what jpegli keeps
// (its YCbCr planes and coefficients) and the output.
//
// Build: scripts/build-jpeg-encoder.sh (libjxl and highway sources, Emscripten).

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jpegli/encode.h"

#define EXPORT extern "C" __attribute__((used, visibility("default")))

// Provided by the host: throws, so a failed encode unwinds out of the module. The instance's
// heap is then in an unknown state and the host discards it.
extern "C" __attribute__((import_module("env"), import_name("jpeg_fail"))) void jpeg_fail(const char* message);

EXPORT void* jpeg_malloc(size_t size) { return malloc(size); }
EXPORT void jpeg_free(void* pointer) { free(pointer); }

struct JpegEncode {
  jpeg_compress_struct cinfo;
  jpeg_error_mgr error;
  unsigned char* output;
  unsigned long output_size;
  char message[JMSG_LENGTH_MAX];
};

static void fail_to_host(j_common_ptr cinfo) {
  JpegEncode* encode = reinterpret_cast<JpegEncode*>(cinfo->client_data);
  (*cinfo->err->format_message)(cinfo, encode->message);
  jpeg_fail(encode->message);
}

// DC steps of 6 and up (below about q80) rounded to whole 8-bit levels (a DC step of 8 is one
// level of a block's mean). jpegli's fractional steps there shift flat areas by up to a level
// once decoders round, which our banding check counts; whole steps also score better at the
// same bytes. The finer steps of higher qualities are kept (docs/measurements.md, "JPEG encoder").
static void round_dc_steps_to_levels(jpeg_compress_struct* cinfo) {
  for (int t = 0; t < NUM_QUANT_TBLS; ++t) {
    JQUANT_TBL* table = cinfo->quant_tbl_ptrs[t];
    if (table == nullptr) continue;
    if (table->quantval[0] < 6) continue;
    const int step = (table->quantval[0] + 4) / 8 * 8;
    table->quantval[0] = step > 248 ? 248 : step;  // baseline tables are 8-bit
  }
}

// Warnings are not errors; jpegli would print them to stderr.
static void ignore_message(j_common_ptr) {}

// Starts an encode of `width` x `height` RGBA pixels (alpha ignored) at `quality` (1..100, on
// the libjpeg scale), with chroma subsampled 2x2 when `subsample` (4:4:4 otherwise), progressive
// with Huffman tables optimised for the image, or baseline with the standard tables: that
// encode holds only a few rows of blocks, for strips whose joiner re-codes them anyway.
EXPORT JpegEncode* jpeg_encode_start(int width, int height, int quality, int subsample, int progressive) {
  JpegEncode* encode = static_cast<JpegEncode*>(calloc(1, sizeof(JpegEncode)));
  if (encode == nullptr) return nullptr;
  jpeg_compress_struct* cinfo = &encode->cinfo;
  cinfo->err = jpegli_std_error(&encode->error);
  encode->error.error_exit = fail_to_host;
  encode->error.output_message = ignore_message;
  cinfo->client_data = encode;
  jpegli_create_compress(cinfo);
  jpegli_mem_dest(cinfo, &encode->output, &encode->output_size);
  cinfo->image_width = width;
  cinfo->image_height = height;
  cinfo->input_components = 4;
  cinfo->in_color_space = JCS_EXT_RGBA;
  jpegli_set_defaults(cinfo);
  // Sampling first: jpegli's quantisation tables depend on it.
  const int factor = subsample ? 2 : 1;
  cinfo->comp_info[0].h_samp_factor = factor;
  cinfo->comp_info[0].v_samp_factor = factor;
  for (int c = 1; c < 3; ++c) cinfo->comp_info[c].h_samp_factor = cinfo->comp_info[c].v_samp_factor = 1;
  jpegli_set_quality(cinfo, quality, TRUE);
  round_dc_steps_to_levels(cinfo);
  jpegli_set_progressive_level(cinfo, progressive ? 2 : 0);
  cinfo->optimize_coding = progressive ? TRUE : FALSE;
  jpegli_start_compress(cinfo, TRUE);
  return encode;
}

// Writes `rows` rows of RGBA from `rgba`; returns the rows written so far.
EXPORT int jpeg_encode_rows(JpegEncode* encode, const uint8_t* rgba, int rows) {
  jpeg_compress_struct* cinfo = &encode->cinfo;
  const size_t stride = static_cast<size_t>(cinfo->image_width) * 4;
  for (int y = 0; y < rows; ++y) {
    JSAMPROW row = const_cast<JSAMPROW>(rgba + y * stride);
    jpegli_write_scanlines(cinfo, &row, 1);
  }
  return cinfo->next_scanline;
}

// Finishes the file; its bytes stay in the encode until jpeg_encode_free.
EXPORT void jpeg_encode_finish(JpegEncode* encode) { jpegli_finish_compress(&encode->cinfo); }
EXPORT uint8_t* jpeg_encode_output(JpegEncode* encode) { return encode->output; }
EXPORT size_t jpeg_encode_output_size(JpegEncode* encode) { return encode->output_size; }

EXPORT void jpeg_encode_free(JpegEncode* encode) {
  if (encode == nullptr) return;
  jpegli_destroy_compress(&encode->cinfo);
  free(encode->output);
  free(encode);
}
