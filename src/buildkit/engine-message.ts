/**
 * BuildKit's error text as a user can read it. The engine wraps its errors in gRPC status
 * text (`rpc error: code = Unknown desc = ...`), names its own internal build refs, and
 * writes paths as they are on the engine's disk, inside the temporary mounts where it
 * opened the user's filesystem (`/var/lib/docker/tmp/buildkit-mount2606885912/nope`). Only
 * the path inside the mount means anything to the user (`/nope`); the rest is noise that
 * changes on every run. Everything else in the message is kept, word for word.
 */

/** Roots of the engine's own mounts and snapshots, up to the user's `/`. */
const mountRoots = [
  // A snapshot mounted for a file op or a read (BuildKit's snapshot.Mounter: os.MkdirTemp "buildkit-mount").
  /\/[^\s"':]*\/buildkit-mount\d+/g,
  // A cache mount's directory (cache.mounts: "buildkit" + a random number).
  /\/[^\s"':]*\/cachemounts\/buildkit\d+/g,
  // Snapshotter directories: overlayfs and native snapshots, Docker's overlay2 layers.
  /\/[^\s"':]*\/snapshots\/\d+\/fs/g,
  /\/[^\s"':]*\/overlay2\/[0-9a-f]{64}\/(?:merged|diff)/g,
  // A step's root filesystem as the executor mounts it (executor/<id>/rootfs).
  /\/[^\s"':]*\/executor\/[0-9a-z]+\/rootfs/g,
];

export function cleanEngineMessage(raw: string): string {
  // A step's command line, as BuildKit quotes it, is the user's own text (and how hln
  // finds the step again): it is left as it is. split() puts it at the odd indexes.
  return raw
    .split(/(process "(?:[^"\\]|\\.)*")/)
    .map((part, i) => (i % 2 === 1 ? part : clean(part)))
    .join("");
}

function clean(part: string): string {
  // gRPC status wrapping, possibly nested by each hop (daemon, gateway, frontend).
  let text = part.replace(/rpc error: code = \w+ desc = /g, "");
  // Internal refs and cache-key plumbing say nothing about the user's graph.
  text = text.replace(/failed to compute cache key: /g, "");
  text = text.replace(/failed to calculate checksum of ref [^\s:]+(?:::[^\s:]+)?: /g, "");
  for (const root of mountRoots)
    text = text.replace(root, (m: string, offset: number, whole: string) =>
      whole[offset + m.length] === "/" ? "" : "/",
    );
  return text;
}
