import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HlnError } from "../../errors.js";
import {
  createPatternMatcher,
  type MatchInfo,
  type PatternKind,
  parseIgnoreFile,
} from "./pattern-matcher.js";

/** [patterns, path, expected]; expected "error" when the matcher must refuse. */
type Case = readonly [
  patterns: string | readonly string[],
  path: string,
  expected: boolean | "error",
];

const list = (p: string | readonly string[]) => (typeof p === "string" ? [p] : p);

// Docker's documented .dockerignore examples (docs.docker.com, "Build context" > .dockerignore).
const dockerDocs: Case[] = [
  ["*/temp*", "somedir/temporary.txt", true],
  ["*/temp*", "somedir/temp", true],
  ["*/temp*", "somedir/temp/inside.txt", true],
  ["*/temp*", "temporary.txt", false],
  ["*/temp*", "a/b/temporary.txt", false],
  ["*/*/temp*", "somedir/subdir/temporary.txt", true],
  ["*/*/temp*", "somedir/temporary.txt", false],
  ["temp?", "tempa", true],
  ["temp?", "tempb/file", true],
  ["temp?", "temp", false],
  ["temp?", "tempab", false],
  ["temp?", "dir/tempa", false],
  ["**/*.go", "main.go", true],
  ["**/*.go", "cmd/tool/main.go", true],
  ["**/*.go", "main.gox", false],
  [["*.md", "!README.md"], "CHANGELOG.md", true],
  [["*.md", "!README.md"], "README.md", false],
  [["*.md", "!README*.md", "README-secret.md"], "README-secret.md", true],
  [["*.md", "!README*.md", "README-secret.md"], "README-public.md", false],
  [["*.md", "!README*.md", "README-secret.md"], "NOTES.md", true],
  [["*.md", "README-secret.md", "!README*.md"], "README-secret.md", false],
  [["*.md", "README-secret.md", "!README*.md"], "NOTES.md", true],
  // "*.md" is relative to the root: it does not reach into directories.
  ["*.md", "docs/guide.md", false],
  // A directory pattern excludes everything below it.
  ["node_modules", "node_modules/left-pad/index.js", true],
  ["node_modules", "packages/a/node_modules/x.js", false],
  ["**/node_modules", "packages/a/node_modules/x.js", true],
  // Cleaning: "./a", "a/" and "a//b" are "a", "a" and "a/b".
  ["./build", "build/out.bin", true],
  ["build/", "build/out.bin", true],
  ["a//b", "a/b", true],
  ["a/../b", "b/c", true],
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs", "!docs/README.md"], "docs/other.md", true],
  [["!keep", "*"], "keep", true],
  [["*", "!keep"], "keep/file", false],
];

// moby/patternmatcher's own test table (patternmatcher_test.go TestMatches and TestMatch).
const upstream: Case[] = [
  ["*", "fileutils.go", true],
  ["*.go", "fileutils.go", true],
  [["!fileutils.go", "*.go"], "fileutils.go", true],
  [["docs", "!docs/README.md"], "docs/README.md", false],
  [["docs/", "!docs/README.md"], "docs/README.md", false],
  [["docs/*", "!docs/README.md"], "docs/README.md", false],
  [["*.go", "!fileutils.go"], "fileutils.go", false],
  ["*.go", ".", false],
  [[], "any/path/there", false],
  ["!", "fileutils.go", "error"],
  ["[", "any/path/there", "error"],
  ["**", "file", true],
  ["**", "file/", true],
  ["**/", "file", true],
  ["**/", "file/", true],
  ["**", "/", true],
  ["**/", "/", true],
  ["**", "dir/file", true],
  ["**/", "dir/file", true],
  ["**", "dir/file/", true],
  ["**/", "dir/file/", true],
  ["**/**", "dir/file", true],
  ["**/**", "dir/file/", true],
  ["dir/**", "dir/file", true],
  ["dir/**", "dir/file/", true],
  ["dir/**", "dir/dir2/file", true],
  ["dir/**", "dir/dir2/file/", true],
  ["**/dir", "dir", true],
  ["**/dir", "dir/file", true],
  ["**/dir2/*", "dir/dir2/file", true],
  ["**/dir2/*", "dir/dir2/file/", true],
  ["**/dir2/**", "dir/dir2/dir3/file", true],
  ["**/dir2/**", "dir/dir2/dir3/file/", true],
  ["**file", "file", true],
  ["**file", "dir/file", true],
  ["**/file", "dir/file", true],
  ["**file", "dir/dir/file", true],
  ["**/file", "dir/dir/file", true],
  ["**/file*", "dir/dir/file", true],
  ["**/file*", "dir/dir/file.txt", true],
  ["**/file*txt", "dir/dir/file.txt", true],
  ["**/file*.txt", "dir/dir/file.txt", true],
  ["**/file*.txt*", "dir/dir/file.txt", true],
  ["**/**/*.txt", "dir/dir/file.txt", true],
  ["**/**/*.txt2", "dir/dir/file.txt", false],
  ["**/*.txt", "file.txt", true],
  ["**/**/*.txt", "file.txt", true],
  ["a**/*.txt", "a/file.txt", true],
  ["a**/*.txt", "a/dir/file.txt", true],
  ["a**/*.txt", "a/dir/dir/file.txt", true],
  ["a/*.txt", "a/dir/file.txt", false],
  ["a/*.txt", "a/file.txt", true],
  ["a/*.txt**", "a/file.txt", true],
  ["a[b-d]e", "ae", false],
  ["a[b-d]e", "ace", true],
  ["a[b-d]e", "aae", false],
  ["a[^b-d]e", "aze", true],
  [".*", ".foo", true],
  [".*", "foo", false],
  ["abc.def", "abcdef", false],
  ["abc.def", "abc.def", true],
  ["abc.def", "abcZdef", false],
  ["abc?def", "abcZdef", true],
  ["abc?def", "abcdef", false],
  ["a\\\\", "a\\", true],
  ["**/foo/bar", "foo/bar", true],
  ["**/foo/bar", "dir/foo/bar", true],
  ["**/foo/bar", "dir/dir2/foo/bar", true],
  ["abc/**", "abc", false],
  ["abc/**", "abc/def", true],
  ["abc/**", "abc/def/ghi", true],
  ["**/.foo", ".foo", true],
  ["**/.foo", "bar.foo", false],
  ["a(b)c/def", "a(b)c/def", true],
  ["a(b)c/def", "a(b)c/xyz", false],
  ["a.|)$(}+{bc", "a.|)$(}+{bc", true],
  [
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
    true,
  ],
  ["dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", true],
  [["**", "!util/docker/web"], "util/docker/web/foo", false],
  [["**", "!util/docker/web", "util/docker/web/foo"], "util/docker/web/foo", true],
  [["**", "!dist/*.whl"], "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false],
  ["a\\*b", "a*b", true],
  ["a\\*b", "ab", false],
  ["abc", "abc", true],
  ["*c", "abc", true],
  ["a*", "a", true],
  ["a*", "ab/c", true],
  ["a*/b", "abc/b", true],
  ["a*/b", "a/c/b", false],
  ["a*b*c*d*e*/f", "axbxcxdxe/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/f", true],
  ["a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false],
  ["a*b*c*d*e*/f", "axbxcxdxexxx/fff", false],
  ["a*b?c*x", "abxbbxdbxebxczzx", true],
  ["a*b?c*x", "abxbbxdbxebxczzy", false],
  ["ab[c]", "abc", true],
  ["ab[b-d]", "abc", true],
  ["ab[e-g]", "abc", false],
  ["ab[^c]", "abc", false],
  ["ab[^b-d]", "abc", false],
  ["ab[^e-g]", "abc", true],
  ["a?b", "a☺b", true],
  ["a[^a]b", "a☺b", true],
  ["a???b", "a☺b", false],
  ["a[^a][^a][^a]b", "a☺b", false],
  ["[a-ζ]*", "α", true],
  ["*[a-ζ]", "A", false],
  ["a?b", "a/b", false],
  ["a*b", "a/b", false],
  ["[\\]a]", "]", true],
  ["[\\-]", "-", true],
  ["[x\\-]", "x", true],
  ["[x\\-]", "-", true],
  ["[x\\-]", "z", false],
  ["[\\-x]", "x", true],
  ["[\\-x]", "-", true],
  ["[\\-x]", "a", false],
  ["[]a]", "]", "error"],
  ["[-]", "-", "error"],
  ["[x-]", "x", "error"],
  ["[-x]", "x", "error"],
  ["\\", "a", "error"],
  ["[a-b-c]", "a", "error"],
  ["[^", "a", "error"],
  ["[^bc", "a", "error"],
  ["a[", "a", "error"],
  ["*x", "xxx", true],
  // Accepted by filepath.Match but not by Go's regexp (l-O is a reversed range): the error
  // shows when the pattern is first used.
  ["[Local-Only]/", "x", "error"],
];

// Go regexp details the translation must keep.
const regexpDetails: Case[] = [
  // "[*]" becomes the regexp ^[[^/]*]$: a class of "[", "^", "/" repeated, then "]".
  ["[*]", "]", true],
  ["[*]", "[^]", true],
  ["[*]", "*", false],
  ["[[:digit:]]x", "7x", true],
  ["[[:digit:]]x", "ax", false],
  ["a\\.b", "a.b", true],
  ["a\\.b", "axb", false],
  ["**/*.tmp", "a/b\nc.tmp", true],
  ["ca?é", "caxé", true],
  ["*", "😀", true],
  ["?", "😀", true],
];

function check(c: Case): void {
  const [patterns, path, expected] = c;
  const label = `${JSON.stringify(list(patterns))} ${JSON.stringify(path)}`;
  if (expected === "error") {
    assert.throws(
      () => createPatternMatcher(list(patterns)).matches(path),
      (err: unknown) => err instanceof HlnError && err.code === "E_INPUT_INVALID",
      label,
    );
    return;
  }
  const m = createPatternMatcher(list(patterns));
  assert.equal(m.matches(path), expected, label);
}

/** The same decision reached by walking: each parent's MatchInfo handed to the child. */
function walkMatches(patterns: readonly string[], path: string): boolean {
  const m = createPatternMatcher(patterns);
  const parts = path.replace(/\/+$/, "").split("/");
  let info: MatchInfo | undefined;
  let matched = false;
  for (let i = 0; i < parts.length; i++) {
    const r = m.matchesWithParent(parts.slice(0, i + 1).join("/"), info);
    info = r.info;
    matched = r.matched;
  }
  return matched;
}

describe("pattern matcher", () => {
  test(`Docker's documented examples (${dockerDocs.length} cases)`, () => {
    for (const c of dockerDocs) check(c);
  });

  test(`patternmatcher's own table (${upstream.length} cases)`, () => {
    for (const c of upstream) check(c);
  });

  test("Go regexp details survive the translation", () => {
    for (const c of regexpDetails) check(c);
  });

  test("matching with the parent's results agrees with MatchesOrParentMatches", () => {
    for (const [patterns, path, expected] of [...dockerDocs, ...upstream]) {
      if (expected === "error" || path === "." || path === "/" || path === "") continue;
      if (list(patterns).length === 0) continue;
      assert.equal(walkMatches(list(patterns), path), expected, `${patterns} ${path}`);
    }
  });

  test("with parent results, an exception skipped on the parent is not re-checked (fsutil walk)", () => {
    // patternmatcher quirk: MatchesOrParentMatches says false, the walk says true.
    const patterns = ["foo/bar", "!foo"];
    assert.equal(createPatternMatcher(patterns).matches("foo/bar"), false);
    assert.equal(walkMatches(patterns, "foo/bar"), true);
  });

  test("patterns compile to the same kind and Go regexp as patternmatcher", () => {
    const table: [string, PatternKind, string | undefined][] = [
      ["*", "regexp", "^[^/]*$"],
      ["file*", "regexp", "^file[^/]*$"],
      ["*file", "regexp", "^[^/]*file$"],
      ["a*/b", "regexp", "^a[^/]*/b$"],
      ["**", "suffix", undefined],
      ["**/**", "regexp", "^(.*/)?.*$"],
      ["dir/**", "prefix", undefined],
      ["**/dir", "suffix", undefined],
      ["**/dir2/*", "regexp", "^(.*/)?dir2/[^/]*$"],
      ["**/dir2/**", "regexp", "^(.*/)?dir2/.*$"],
      ["**file", "suffix", undefined],
      ["**/file*txt", "regexp", "^(.*/)?file[^/]*txt$"],
      ["**/**/*.txt", "regexp", "^(.*/)?(.*/)?[^/]*\\.txt$"],
      ["a[b-d]e", "regexp", "^a[b-d]e$"],
      [".*", "regexp", "^\\.[^/]*$"],
      ["abc.def", "exact", undefined],
      ["abc?def", "regexp", "^abc[^/]def$"],
      ["**/foo/bar", "suffix", undefined],
      ["a(b)c/def", "exact", undefined],
      ["a.|)$(}+{bc", "exact", undefined],
    ];
    for (const [pattern, kind, goRegexp] of table) {
      const [p] = createPatternMatcher([pattern]).patterns;
      assert.equal(p?.kind, kind, pattern);
      assert.equal(p?.goRegexp, goRegexp, pattern);
    }
  });

  test("exceptions and the prefix pruning fsutil uses", () => {
    const inc = createPatternMatcher(["src/app", "docs/*"]);
    assert.equal(inc.mayMatchInside("src"), true);
    assert.equal(inc.mayMatchInside("docs"), true);
    assert.equal(inc.mayMatchInside("test"), false);
    assert.equal(createPatternMatcher(["src/*.ts"]).mayMatchInside("test"), true);

    const exc = createPatternMatcher(["vendor", "!vendor/keep"]);
    assert.equal(exc.hasExclusions, true);
    assert.equal(exc.mayExceptInside("vendor"), true);
    assert.equal(exc.mayExceptInside("build"), false);
    assert.equal(createPatternMatcher(["build"]).mayExceptInside("build"), false);
    assert.equal(createPatternMatcher(["build", "!**/*.keep"]).mayExceptInside("build"), true);
  });
});

describe("parseIgnoreFile", () => {
  test("reads a .dockerignore as Docker does", () => {
    const text = [
      "\uFEFF# comment",
      "",
      "  node_modules  ",
      "/dist",
      "!/dist/keep.txt",
      "! spaced/../x",
      "  # not a comment",
      "docs/",
      "./tmp//a",
      "/",
      "!",
      "windows\r",
    ].join("\n");
    assert.deepEqual(parseIgnoreFile(text), [
      "node_modules",
      "dist",
      "!dist/keep.txt",
      "!x",
      "# not a comment",
      "docs",
      "tmp/a",
      "/",
      "!",
      "windows",
    ]);
  });

  test("a parsed file drives the matcher", () => {
    const m = createPatternMatcher(parseIgnoreFile("*\n!src\n/src/**/*.test.ts\n"));
    assert.equal(m.matches("README.md"), true);
    assert.equal(m.matches("src/index.ts"), false);
    assert.equal(m.matches("src/a/b.test.ts"), true);
  });
});
