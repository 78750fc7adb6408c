/**
 * UTF-8 encoding for @bufbuild/protobuf that is fast on short strings. The library encodes
 * every string field with `TextEncoder.encode`, which in Node costs a call into C++ per
 * string: for a thousand-op Definition (digests, paths, argv, caps, names) it was the
 * largest single cost of marshaling. `Buffer.from` writes the same bytes (a lone surrogate
 * becomes U+FFFD, EF BF BD, in both) from a pooled allocation. Decoding is left as it is.
 */
import { configureTextEncoding, getTextEncoding } from "@bufbuild/protobuf/wire";

/** The UTF-8 bytes of `text`, exactly as `TextEncoder.encode` gives them. */
export function encodeUtf8(text: string): Uint8Array<ArrayBuffer> {
  return Buffer.from(text, "utf8") as Uint8Array<ArrayBuffer>;
}

let installed = false;

/** Makes every protobuf encoding in this process use `encodeUtf8`; idempotent. */
export function useFastUtf8Encoding(): void {
  if (installed) return;
  installed = true;
  configureTextEncoding({ ...getTextEncoding(), encodeUtf8 });
}
