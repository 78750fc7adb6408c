// The bake side of bench/cases/w1-noop.ts. Paths are relative to this file's folder
// because the bench runs bake with its working directory here.
group "default" {
  targets = ["join"]
}

target "join" {
  context    = "."
  dockerfile = "Dockerfile"
  target     = "join"
  // hln exports nothing for this stack, so bake must not export or load an image either.
  output = ["type=cacheonly"]
}
