// Store data a service's guests read without a round trip to the main
// thread: sent to every worker with the service, and replaced as a whole when
// it changes (runtime/server/guest-runtime.ts `updateService`), so that each
// request reads one consistent version. Stores that guests write (KV) and
// state shared across requests (rate limiting) stay on the main thread.

export interface ServiceData {
  /** Config stores (and dictionaries, the same data): store name -> key -> value. */
  configStores: Record<string, Record<string, string>>;
}

export const EMPTY_SERVICE_DATA: ServiceData = {
  configStores: {},
};
