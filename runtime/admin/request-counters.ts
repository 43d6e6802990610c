// Counts the serving port's responses by status class, for /metrics.
import type { ServerResponse } from "node:http";

const CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

export class RequestCounters {
  private readonly byClass = new Map<string, number>(CLASSES.map((c) => [c, 0]));
  /** Connections that closed before a response head was sent. */
  private unanswered = 0;

  /** Counts this response once it is over. */
  track(res: ServerResponse): void {
    res.once("close", () => this.responded(res));
  }

  /** Counts a response that is over (for servers that already listen for its "close"). */
  responded(res: ServerResponse): void {
    if (!res.headersSent) {
      this.unanswered++;
      return;
    }
    const statusClass = Math.floor(res.statusCode / 100);
    const key = CLASSES[statusClass - 1] ?? `${statusClass}xx`;
    this.byClass.set(key, (this.byClass.get(key) ?? 0) + 1);
  }

  count(statusClass: string): number {
    return this.byClass.get(statusClass) ?? 0;
  }

  prometheus(): string {
    const lines = [
      "# HELP outpost_requests_total Client requests answered on the serving address, by status class.",
      "# TYPE outpost_requests_total counter",
    ];
    for (const [statusClass, n] of this.byClass) lines.push(`outpost_requests_total{class="${statusClass}"} ${n}`);
    lines.push(
      "# HELP outpost_requests_unanswered_total Client connections closed before a response started.",
      "# TYPE outpost_requests_unanswered_total counter",
      `outpost_requests_unanswered_total ${this.unanswered}`,
    );
    return lines.join("\n") + "\n";
  }
}
