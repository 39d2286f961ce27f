/**
 * Run by `postinstall`. jSquash's Emscripten glue copies every array it hands to C++ (the
 * pixels of every encode, the file of every decode) into WebAssembly memory one byte at a
 * time in JavaScript: 6–24 ms per megapixel-sized encode in the profile of `npm run bench`.
 * `HEAPU8.set` copies the same bytes in well under a millisecond. The codecs are unchanged;
 * if a jSquash release changes the glue, this says so and leaves the file alone (slower, still correct).
 */
import { readFileSync, writeFileSync } from 'node:fs';

const SLOW = 'for(var i=0;i<length;++i){HEAPU8[ptr+i]=value[i]}';
const FAST = 'HEAPU8.set(value,ptr)';
const GLUE = [
  'jpeg/codec/enc/mozjpeg_enc.js',
  'jpeg/codec/dec/mozjpeg_dec.js',
  'webp/codec/enc/webp_enc_simd.js',
  'webp/codec/dec/webp_dec.js',
  'avif/codec/enc/avif_enc.js',
  'avif/codec/dec/avif_dec.js',
];

for (const file of GLUE) {
  const path = new URL(`../node_modules/@jsquash/${file}`, import.meta.url);
  let text;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    console.warn(`patch-jsquash: @jsquash/${file} not found; skipped`);
    continue;
  }
  if (text.includes(FAST) && !text.includes(SLOW)) continue;
  if (!text.includes(SLOW)) {
    console.warn(`patch-jsquash: @jsquash/${file} no longer has the byte-by-byte copy; left as it is`);
    continue;
  }
  writeFileSync(path, text.replace(SLOW, FAST));
}
