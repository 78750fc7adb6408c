/**
 * The session's Auth service: BuildKit asks it for registry credentials when it pulls or
 * pushes. Only `Credentials` is served. BuildKit treats UNIMPLEMENTED on `FetchToken`,
 * `GetTokenAuthority` and `VerifyTokenAuthority` as "fetch tokens yourself", which it then
 * does with the user name and secret from `Credentials` (session/auth/auth.go).
 */
import { debuglog } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import { HlnError } from "../errors.js";
import { Auth } from "../gen/buildkit/filesync_pb.js";
import {
  type CredentialHelperRunner,
  type CredentialsSource,
  type DockerConfig,
  dockerConfigPath,
  loadDockerConfig,
  lookupCredentials,
  type RegistryCredentials,
  spawnCredentialHelper,
} from "./docker-config.js";
import type { SessionService } from "./session.js";

const debug = debuglog("hln:auth");

export interface AuthServiceOptions {
  /** Where `DOCKER_CONFIG` and the helpers' `PATH` come from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Home directory for `~/.docker/config.json`. Default `os.homedir()`. */
  home?: string;
  /** Reads the config file; must throw an error with code `ENOENT` when it is missing. Default `fs.readFile`. */
  readFile?: (path: string) => Promise<string>;
  /** Runs a credential helper. Default: spawn `docker-credential-<name> get` on `env.PATH`. */
  runHelper?: CredentialHelperRunner;
  /** Time a credential helper may take, for the default runner. Default 30000 ms. */
  helperTimeoutMs?: number;
  /** Told of every lookup: which host BuildKit asked about and where the answer came from. */
  onLookup?: (lookup: { host: string; source: CredentialsSource }) => void;
}

/**
 * Serves `moby.filesync.v1.Auth/Credentials` from the Docker CLI config. The config is
 * read once, on the first request; answers are remembered per host for the life of the
 * service (one session), so a helper runs at most once per registry.
 *
 * A host with no credentials is answered with empty ones (anonymous access). A broken
 * config or a missing helper fails the request, and with it the pull or push, with a
 * message that names the file or the helper.
 *
 * @example
 * const session = await openSession(conn, { services: [createAuthService({ env: process.env })] });
 */
export function createAuthService(options: AuthServiceOptions = {}): SessionService {
  const env = options.env ?? process.env;
  const configPath = dockerConfigPath(env, options.home);
  const runHelper =
    options.runHelper ?? spawnCredentialHelper({ env, timeoutMs: options.helperTimeoutMs });
  let config: Promise<DockerConfig> | undefined;
  const answers = new Map<string, Promise<RegistryCredentials>>();

  const lookup = (host: string, signal: AbortSignal): Promise<RegistryCredentials> => {
    let answer = answers.get(host);
    if (answer === undefined) {
      answer = (async () => {
        config ??= loadDockerConfig(configPath, options.readFile);
        const { credentials, source } = await lookupCredentials(await config, host, {
          runHelper,
          configPath,
          signal,
        });
        // Names the source, never the values.
        debug("credentials for %s: %s (%s)", host, source, configPath);
        options.onLookup?.({ host, source });
        return credentials;
      })();
      answers.set(host, answer);
      // A failure is not remembered: the next request tries again.
      answer.catch(() => answers.delete(host));
    }
    return answer;
  };

  return {
    methods: ["/moby.filesync.v1.Auth/Credentials"],
    register(router) {
      // Only `credentials`: connect answers UNIMPLEMENTED for the other three methods.
      router.service(Auth, {
        async credentials(req, ctx) {
          try {
            return await lookup(req.host, ctx.signal);
          } catch (err) {
            const e = HlnError.from(err);
            debug("credentials for %s failed: %s", req.host, e.message);
            throw new ConnectError(
              e.message,
              e.code === "E_ABORTED" ? Code.Canceled : Code.FailedPrecondition,
              undefined,
              undefined,
              e,
            );
          }
        },
      });
    },
  };
}
