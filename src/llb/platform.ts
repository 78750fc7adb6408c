/**
 * Target platforms (OCI image-spec `Platform`), written and read as `os/arch[/variant]`.
 * Normalisation follows containerd/platforms (`Parse` then `Normalize`, database.go
 * normalizeArch), which is what BuildKit and buildx apply to `--platform` values, so the
 * platform we put in an op matches the one a Go client would.
 */

import { create } from "@bufbuild/protobuf";
import { HlnError } from "../errors.js";
import { type Platform as PbPlatform, PlatformSchema } from "../gen/buildkit/ops_pb.js";
import { compareBytewise } from "./bytewise.js";

export interface Platform {
  /** `linux`, `windows`, ... */
  readonly os: string;
  /** GOARCH spelling: `amd64`, `arm64`, `arm`, `386`, `riscv64`, ... */
  readonly architecture: string;
  /** CPU variant, e.g. `v7` for `arm`; absent when none. */
  readonly variant?: string;
  /** Windows only: OS version the image needs. */
  readonly osVersion?: string;
  /** Windows only: required OS features. */
  readonly osFeatures?: readonly string[];
}

// containerd/platforms platforms.go specifierRe: each component is [A-Za-z0-9_.-]+.
const COMPONENT = /^[A-Za-z0-9_.-]+$/;

/**
 * Parses `os/arch[/variant]` and normalises it (`linux/x86_64` => linux/amd64,
 * `linux/arm` => linux/arm/v7, `linux/arm64/v8` => linux/arm64).
 * A lone `os` or `arch` is rejected: completing it needs the host, and LLB is pure.
 *
 * @example parsePlatform("linux/arm/v7") // { os: "linux", architecture: "arm", variant: "v7" }
 */
export function parsePlatform(specifier: string): Platform {
  const parts = specifier.split("/");
  const valid = parts.length >= 2 && parts.length <= 3 && parts.every((p) => COMPONENT.test(p));
  if (!valid) {
    throw new HlnError(
      "E_INPUT_INVALID",
      `invalid platform ${JSON.stringify(specifier)}: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm/v7`,
    );
  }
  return normalizePlatform({
    os: parts[0]!,
    architecture: parts[1]!,
    ...(parts[2] === undefined ? {} : { variant: parts[2] }),
  });
}

/**
 * `os/arch[/variant]`; the inverse of parsePlatform for normalised platforms.
 *
 * @example
 * formatPlatform({ os: "linux", architecture: "arm", variant: "v7" }); // "linux/arm/v7"
 */
export function formatPlatform(p: Platform): string {
  return p.variant ? `${p.os}/${p.architecture}/${p.variant}` : `${p.os}/${p.architecture}`;
}

/**
 * containerd/platforms `Normalize`: lower-case, canonical arch names, default variants.
 *
 * @example
 * normalizePlatform({ os: "Linux", architecture: "x86_64" }); // { os: "linux", architecture: "amd64" }
 */
export function normalizePlatform(p: Platform): Platform {
  const os = normalizeOs(p.os);
  const [architecture, variant] = normalizeArch(p.architecture, p.variant ?? "");
  // Go sorts and de-duplicates os features (slices.Sort is bytewise).
  const features = p.osFeatures && [...new Set(p.osFeatures)].sort(compareBytewise);
  return {
    os,
    architecture,
    ...(variant ? { variant } : {}),
    ...(p.osVersion ? { osVersion: p.osVersion } : {}),
    ...(features && features.length > 0 ? { osFeatures: features } : {}),
  };
}

/** The generated protobuf form placed in `Op.platform`. */
export function toPbPlatform(p: Platform): PbPlatform {
  return create(PlatformSchema, {
    architecture: p.architecture,
    os: p.os,
    variant: p.variant ?? "",
    osVersion: p.osVersion ?? "",
    osFeatures: p.osFeatures ? [...p.osFeatures] : [],
  });
}

function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

function normalizeArch(arch: string, variant: string): [string, string] {
  const a = arch.toLowerCase();
  const v = variant.toLowerCase();
  switch (a) {
    case "i386":
      return ["386", ""];
    case "x86_64":
    case "x86-64":
    case "amd64":
      return ["amd64", v === "v1" ? "" : v];
    case "aarch64":
    case "arm64":
      if (v === "8" || v === "v8" || v === "v8.0") return ["arm64", ""];
      if (v === "9" || v === "9.0" || v === "v9.0") return ["arm64", "v9"];
      return ["arm64", v];
    case "armhf":
      return ["arm", "v7"];
    case "armel":
      return ["arm", "v6"];
    case "arm":
      if (v === "" || v === "7") return ["arm", "v7"];
      if (v === "5" || v === "6" || v === "8") return ["arm", `v${v}`];
      return ["arm", v];
    default:
      return [a, v];
  }
}
