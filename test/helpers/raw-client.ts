// An HTTP client that shows the response as sent: any Host header, no
// decompression, and a cut-off body reported instead of hidden.
import { type IncomingHttpHeaders, request } from "node:http";

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body bytes received (all of them, or those before the cut). */
  body: Buffer;
  /** Set when the response ended before its framing said it was complete. */
  cut: Error | null;
}

export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer; maxHeaderSize?: number } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "GET", headers: options.headers, agent: false, maxHeaderSize: options.maxHeaderSize }, (res) => {
      const chunks: Buffer[] = [];
      let settled = false;
      const settle = (cut: Error | null) => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks), cut });
      };
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("end", () => settle(res.complete ? null : new Error("response incomplete")));
      res.on("aborted", () => settle(new Error("response aborted")));
      res.on("error", (error) => settle(error));
      res.on("close", () => settle(res.complete ? null : new Error("connection closed before the response was complete")));
    });
    req.on("error", reject);
    req.end(options.body);
  });
}
