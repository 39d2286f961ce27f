#!/usr/bin/env bash
# Builds src/codecs/webp/webp_enc.wasm from src/codecs/webp/encoder.c and libwebp 1.5.0.
# Needs Debian's emscripten and cmake, and a deb-src line for libwebp's source package:
#   apt-get install emscripten cmake dpkg-dev
#   echo 'deb-src http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/src.list && apt-get update
# The output is committed, so neither `npm ci` nor CI runs this.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${WEBP_BUILD_DIR:-$(mktemp -d)}"
version=1.5.0
cd "$work"
if [ ! -d "libwebp-$version" ]; then
  apt-get source --download-only "libwebp=$version-0.1"
  tar xzf "libwebp_$version.orig.tar.gz"
fi
cd "libwebp-$version"
# libwebp's own SIMD code (SSE2/SSE4.1 intrinsics) compiled to WebAssembly SIMD, as jSquash's SIMD build does.
emcmake cmake -B build -DCMAKE_BUILD_TYPE=Release -DWEBP_ENABLE_SIMD=1 \
  -DCMAKE_DISABLE_FIND_PACKAGE_Threads=1 -DWEBP_USE_THREAD=0 \
  -DWEBP_BUILD_ANIM_UTILS=0 -DWEBP_BUILD_CWEBP=0 -DWEBP_BUILD_DWEBP=0 -DWEBP_BUILD_GIF2WEBP=0 \
  -DWEBP_BUILD_IMG2WEBP=0 -DWEBP_BUILD_VWEBP=0 -DWEBP_BUILD_WEBPINFO=0 -DWEBP_BUILD_WEBPMUX=0 \
  -DWEBP_BUILD_EXTRAS=0 -DWEBP_BUILD_LIBWEBPMUX=0 >/dev/null
cmake --build build --target webp -j"$(nproc)" >/dev/null
# A standalone module: no Emscripten JS glue, a few imports the Worker provides itself.
emcc -O3 -msimd128 -I. "$here/src/codecs/webp/encoder.c" build/libwebp.a build/libsharpyuv.a \
  -o "$here/src/codecs/webp/webp_enc.wasm" \
  --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=1MB -sTOTAL_STACK=256KB \
  -sFILESYSTEM=0 -sERROR_ON_UNDEFINED_SYMBOLS=1
ls -l "$here/src/codecs/webp/webp_enc.wasm"
