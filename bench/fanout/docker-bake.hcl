// The bake side of bench/cases/w2-fanout.ts; the bench sets NONCE (and SLEEP in smoke
// runs) through the environment, which bake reads into these variables.
variable "NONCE" {
  default = "0"
}

variable "SLEEP" {
  default = "2"
}

group "default" {
  targets = ["join"]
}

target "join" {
  context    = "."
  dockerfile = "Dockerfile"
  target     = "join"
  args = {
    NONCE   = NONCE
    SLEEP = SLEEP
  }
  // hln exports nothing for this stack, so bake must not export or load an image either.
  output = ["type=cacheonly"]
}
