#!/usr/bin/env bash
# Builds src/codecs/avif/avif_enc.wasm from src/codecs/avif/encoder.c, libavif 1.3.0 and libaom 3.12.1:
# an encoder only (no decoder, no threads, 8-bit), libaom's SSE2–SSE4.1 intrinsics compiled to
# WebAssembly SIMD. Needs Debian's emscripten, cmake, git and python3, and a deb-src line for aom:
#   apt-get install emscripten cmake dpkg-dev git python3
#   echo 'deb-src http://deb.debian.org/debian trixie main' > /etc/apt/sources.list.d/src.list && apt-get update
# libavif comes from its git repository (LIBAVIF_GIT, a URL or a local clone; tag v1.3.0).
# The output is committed, so neither `npm ci` nor CI runs this. Set AVIF_BUILD_DIR to reuse a build tree.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
work="${AVIF_BUILD_DIR:-$(mktemp -d)}"
aom_version=3.12.1
aom_sha256=40c929a41b2a59c24319a699c358351422829b3ae646de31b18cbabed0191962
avif_tag=v1.3.0
libavif_git="${LIBAVIF_GIT:-https://github.com/AOMediaCodec/libavif}"
jobs="${JOBS:-2}"
mkdir -p "$work"
cd "$work"

if [ ! -d "aom-$aom_version" ]; then
  # Only the upstream tarball is needed (the mirror may lack the .dsc); its hash is checked.
  [ -f "aom_$aom_version.orig.tar.gz" ] || apt-get source --download-only "aom=$aom_version-1+deb13u1" || true
  echo "$aom_sha256  aom_$aom_version.orig.tar.gz" | sha256sum -c -
  tar xzf "aom_$aom_version.orig.tar.gz"
  # libaom's x86 build wants an assembler for its .asm files; WebAssembly has none. Keep the C
  # intrinsics (SSE2–SSE4.1, which Emscripten maps to WebAssembly SIMD) and drop the assembly:
  # the functions only written in assembly are routed to their C or intrinsic versions below.
  sed -i 's/^if(AOM_TARGET_CPU STREQUAL "x86" OR AOM_TARGET_CPU STREQUAL "x86_64")$/if(NOT EMSCRIPTEN AND (AOM_TARGET_CPU STREQUAL "x86" OR AOM_TARGET_CPU STREQUAL "x86_64"))/' \
    "aom-$aom_version/build/cmake/aom_configure.cmake"
  sed -i 's/^function(add_asm_library lib_name asm_sources)$/&\n  if(EMSCRIPTEN)\n    return()\n  endif()/' \
    "aom-$aom_version/build/cmake/aom_optimization.cmake"
  # Two intrinsic files wrap assembly-only helpers; without them their functions fall back too.
  sed -i -e '/aom_subpixel_8t_intrin_ssse3.c"$/d' -e 's|"${AOM_ROOT}/aom_dsp/x86/variance_ssse3.c")|)|' \
    "aom-$aom_version/aom_dsp/aom_dsp.cmake"
  # x86.h detects the CPU and sets the x87 precision with inline assembly. In WebAssembly the
  # flavours are fixed at build time and floating point is already IEEE double.
  mv "aom-$aom_version/aom_ports/x86.h" "aom-$aom_version/aom_ports/x86_native.h"
  cat > "aom-$aom_version/aom_ports/x86.h" <<'HEADER'
#ifndef AOM_AOM_PORTS_X86_WASM_H_
#define AOM_AOM_PORTS_X86_WASM_H_
#ifdef __EMSCRIPTEN__
#define HAS_MMX 0x01
#define HAS_SSE 0x02
#define HAS_SSE2 0x04
#define HAS_SSE3 0x08
#define HAS_SSSE3 0x10
#define HAS_SSE4_1 0x20
#define HAS_AVX 0x40
#define HAS_AVX2 0x80
#define HAS_SSE4_2 0x100
static inline int x86_simd_caps(void) { return HAS_MMX | HAS_SSE | HAS_SSE2 | HAS_SSE3 | HAS_SSSE3 | HAS_SSE4_1; }
static inline unsigned short x87_set_double_precision(void) { return 0; }
static inline void x87_set_control_word(unsigned short mode) { (void)mode; }
#define x86_pause_hint()
#else
#include "aom_ports/x86_native.h"
#endif
#endif
HEADER
fi

# 32-bit x86 (WebAssembly's pointers are 32-bit), no runtime CPU detection (the best flavour
# is chosen at build time), SSE4.2 and later off (Emscripten's SSE4.2/AVX are mostly emulated).
emcmake cmake -S "aom-$aom_version" -B aom-build -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_FLAGS="-msimd128" -DCMAKE_CXX_FLAGS="-msimd128" \
  -DAOM_TARGET_CPU=x86 -DCONFIG_RUNTIME_CPU_DETECT=0 -DENABLE_SSE4_2=0 \
  -DCONFIG_AV1_DECODER=0 -DCONFIG_MULTITHREAD=0 -DCONFIG_AV1_HIGHBITDEPTH=0 -DCONFIG_REALTIME_ONLY=0 \
  -DCONFIG_PIC=0 -DCONFIG_WEBM_IO=0 -DENABLE_CCACHE=0 -DENABLE_DOCS=0 -DENABLE_TESTS=0 \
  -DENABLE_EXAMPLES=0 -DENABLE_TOOLS=0 >/dev/null
cmake --build aom-build --target aom -j"$jobs" >/dev/null

# Functions libaom only has in assembly for a flavour (say aom_sad64x64_sse2) are named by the
# headers' build-time choice but defined nowhere: give each one a body that calls the best
# flavour that is compiled (C or intrinsics).
python3 - aom-build/libaom.a aom-build/config > aom-build/asm_fallbacks.c <<'PYTHON'
import re, subprocess, sys
archive, config = sys.argv[1], sys.argv[2]
nm = subprocess.run(["llvm-nm", "--format=just-symbols", "--defined-only", archive], capture_output=True, text=True, check=True).stdout
defined = set(nm.split())
undefined = set(subprocess.run(["llvm-nm", "--format=just-symbols", "--undefined-only", archive], capture_output=True, text=True, check=True).stdout.split())
flavours = ["c", "mmx", "sse", "sse2", "sse3", "ssse3", "sse4_1"]
prototypes = {}
headers = ["aom_dsp_rtcd.h", "av1_rtcd.h", "aom_scale_rtcd.h"]
for header in headers:
    for line in open(f"{config}/{header}"):
        m = re.match(r"^(.+?\W)(\w+)_(" + "|".join(flavours) + r")\((.*)\);$", line.strip())
        if m:
            prototypes[(m.group(2), m.group(3))] = (m.group(1).strip(), m.group(4))
print("// Generated by scripts/build-avif-encoder.sh.")
for header in headers:
    print(f'#include "config/{header}"')
missing = sorted(s for s in undefined - defined if re.search(r"_(" + "|".join(flavours[1:]) + r")$", s))
unresolved = []
for symbol in missing:
    base, flavour = re.match(r"^(\w+?)_(" + "|".join(flavours[1:]) + r")$", symbol).groups()
    if (base, flavour) not in prototypes:
        unresolved.append(symbol)
        continue
    fallback = next(f for f in reversed(flavours[:flavours.index(flavour)]) if f == "c" or f"{base}_{f}" in defined)
    result, params = prototypes[(base, flavour)]
    names = [] if params.strip() == "void" else [re.search(r"(\w+)\s*(\[[^\]]*\])*\s*$", p).group(1) for p in params.split(",")]
    call = f"{base}_{fallback}({', '.join(names)})"
    print(f"{result} {symbol}({params}) {{ {'' if result == 'void' else 'return '}{call}; }}")
if unresolved:
    sys.exit("no prototype for: " + " ".join(unresolved))
PYTHON

if [ ! -d libavif ]; then
  git clone --quiet --branch "$avif_tag" "$libavif_git" libavif
fi
# A hook libavif calls before it encodes each grid cell, so encoder.c can fill one cell-sized
# picture per cell instead of holding the whole image as YUV (docs/avif.md, "Grid").
if ! grep -q avifPrepareCellHook libavif/src/write.c; then
  sed -i -e 's|^#include <time.h>$|&\nvoid (*avifPrepareCellHook)(uint32_t cellIndex, avifBool alpha) = NULL;|' \
    -e 's|^            const avifImage \* cellImage = cellImages\[item->cellIndex\];$|            if (avifPrepareCellHook) avifPrepareCellHook(item->cellIndex, avifIsAlpha(item->itemCategory));\n&|' \
    libavif/src/write.c
  grep -q 'if (avifPrepareCellHook)' libavif/src/write.c
fi
emcmake cmake -S libavif -B avif-build -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS="-msimd128" \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_DISABLE_FIND_PACKAGE_PkgConfig=ON \
  -DAVIF_CODEC_AOM=SYSTEM -DAVIF_CODEC_AOM_DECODE=OFF -DAVIF_CODEC_AOM_ENCODE=ON \
  -DAOM_INCLUDE_DIR="$work/aom-$aom_version" -DAOM_LIBRARY="$work/aom-build/libaom.a" \
  -DAVIF_LIBYUV=OFF -DAVIF_LIBSHARPYUV=OFF -DAVIF_LIBXML2=OFF -DAVIF_ZLIBPNG=OFF -DAVIF_JPEG=OFF \
  -DAVIF_BUILD_APPS=OFF -DAVIF_BUILD_TESTS=OFF >/dev/null
cmake --build avif-build --target avif_static -j"$jobs" >/dev/null

# A standalone module: no Emscripten JS glue, a few imports the Worker provides itself
# (avif_fill_cell is declared to Emscripten by this library; avif-encoder.ts implements it).
cat > avif-imports.js <<'LIBRARY'
mergeInto(LibraryManager.library, { avif_fill_cell: function (index, alpha) {} });
LIBRARY
emcc -O3 -msimd128 -I libavif/include -I "aom-$aom_version" -I aom-build \
  "$here/src/codecs/avif/encoder.c" aom-build/asm_fallbacks.c avif-build/libavif.a aom-build/libaom.a \
  -o "$here/src/codecs/avif/avif_enc.wasm" \
  --js-library avif-imports.js --no-entry -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sINITIAL_MEMORY=4MB -sTOTAL_STACK=2MB \
  -sMAXIMUM_MEMORY=4GB -sWASM_BIGINT=1 -sFILESYSTEM=0 -sERROR_ON_UNDEFINED_SYMBOLS=1
cp "aom-$aom_version/LICENSE" "$here/src/codecs/avif/LICENSE.libaom"
cp "aom-$aom_version/PATENTS" "$here/src/codecs/avif/PATENTS.libaom"
cp libavif/LICENSE "$here/src/codecs/avif/LICENSE.libavif"
ls -l "$here/src/codecs/avif/avif_enc.wasm"
