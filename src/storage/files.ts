import { signPath } from './signed-links';

/** R2 layout: `outputs/<job id>/<file name>`; the public path is `/v1/files/<job id>/<file name>`. */
export const FILES_PATH_PREFIX = '/v1/files/';

export const outputKey = (jobId: string, name: string) => `outputs/${jobId}/${name}`;
export const keyFromFilesPath = (pathname: string) => `outputs/${pathname.slice(FILES_PATH_PREFIX.length)}`;

/**
 * Writes an output under its job's own key (so writing it again replaces it), served as a
 * download by its name. `expiresAt`, when known at writing time, lets the file route refuse
 * it after expiry even before it is deleted; a job's outputs are deleted by the job's alarm.
 */
export async function putOutput(
  bucket: R2Bucket,
  output: { jobId: string; accountId: string; name: string; mime: string; bytes: Uint8Array; expiresAt?: Date },
): Promise<string> {
  const key = outputKey(output.jobId, output.name);
  await bucket.put(key, output.bytes, {
    httpMetadata: { contentType: output.mime, contentDisposition: contentDisposition(output.name) },
    customMetadata: { account: output.accountId, ...(output.expiresAt ? { expires_at: output.expiresAt.toISOString() } : {}) },
  });
  return key;
}

export async function signedFileUrl(
  secret: string | undefined,
  origin: string,
  jobId: string,
  name: string,
  expiresAt: Date,
): Promise<string> {
  const path = `${FILES_PATH_PREFIX}${encodeURIComponent(jobId)}/${encodeURIComponent(name)}`;
  return origin + (await signPath(secret, path, expiresAt));
}

/** `attachment` with an ASCII fallback and the exact name in RFC 5987 form. */
export function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\]/g, '_');
  return ascii === name
    ? `attachment; filename="${name}"`
    : `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
