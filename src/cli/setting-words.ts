/**
 * The CLI's words for hln's settings: an error names the setting that fixes it as data
 * (errors.ts `Remedy`), and the CLI names it as the user gave it, the flag when a flag
 * set it, the variable when the environment did, both when neither did.
 */
import { type Setting, type SettingNamer, shownSetting } from "../errors.js";

/** The flag and the environment variable of each setting, where the CLI has one. */
export const cliSettingWords: Record<Setting, { flag?: string; variable?: string }> = {
  engine: { flag: "--engine", variable: "BUILDKIT_HOST" },
  dockerHost: { variable: "DOCKER_HOST" },
  tlsCa: { flag: "--tlscacert", variable: "BUILDKIT_TLS_CA" },
  tlsClientCert: {
    flag: "--tlscert and --tlskey",
    variable: "BUILDKIT_TLS_CERT and BUILDKIT_TLS_KEY",
  },
  tlsDir: { flag: "--tlsdir", variable: "BUILDKIT_TLS_DIR" },
  tlsServerName: { flag: "--tlsservername", variable: "BUILDKIT_TLS_SERVERNAME" },
  silenceTimeout: { variable: "HLN_SILENCE_TIMEOUT" },
  cacheTo: { flag: "--cache-to" },
  noCache: { flag: "--no-cache" },
  debug: { flag: "--debug", variable: "HLN_DEBUG" },
  registry: { flag: "--registry", variable: "HLN_REGISTRY" },
  target: { flag: "--target" },
};

/** The flags cache entries come from, for errors about them (stack/cache-spec.ts). */
export const cacheFlagNames = { from: "--cache-from", to: "--cache-to" };

/** What the user gave on this run: the flags (as typed, `--tlscacert`) and the environment. */
export interface GivenSettings {
  flags: ReadonlySet<string>;
  env: NodeJS.ProcessEnv;
}

/**
 * Names settings in the words of the interface the user used for each: the flag if they
 * gave it, else the variable if it is set, else the flag, with the variable as the other
 * way when there is one.
 */
export function cliSettingNamer(given: GivenSettings): SettingNamer {
  return (setting, value) => {
    const { flag, variable } = cliSettingWords[setting];
    const show = (name: string) => (value === undefined ? name : shownSetting(name, value));
    // A pair (`--tlscert and --tlskey`) counts as given when either half is.
    if (flag?.split(" and ").some((f) => given.flags.has(f))) return show(flag);
    if (variable?.split(" and ").some((v) => given.env[v])) return show(variable);
    if (flag && variable) return `${show(flag)} (or ${show(variable)})`;
    return show((flag ?? variable) as string);
  };
}
