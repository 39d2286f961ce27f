#!/usr/bin/env bash
# Builds src/codecs/jpeg/jpeg_enc.wasm from src/codecs/jpeg/encoder.cc and jpegli (libjxl 0.11.2,
# with highway 1.2.0 for its SIMD, and three libjpeg-turbo 2.1.5 headers for its libjpeg API).
# Needs Debian's emscripten and the three source tarballs from Debian trixie's source packages
# (their .orig tarballs; the checksums below are checked):
#   apt-get install emscripten
#   echo 'deb-src http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/src.list && apt-get update
#   cd <dir> && apt-get source --download-only jpeg-xl highway libjpeg-turbo
#   JPEG_SOURCES=<dir> scripts/build-jpeg-encoder.sh   (default <dir>: /opt/jxl/src)
# The output is committed, so neither `npm ci` nor CI runs this. Two builds are byte-identical.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
sources="${JPEG_SOURCES:-/opt/jxl/src}"
work="${JPEG_BUILD_DIR:-$(mktemp -d)}"
mkdir -p "$work" && cd "$work"
sha256sum -c --quiet <<SUMS
ab38928f7f6248e2a98cc184956021acb927b16a0dee71b4d260dc040a4320ea  $sources/jpeg-xl_0.11.2.orig.tar.gz
7e0be78b8318e8bdbf6fa545d2ecb4c90f947df03f7aadc42c1967f019e63343  $sources/highway_1.2.0.orig.tar.gz
254f3642b04e309fee775123133c6464181addc150499561020312ec61c1bf7c  $sources/libjpeg-turbo_2.1.5.orig.tar.gz
SUMS
[ -d libjxl-0.11.2 ] || tar xzf "$sources/jpeg-xl_0.11.2.orig.tar.gz"
[ -d highway-1.2.0 ] || tar xzf "$sources/highway_1.2.0.orig.tar.gz"
[ -d libjpeg-turbo-2.1.5 ] || tar xzf "$sources/libjpeg-turbo_2.1.5.orig.tar.gz"

# The libjpeg headers jpegli's CMake would configure: libjpeg 6.2's API, 8-bit samples, memory destinations.
mkdir -p include/jpegli
sed -e 's/@JPEG_LIB_VERSION@/62/' -e 's/@VERSION@//' -e 's/@LIBJPEG_TURBO_VERSION_NUMBER@//' \
  -e 's/@BITS_IN_JSAMPLE@/8/' -e 's/#cmakedefine MEM_SRCDST_SUPPORTED/#define MEM_SRCDST_SUPPORTED/' \
  -e 's/#cmakedefine \(.*\)/\/* #undef \1 *\//' libjpeg-turbo-2.1.5/jconfig.h.in > include/jpegli/jconfig.h
cp libjpeg-turbo-2.1.5/jpeglib.h libjpeg-turbo-2.1.5/jmorecfg.h include/jpegli/

# The encoder's half of jpegli (jxl_lists.cmake's JPEGXL_INTERNAL_JPEGLI_SOURCES without the
# decoder) and highway's runtime. -msimd128: highway's WASM target, its only one here.
jpegli_sources="adaptive_quantization bit_writer bitstream color_transform common destination_manager downsample
  encode encode_finish encode_streaming entropy_coding error huffman input memory_manager quant simd"
highway_sources="aligned_allocator targets abort per_target print"
flags=(-std=c++17 -O3 -msimd128 -fno-exceptions -fno-rtti -DNDEBUG -ffile-prefix-map="$work"=. -ffile-prefix-map="$here"=.
  -Ilibjxl-0.11.2 -Ilibjxl-0.11.2/lib/include -Ihighway-1.2.0 -Iinclude/jpegli -Iinclude)
mkdir -p obj
objects=()
for name in $jpegli_sources; do objects+=("obj/jpegli_$name.o"); echo "libjxl-0.11.2/lib/jpegli/$name.cc obj/jpegli_$name.o"; done > jobs.txt
for name in $highway_sources; do objects+=("obj/hwy_$name.o"); echo "highway-1.2.0/hwy/$name.cc obj/hwy_$name.o"; done >> jobs.txt
objects+=(obj/encoder.o); echo "$here/src/codecs/jpeg/encoder.cc obj/encoder.o" >> jobs.txt
export flags_line="${flags[*]}"
xargs -P"$(nproc)" -L1 sh -c 'em++ -c $flags_line -w "$0" -o "$1"' < jobs.txt

# A standalone module: no Emscripten JS glue. The host provides `jpeg_fail` (it throws) and
# the few WASI calls libc's stdio and exit refer to.
printf 'mergeInto(LibraryManager.library, { jpeg_fail: function () {} });\n' > imports.js
em++ -O3 -msimd128 "${objects[@]}" -o "$here/src/codecs/jpeg/jpeg_enc.wasm" \
  --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=1MB -sMAXIMUM_MEMORY=4GB -sTOTAL_STACK=256KB \
  -sFILESYSTEM=0 -sERROR_ON_UNDEFINED_SYMBOLS=1 --js-library imports.js
ls -l "$here/src/codecs/jpeg/jpeg_enc.wasm"
