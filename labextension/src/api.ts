import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

/** The REST API namespace of the server extension. */
export const NAMESPACE = 'jupyter-sigstore';

/** An error answer of the server extension, with its one-line message. */
export class SigstoreAPIError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** Call the server extension (authenticated and XSRF-protected by ServerConnection). */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, NAMESPACE, endPoint);
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new SigstoreAPIError(
      `cannot reach the Jupyter server: ${(error as Error).message}`,
      0
    );
  }
  const text = await response.text();
  let data: any = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!response.ok) {
    const message =
      (data && (data.message || data.reason)) ||
      `${response.status} ${response.statusText}`;
    throw new SigstoreAPIError(String(message), response.status);
  }
  return data as T;
}

/** GET with query parameters. */
export function getAPI<T>(
  endPoint: string,
  query: Record<string, string> = {}
): Promise<T> {
  const params = new URLSearchParams(query).toString();
  return requestAPI<T>(params ? `${endPoint}?${params}` : endPoint);
}

/** POST a JSON body. */
export function postAPI<T>(endPoint: string, body: unknown): Promise<T> {
  return requestAPI<T>(endPoint, {
    method: 'POST',
    body: JSON.stringify(body)
  });
}
