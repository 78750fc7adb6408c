/**
 * LLB capability IDs hln declares in `OpMetadata.caps`. The daemon rejects any cap it does not
 * know or has disabled (solver/llbsolver/vertex.go ValidateCaps), and an older daemon silently
 * drops proto fields it does not know, so each op lists the caps of the features it uses,
 * exactly as the Go client does (client/llb/exec.go, fileop.go, source.go, state.go).
 * IDs and first releases are from solver/pb/caps.go history (wire doc section 9).
 */
export const Cap = {
  // <= v0.3
  sourceImage: "source.image",
  sourceImageResolveMode: "source.image.resolvemode",
  sourceLocal: "source.local",
  sourceLocalUnique: "source.local.unique",
  sourceLocalSessionId: "source.local.sessionid",
  sourceLocalIncludePatterns: "source.local.includepatterns",
  sourceLocalExcludePatterns: "source.local.excludepatterns",
  sourceLocalFollowPaths: "source.local.followpaths",
  sourceLocalSharedKeyHint: "source.local.sharedkeyhint",
  execMetaBase: "exec.meta.base",
  execMetaNetwork: "exec.meta.network",
  execMetaSetsDefaultPath: "exec.meta.setsdefaultpath",
  execMountBind: "exec.mount.bind",
  execMountCache: "exec.mount.cache",
  execMountCacheSharing: "exec.mount.cache.sharing",
  execMountSelector: "exec.mount.selector",
  execMountTmpfs: "exec.mount.tmpfs",
  execMountSecret: "exec.mount.secret",
  constraints: "constraints",
  platform: "platform",
  metaIgnoreCache: "meta.ignorecache",
  metaDescription: "meta.description",
  metaExportCache: "meta.exportcache",
  // v0.5
  execMetaSecurity: "exec.meta.security",
  fileBase: "file.base",
  // v0.9
  sourceLocalDiffer: "source.local.differ",
  fileCopyIncludeExcludePatterns: "file.copy.includeexcludepatterns",
  // v0.10
  mergeOp: "mergeop",
  diffOp: "diffop",
  execSecretEnv: "exec.secretenv",
  execMountTmpfsSize: "exec.mount.tmpfs.size",
  // Not here: "exec.meta.removemountstubs.recursive". caps.go defines that ID but never
  // registers it, so declaring it fails every solve with "unknown API capability".
  // v0.17
  execValidExitCode: "exec.validexitcode",
} as const;

export type CapId = (typeof Cap)[keyof typeof Cap];
