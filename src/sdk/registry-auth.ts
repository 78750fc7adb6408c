/**
 * The credentials a push through the Docker engine carries: Docker's `POST /images/push`
 * takes them in the X-Registry-Auth header, base64url of a JSON AuthConfig (moby's
 * api/types/registry), found in the Docker config as `docker login` left it.
 */
import {
  dockerConfigPath,
  loadDockerConfig,
  lookupCredentials,
  spawnCredentialHelper,
} from "../buildkit/docker-config.js";

/** The X-Registry-Auth value for pushing to `host`; `{}` (anonymous) when the config has none. */
export async function registryAuth(
  host: string,
  options: { env: NodeJS.ProcessEnv; signal?: AbortSignal },
): Promise<string> {
  const configPath = dockerConfigPath(options.env);
  const config = await loadDockerConfig(configPath);
  const { credentials } = await lookupCredentials(config, host, {
    configPath,
    runHelper: spawnCredentialHelper({ env: options.env }),
    signal: options.signal,
  });
  // An identity token travels without a user name, as the Docker CLI sends it.
  const body = credentials.username
    ? { username: credentials.username, password: credentials.secret, serveraddress: host }
    : credentials.secret
      ? { identitytoken: credentials.secret, serveraddress: host }
      : {};
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}
