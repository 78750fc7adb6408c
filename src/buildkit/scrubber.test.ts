import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createScrubber,
  createStreamScrubber,
  MIN_SECRET_BYTES,
  REDACTED,
  type Scrubber,
  secretForms,
} from "./scrubber.js";

const b64 = (s: string | Uint8Array) => Buffer.from(s).toString("base64");
const b64url = (s: string | Uint8Array) => Buffer.from(s).toString("base64url");

function scrubberWith(...values: Array<string | Uint8Array>): Scrubber {
  const s = createScrubber();
  for (const v of values) s.add(v);
  return s;
}

describe("createScrubber", () => {
  it("replaces every occurrence of a secret", () => {
    const s = scrubberWith("hunter2");
    assert.equal(s.scrub("a hunter2 b hunter2hunter2 c"), "a *** b *** c");
  });

  it("handles several secrets and leaves other text alone", () => {
    const s = scrubberWith("alpha-token", "beta-token");
    assert.equal(s.scrub("x=alpha-token y=beta-token z=gamma"), "x=*** y=*** z=gamma");
    assert.equal(s.scrub("nothing here"), "nothing here");
  });

  it(`ignores values shorter than ${MIN_SECRET_BYTES} bytes, keeps ${MIN_SECRET_BYTES}-byte ones`, () => {
    const s = scrubberWith("", "a", "ab", new Uint8Array([1, 2]));
    assert.equal(s.maxLength, 0);
    assert.equal(s.scrub("a ab abc"), "a ab abc");
    s.add("abc");
    assert.equal(s.scrub("a ab abc"), `a ab ${REDACTED}`);
  });

  it("counts bytes, not characters, for the minimum", () => {
    // "é" is 2 bytes in UTF-8, "éa" is 3.
    const s = scrubberWith("é", "éa");
    assert.equal(s.scrub("é éa"), `é ${REDACTED}`);
  });

  it("accepts bytes and text alike", () => {
    const s = scrubberWith(new TextEncoder().encode("s3cr3t-bytes"));
    assert.equal(s.scrub("[s3cr3t-bytes]"), `[${REDACTED}]`);
  });

  it("also redacts a file-style value without its trailing line break", () => {
    const s = scrubberWith("token-from-file\r\n");
    assert.equal(s.scrub("got token-from-file!"), `got ${REDACTED}!`);
    assert.equal(s.scrub(`b64 ${b64("token-from-file")}`), `b64 ${REDACTED}`);
  });

  it("redacts standard and url base64, padded or not", () => {
    // 0xfb 0xff yields "+" and "/" in standard base64, "-" and "_" in base64url.
    const secret = new Uint8Array([0xfb, 0xff, 0xbf, 0x70, 0x61, 0x73, 0x73]);
    const s = scrubberWith(secret);
    const std = b64(secret);
    const url = b64url(secret);
    assert.match(std, /[+/].*=$/);
    assert.match(url, /[-_]/);
    for (const form of [std, std.replace(/=+$/, ""), url, `${url}==`]) {
      assert.equal(s.scrub(`<${form}>`), `<${REDACTED}>`, form);
    }
  });

  it("does not register the raw form of bytes that are not UTF-8, only their encodings", () => {
    const secret = new Uint8Array([0xff, 0xfe, 0xfd, 0xfc]);
    const forms = secretForms(secret);
    assert.ok(
      forms.every((f) => /^[A-Za-z0-9+/=_-]+$/.test(f)),
      forms.join(" "),
    );
    assert.equal(scrubberWith(secret).scrub(b64(secret)), REDACTED);
  });

  it("redacts a secret inside a longer base64 string at every alignment", () => {
    const secretText = "correct-horse-battery";
    const secret = Buffer.from(secretText);
    const s = scrubberWith(secretText);
    // Neighbour bytes whose encodings cannot extend a match by coincidence.
    const filler = Buffer.from("~~~~~~~~");
    for (let p = 0; p <= 5; p++) {
      for (let q = 0; q <= 5; q++) {
        const whole = Buffer.concat([filler.subarray(0, p), secret, filler.subarray(0, q)]);
        const enc = b64(whole);
        // Characters covering only the secret's bits: [ceil(8p/6), floor(8(p+n)/6)).
        const first = Math.ceil((8 * p) / 6);
        const end = Math.floor((8 * (p + secret.length)) / 6);
        const got = s.scrub(enc);
        assert.equal(
          got,
          enc.slice(0, first) + REDACTED + enc.slice(end),
          `prefix ${p}, suffix ${q}`,
        );
        const url = b64url(whole);
        assert.ok(s.scrub(url).includes(REDACTED), `url, prefix ${p}, suffix ${q}`);
      }
    }
  });

  it("hides a password inside a Basic authorization header", () => {
    for (const user of ["u", "us", "use", "user"]) {
      const header = `Authorization: Basic ${b64(`${user}:s3cret-pass`)}`;
      const got = scrubberWith("s3cret-pass").scrub(header);
      assert.ok(got.includes(REDACTED), got);
      // At most the two characters on each side that mix in neighbouring bits remain.
      const rest = got.slice("Authorization: Basic ".length).replace(REDACTED, "");
      assert.ok(rest.length <= 2 + Math.ceil((8 * (user.length + 1)) / 6) + 2, got);
    }
  });

  it("merges overlapping and touching occurrences into one marker", () => {
    const s = scrubberWith("abcd", "cdef");
    assert.equal(s.scrub("xxabcdefyy"), `xx${REDACTED}yy`);
    assert.equal(s.scrub("abcdabcd"), REDACTED);
    assert.deepEqual(s.ranges("xxabcdefyy"), [
      [2, 6],
      [4, 8],
    ]);
  });

  it("finds overlapping occurrences of the same secret", () => {
    const s = scrubberWith("aaa");
    assert.deepEqual(s.ranges("aaaa"), [
      [0, 3],
      [1, 4],
    ]);
    assert.equal(s.scrub("baaaab"), `b${REDACTED}b`);
  });

  it("reports the longest registered form", () => {
    const s = scrubberWith("abcdef");
    // The padded base64 of 6 bytes is 8 characters.
    assert.equal(s.maxLength, 8);
  });
});

describe("createStreamScrubber", () => {
  const noLeak = (out: string, secrets: string[]) => {
    for (const sec of secrets) {
      assert.ok(!out.includes(sec), `leaked ${sec} in ${JSON.stringify(out)}`);
      assert.ok(!out.includes(b64(sec).replace(/=+$/, "")), `leaked base64 of ${sec}`);
    }
  };

  it("catches a secret split at every offset into two chunks", () => {
    const secret = "p4ssw0rd-xyz";
    const s = scrubberWith(secret);
    const text = `start ${secret} middle ${b64(secret)} end ${secret}`;
    const expected = s.scrub(text);
    for (let i = 0; i <= text.length; i++) {
      const st = createStreamScrubber(s);
      const out = st.push(text.slice(0, i)) + st.push(text.slice(i)) + st.flush();
      assert.equal(out, expected, `split at ${i}`);
    }
  });

  it("catches secrets split across three chunks at every pair of offsets", () => {
    const secrets = ["abcdef", "cdefgh-longer"];
    const s = scrubberWith(...secrets);
    const text = `[abcdef] abcdefgh-longer [${b64("abcdef")}] cdefgh-longer.`;
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        const st = createStreamScrubber(s);
        const out =
          st.push(text.slice(0, i)) +
          st.push(text.slice(i, j)) +
          st.push(text.slice(j)) +
          st.flush();
        noLeak(out, secrets);
        assert.ok(out.startsWith(`[${REDACTED}]`), out);
        assert.ok(out.endsWith(`${REDACTED}.`), out);
      }
    }
  });

  it("matches scrub on random text cut into random chunks", () => {
    // A small LCG keeps the case reproducible.
    let seed = 12345;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const secrets = ["k3y", "tok-en-42", "aaaa", "s3cret/value+x"];
    const s = scrubberWith(...secrets);
    const pieces = [...secrets, ...secrets.map(b64), "a", "x", " ", "\n", "tok", "3cr", "😀"];
    const collapse = (t: string) => t.replace(/(\*\*\*)+/g, REDACTED);
    for (let round = 0; round < 300; round++) {
      let text = "";
      for (let k = rand(20); k >= 0; k--) text += pieces[rand(pieces.length)];
      const st = createStreamScrubber(s);
      let out = "";
      for (let pos = 0; pos < text.length; ) {
        const n = 1 + rand(8);
        out += st.push(text.slice(pos, pos + n));
        pos += n;
      }
      out += st.flush();
      noLeak(out, secrets);
      assert.equal(collapse(out), collapse(s.scrub(text)), JSON.stringify(text));
    }
  });

  it("gives the same text as scrub when fed one character at a time", () => {
    const s = scrubberWith("one-secret", "two-secret");
    const text = "a one-secret b two-secret c one-secretone-secret d";
    const st = createStreamScrubber(s);
    let out = "";
    for (const ch of text) out += st.push(ch);
    out += st.flush();
    assert.equal(out, s.scrub(text));
  });

  it("holds back only maxLength - 1 characters when nothing matches", () => {
    const s = scrubberWith("abcdef");
    const st = createStreamScrubber(s);
    const text = "x".repeat(50);
    assert.equal(st.push(text), "x".repeat(50 - (s.maxLength - 1)));
    assert.equal(st.flush(), "x".repeat(s.maxLength - 1));
    assert.equal(st.flush(), "");
  });

  it("passes text straight through with no secrets", () => {
    const st = createStreamScrubber(createScrubber());
    assert.equal(st.push("hello"), "hello");
    assert.equal(st.flush(), "");
  });

  it("never returns half of a surrogate pair", () => {
    const s = scrubberWith("abc");
    const text = "😀😀😀😀abc😀";
    for (let i = 0; i <= text.length; i++) {
      const st = createStreamScrubber(s);
      const parts = [st.push(text.slice(0, i)), st.push(text.slice(i)), st.flush()];
      for (const p of parts) {
        assert.ok(
          p.length === 0 || !/[\ud800-\udbff]$/.test(p),
          `split at ${i}: ${JSON.stringify(p)}`,
        );
      }
      assert.equal(parts.join(""), `😀😀😀😀${REDACTED}😀`);
    }
  });

  it("redacts a secret registered mid-stream in text pushed after that", () => {
    const s = scrubberWith("xyz");
    const st = createStreamScrubber(s);
    let out = st.push("before ");
    s.add("late-secret");
    out += st.push("late-sec") + st.push("ret after") + st.flush();
    assert.equal(out, `before ${REDACTED} after`);
  });
});
