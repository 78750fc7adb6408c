/**
 * Docker image reference normalisation. BuildKit's `docker-image://` identifier carries the
 * fully qualified reference, and the Go client computes it with distribution/reference
 * `ParseNormalizedNamed` + `TagNameOnly` (client/llb/source.go Image). We reproduce that
 * grammar (distribution/reference regexp.go) so our source ops hash like Go's.
 */

import { HlnError } from "../errors.js";

// distribution/reference normalize.go
const DEFAULT_DOMAIN = "docker.io";
const LEGACY_DEFAULT_DOMAIN = "index.docker.io";
const OFFICIAL_REPO_PREFIX = "library/";
const DEFAULT_TAG = "latest";
// reference.go RepositoryNameTotalLengthMax: applies to the path, not the domain.
const NAME_TOTAL_LENGTH_MAX = 255;

// The grammar of distribution/reference regexp.go, as JS regular expressions.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9a-fA-F]{32,}";

const REFERENCE = new RegExp(
  `^((?:${domainAndPort}/)?${remoteName})(?::(${tagPat}))?(?:@(${digestPat}))?$`,
);
const ANCHORED_NAME = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const ANCHORED_IDENTIFIER = /^[a-f0-9]{64}$/;

// go-digest algorithm.go: the algorithms a Go client accepts, with their hex lengths.
const DIGEST_HEX_LENGTH: Readonly<Record<string, number>> = {
  sha256: 64,
  sha384: 96,
  sha512: 128,
};

/** A parsed, normalised reference. */
export interface ImageRef {
  /** `docker.io`, `ghcr.io`, `localhost:5000`, ... */
  readonly domain: string;
  /** Repository path without domain, e.g. `library/alpine`. */
  readonly path: string;
  /** Tag, absent when the reference is pinned by digest only. */
  readonly tag?: string;
  /** `sha256:<hex>` when pinned. */
  readonly digest?: string;
}

/**
 * Normalises an image reference the way `docker build` does: `alpine` =>
 * `docker.io/library/alpine:latest`, `user/app:1` => `docker.io/user/app:1`; an explicit
 * registry (`localhost:5000/x`, `ghcr.io/a/b`) is kept; `:latest` is added only when there is
 * neither tag nor digest; tag and digest together are both kept.
 * Throws E_INPUT_INVALID, naming the reference, when it is not a valid reference.
 *
 * @example normalizeImageRef("alpine") // "docker.io/library/alpine:latest"
 */
export function normalizeImageRef(ref: string): string {
  return formatImageRef(parseImageRef(ref));
}

/**
 * `domain/path[:tag][@digest]`.
 *
 * @example
 * formatImageRef(parseImageRef("nginx:1.27")); // "docker.io/library/nginx:1.27"
 */
export function formatImageRef(r: ImageRef): string {
  const tag = r.tag === undefined ? "" : `:${r.tag}`;
  const digest = r.digest === undefined ? "" : `@${r.digest}`;
  return `${r.domain}/${r.path}${tag}${digest}`;
}

/**
 * Parses and normalises a reference; a missing tag becomes `latest` unless a digest is given.
 *
 * @example
 * parseImageRef("ghcr.io/acme/app"); // { domain: "ghcr.io", path: "acme/app", tag: "latest" }
 */
export function parseImageRef(ref: string): ImageRef {
  const fail = (reason: string): never => {
    throw new HlnError(
      "E_INPUT_INVALID",
      `invalid image reference ${JSON.stringify(ref)}: ${reason}`,
    );
  };
  if (ref === "") fail("repository name must have at least one component");
  if (ANCHORED_IDENTIFIER.test(ref)) {
    fail("cannot specify 64-byte hexadecimal strings (that is an image ID, not a name)");
  }
  const [domain, remainder] = splitDockerDomain(ref);
  const colon = remainder.indexOf(":");
  const remote = colon === -1 ? remainder : remainder.slice(0, colon);
  if (remote.toLowerCase() !== remote) fail(`repository name (${remote}) must be lowercase`);

  const full = `${domain}/${remainder}`;
  const m = REFERENCE.exec(full);
  if (m === null) {
    if (REFERENCE.test(full.toLowerCase())) fail("repository name must be lowercase");
    return fail("invalid reference format");
  }
  const name = ANCHORED_NAME.exec(m[1]!);
  const parsedDomain = name?.[1] ?? "";
  const path = name?.[2] ?? m[1]!;
  if (path.length > NAME_TOTAL_LENGTH_MAX) {
    fail(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  const tag = m[2];
  const digest = m[3];
  if (digest !== undefined) validateDigest(digest, fail);
  return {
    domain: parsedDomain,
    path,
    ...(tag === undefined && digest === undefined ? { tag: DEFAULT_TAG } : {}),
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

// distribution/reference normalize.go splitDockerDomain: decides whether the first path
// element is a registry host. Only `localhost`, or names containing "." or ":", or with
// upper-case letters count as hosts; Docker Hub names get the `library/` prefix.
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  if (slash === -1) return [DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name];
  const maybeDomain = name.slice(0, slash);
  const maybeRemote = name.slice(slash + 1);
  let domain: string;
  let remote: string;
  if (maybeDomain === "localhost") {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else if (maybeDomain === LEGACY_DEFAULT_DOMAIN) {
    [domain, remote] = [DEFAULT_DOMAIN, maybeRemote];
  } else if (/[.:]/.test(maybeDomain) || maybeDomain.toLowerCase() !== maybeDomain) {
    [domain, remote] = [maybeDomain, maybeRemote];
  } else {
    [domain, remote] = [DEFAULT_DOMAIN, name];
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes("/")) remote = OFFICIAL_REPO_PREFIX + remote;
  return [domain, remote];
}

// go-digest Digest.Validate: known algorithm, lower-case hex of the algorithm's length.
function validateDigest(digest: string, fail: (reason: string) => never): void {
  const sep = digest.indexOf(":");
  const algorithm = digest.slice(0, sep);
  const hex = digest.slice(sep + 1);
  const length = DIGEST_HEX_LENGTH[algorithm];
  if (length === undefined) fail(`unsupported digest algorithm ${JSON.stringify(algorithm)}`);
  if (!/^[a-f0-9]*$/.test(hex)) fail("invalid digest format: hex must be lower-case");
  if (hex.length !== length)
    fail(`invalid ${algorithm} digest length ${hex.length}, want ${length}`);
}
